"""ERP write-back: the command sink."""

from sinks.erp.sink import ErpSink, ErpUnavailable

__all__ = ["ErpSink", "ErpUnavailable"]
