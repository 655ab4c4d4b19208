"""WhatsApp Cloud API webhook ingress (aiohttp) onto `whatsapp.inbound` and `whatsapp.status`."""

from sources.whatsapp_webhook.app import (
    WEBHOOK_PATH,
    build_webhook_app,
    run_webhook,
    webhook_producer,
)
from sources.whatsapp_webhook.signature import HEADER, sign, signature_valid

__all__ = ["HEADER", "WEBHOOK_PATH", "build_webhook_app", "run_webhook", "sign",
           "signature_valid", "webhook_producer"]
