"""A thin Cloud API client: POST `{base}/{version}/{phone_number_id}/messages` with a bearer token.

The token lives in a `SecretStr` and only in the Authorization header; nothing here logs headers
or bodies.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx
from pydantic import SecretStr

from schemas.settings import Settings
from sinks.whatsapp.errors import DeliveryUnknown, NotSent, WhatsAppApiError


class WhatsAppClient:
    def __init__(self, base_url: str, api_version: str, phone_number_id: str,
                 access_token: SecretStr, *, timeout_s: float = 10.0) -> None:
        self.messages_url = f"{base_url.rstrip('/')}/{api_version}/{phone_number_id}/messages"
        self._token = access_token
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s, connect=5.0))

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> WhatsAppClient:
        return cls(settings.whatsapp_base_url, settings.whatsapp_api_version,
                   settings.whatsapp_phone_number_id, settings.whatsapp_access_token, **kwargs)

    def __repr__(self) -> str:
        return f"WhatsAppClient({self.messages_url!r})"

    async def close(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> WhatsAppClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def send(self, body: dict[str, Any]) -> str:
        """Send one message; returns its `wamid`.

        Raises `WhatsAppApiError` when the API refused it, `NotSent` when the request never
        left, `DeliveryUnknown` when it may have been received but no answer came.
        """
        headers = {"Authorization": f"Bearer {self._token.get_secret_value()}"}
        try:
            response = await self._http.post(self.messages_url, json=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise NotSent(f"{type(exc).__name__}: could not reach the WhatsApp API") from None
        except httpx.TransportError as exc:
            raise DeliveryUnknown(f"{type(exc).__name__} after the request was sent") from None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code >= 400:
            raise WhatsAppApiError.from_response(response.status_code, payload,
                                                 response.headers.get("Retry-After"))
        try:
            return str(payload["messages"][0]["id"])
        except (TypeError, KeyError, IndexError):
            raise DeliveryUnknown("accepted (HTTP 2xx) without a message id") from None
