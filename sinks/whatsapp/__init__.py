"""WhatsApp Cloud API sink: request bodies, client, 24-hour window and the sender."""

from sinks.whatsapp.client import WhatsAppClient
from sinks.whatsapp.sender import WhatsAppSender
from sinks.whatsapp.window import CustomerWindow, MappingCustomerWindow, window_open

__all__ = ["CustomerWindow", "MappingCustomerWindow", "WhatsAppClient", "WhatsAppSender",
           "window_open"]
