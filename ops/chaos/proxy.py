"""A TCP forwarder that can be unplugged: the ERP sink's database made unreachable on demand.

The sink workers reach PostgreSQL through it (their `ERP_SINK_DATABASE_URL`); CDC and the ERP's
own clients do not, so only the sinks lose the database. Unplugged, it drops every open
connection and answers new ones by closing them at once, as a dead route or a firewall would.
"""

from __future__ import annotations

import asyncio
import contextlib


class Unpluggable:
    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.host, self.target_port = host, target_port
        self.port = 0
        self.plugged = True
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self.unplug()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def unplug(self) -> None:
        self.plugged = False
        for writer in list(self._open):
            writer.transport.abort()
        self._open.clear()

    def plug(self) -> None:
        self.plugged = True

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.plugged:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._open.update((writer, up_writer))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        self._open.difference_update((writer, up_writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.transport.abort()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
