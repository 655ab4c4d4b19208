"""The WhatsApp double's log page (`/_double/`): the accepted messages, newest first."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Protocol


class _Logged(Protocol):
    wamid: str
    to: str
    type: str
    at: str
    statuses: list[str]

    def summary(self) -> str: ...


def render_page(log: Sequence[_Logged], requests: int, pending: int) -> str:
    rows = "\n".join(
        f"<tr><td>{html.escape(m.at[11:19])}</td><td>{html.escape(m.to)}</td>"
        f"<td class='{m.type}'>{m.type}</td><td>{html.escape(m.summary())}</td>"
        f"<td>{html.escape(' → '.join(m.statuses))}</td>"
        f"<td><code>{html.escape(m.wamid[:22])}…</code></td></tr>"
        for m in reversed(log))
    return PAGE.format(count=len(log), requests=requests, pending=pending,
                       rows=rows or "<tr><td colspan=6>no messages yet</td></tr>")


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>WhatsApp double · TopLlantas</title>
<style>
 body {{ font-family: system-ui, sans-serif; margin: 2rem; background: #f0f2f5; color: #111; }}
 h1 {{ color: #075e54; margin-bottom: .2rem; }}
 table {{ border-collapse: collapse; width: 100%; background: #fff; }}
 th, td {{ padding: .45rem .7rem; border-bottom: 1px solid #e4e6eb; text-align: left; }}
 th {{ background: #128c7e; color: #fff; }}
 td.template {{ color: #8e44ad; }} td.interactive {{ color: #d35400; }}
 td.text {{ color: #075e54; }}
 .meta {{ color: #555; margin-bottom: 1rem; }}
</style></head><body>
<h1>WhatsApp Cloud API double</h1>
<div class="meta">{count} messages accepted · {requests} requests ·
 {pending} failures pending</div>
<table><tr><th>time</th><th>to</th><th>type</th><th>content</th><th>statuses</th><th>id</th></tr>
{rows}
</table></body></html>"""
