"""ERP write-back: the command sink, its outcome routing and the message ledger."""

from sinks.erp.backoff import Backoff
from sinks.erp.outcome import ConsumedRecord, Outgoing, decode_command, route_result
from sinks.erp.sink import ErpSink, ErpUnavailable

__all__ = ["Backoff", "ConsumedRecord", "ErpSink", "ErpUnavailable", "Outgoing",
           "decode_command", "route_result"]
