"""A TCP forwarder in front of PostgreSQL that a test can close and open again: closing it cuts
every connection through it and refuses new ones, as a database restart does to its clients,
without touching the PostgreSQL server other test sessions share."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

from kj_runtime.settings import PostgresSettings
from kj_sim.services import free_port


class TcpGate:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._forward, "127.0.0.1", self.port, reuse_address=True
            )

    async def close(self) -> None:
        """Refuse new connections and cut the ones open, at once."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            transport = writer.transport
            transport.abort()  # type: ignore[attr-defined]
        self._writers.clear()

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()  # type: ignore[attr-defined]
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()  # type: ignore[attr-defined]

        try:
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        finally:
            self._writers -= {writer, up_writer}

    def settings(self, postgres: PostgresSettings) -> PostgresSettings:
        """`postgres` reached through the gate."""
        return postgres.model_copy(update={"host": "127.0.0.1", "port": self.port})


@contextlib.asynccontextmanager
async def gate_to(postgres: PostgresSettings) -> AsyncIterator[TcpGate]:
    gate = TcpGate(postgres.host, postgres.port)
    await gate.open()
    try:
        yield gate
    finally:
        await gate.close()
