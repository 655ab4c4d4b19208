"""What the Cloud API checks in a send request's body, as the WhatsApp double applies it.

Text (1..4096 characters), template (name and language), interactive reply buttons (1..3, titles
≤ 20) and interactive lists (a button ≤ 20 opening 1..10 sections, at most 10 rows in all, row
titles ≤ 24, descriptions ≤ 72, ids unique), and an optional reply context.
"""

from __future__ import annotations

import re
from typing import Any

PHONE = re.compile(r"^\+?\d{8,15}$")
LIST_ROWS_MAX = 10


class InvalidBody(ValueError):
    """The body breaks one of the Cloud API's rules (Meta answers 400, code 100)."""


def check_body(body: Any) -> tuple[str, str]:
    """(recipient, message type) of a valid body; `InvalidBody` says what is wrong."""
    if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp":
        raise InvalidBody("messaging_product must be 'whatsapp'")
    to = body.get("to")
    if not isinstance(to, str) or not PHONE.match(to):
        raise InvalidBody("'to' must be a phone number")
    kind = body.get("type")
    if kind == "text":
        text = (body.get("text") or {}).get("body")
        if not isinstance(text, str) or not 1 <= len(text) <= 4096:
            raise InvalidBody("text.body must have 1..4096 characters")
    elif kind == "template":
        template = body.get("template") or {}
        if not template.get("name") or not (template.get("language") or {}).get("code"):
            raise InvalidBody("template needs name and language.code")
    elif kind == "interactive":
        _check_interactive(body.get("interactive"))
    else:
        raise InvalidBody(f"unsupported message type {kind!r}")
    context = body.get("context")
    if context is not None and not (isinstance(context, dict) and isinstance(
            context.get("message_id"), str) and context["message_id"]):
        raise InvalidBody("context.message_id must be a message id")
    return to, kind


def _check_interactive(interactive: Any) -> None:
    if not isinstance(interactive, dict) or interactive.get("type") not in ("button", "list"):
        raise InvalidBody("interactive.type must be 'button' or 'list'")
    text = (interactive.get("body") or {}).get("text")
    if not isinstance(text, str) or not 1 <= len(text) <= 1024:
        raise InvalidBody("interactive.body.text must have 1..1024 characters")
    if interactive["type"] == "list":
        _check_list(interactive.get("action") or {})
        return
    buttons = (interactive.get("action") or {}).get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise InvalidBody("interactive buttons must be 1..3")
    ids: set[str] = set()
    for button in buttons:
        reply = button.get("reply") if isinstance(button, dict) else None
        if (not isinstance(reply, dict) or button.get("type") != "reply"
                or not reply.get("id") or not reply.get("title")):
            raise InvalidBody("each button needs type 'reply' with reply.id and reply.title")
        if len(reply["title"]) > 20:
            raise InvalidBody(f"button title {reply['title']!r} longer than 20 characters")
        ids.add(reply["id"])
    if len(ids) != len(buttons):
        raise InvalidBody("button ids must be unique")


def _check_list(action: dict[str, Any]) -> None:
    """A list message: a button (≤ 20 chars) opening 1..10 sections of at most 10 rows in all;
    rows have a unique id (≤ 200), a title (≤ 24) and an optional description (≤ 72)."""
    button = action.get("button")
    if not isinstance(button, str) or not 1 <= len(button) <= 20:
        raise InvalidBody("list action.button must have 1..20 characters")
    sections = action.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= 10:
        raise InvalidBody("list sections must be 1..10")
    rows = [row for sec in sections if isinstance(sec, dict)
            for row in (sec.get("rows") if isinstance(sec.get("rows"), list) else [])]
    if not all(isinstance(sec, dict) and sec.get("rows") for sec in sections):
        raise InvalidBody("each list section needs at least one row")
    if len(sections) > 1 and not all(1 <= len(sec.get("title") or "") <= 24 for sec in sections):
        raise InvalidBody("with several sections each needs a title of 1..24 characters")
    if len(rows) > LIST_ROWS_MAX:
        raise InvalidBody(f"a list has at most {LIST_ROWS_MAX} rows, got {len(rows)}")
    ids = [row.get("id") if isinstance(row, dict) else None for row in rows]
    for row, row_id in zip(rows, ids, strict=True):
        if not isinstance(row_id, str) or not 1 <= len(row_id) <= 200:
            raise InvalidBody("each list row needs an id of 1..200 characters")
        if not 1 <= len(row.get("title") or "") <= 24:
            raise InvalidBody(f"list row title {row.get('title')!r} must have 1..24 characters")
        if len(row.get("description") or "") > 72:
            raise InvalidBody("list row description longer than 72 characters")
    if len(set(ids)) != len(ids):
        raise InvalidBody("list row ids must be unique")
