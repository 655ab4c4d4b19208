"""Parts of an outbound message beyond text and reply buttons: a WhatsApp interactive list and
an e-mail attachment (fields of `schemas.commands.OutboundMessage`)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ListRow(BaseModel):
    """One row of a WhatsApp list: tapping it answers with `id` (a `list_reply`)."""

    id: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=24)
    description: str | None = Field(None, max_length=72)


class ListSection(BaseModel):
    title: str = Field(min_length=1, max_length=24)
    rows: list[ListRow] = Field(min_length=1)


class InteractiveList(BaseModel):
    """A WhatsApp interactive list: the message's `text` is its body, `button` opens it; at most
    10 rows in all (checked by the sink's payload builder)."""

    button: str = Field(min_length=1, max_length=20)
    sections: list[ListSection] = Field(min_length=1, max_length=10)


class Attachment(BaseModel):
    """An e-mail attachment; `content_b64` is the file's bytes in base64."""

    filename: str = Field(min_length=1, max_length=200)
    mime_type: str = "application/octet-stream"
    content_b64: str
