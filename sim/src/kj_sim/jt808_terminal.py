"""A scripted JT/T 808 vehicle terminal over TCP, with the gateway's own codec: registers,
authenticates, reports, answers the platform's texts. The simulator drives part of its fleet
with it; the integration tests and the benchmark use it as a terminal would."""

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

from kj_devices.domain.jt808 import bodies as b
from kj_devices.domain.jt808.framing import FrameSplitter
from kj_devices.domain.jt808.header import Message, decode, encode

REGISTRATION = b.Registration(43, 500, "KJSIM", "KJ-T808", "0000001", 2, "湘E00000")


class Refused(Exception):
    pass


class Jt808Terminal:
    def __init__(
        self, number: str, *, version: int | None = None, utc_offset: timedelta = timedelta(hours=8)
    ) -> None:
        self.number = number
        self.version = version
        self.utc_offset = utc_offset
        self.serial = 0
        self.inbox: asyncio.Queue[Message] = asyncio.Queue()
        self.texts: asyncio.Queue[tuple[Message, str]] = asyncio.Queue()
        self.closed = asyncio.Event()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self.auto_acknowledge = False  # answer each text with 0x0001 at once
        self.keep_answers = True  # False once signed in: a long drive keeps no answers

    async def connect(self, host: str, port: int) -> None:
        self._reader, self._writer = await asyncio.open_connection(host, port)
        self._task = asyncio.create_task(self._read(), name=f"808-{self.number}")

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _read(self) -> None:
        assert self._reader is not None
        splitter = FrameSplitter()
        try:
            while data := await self._reader.read(4096):
                for frame in splitter.feed(data):
                    message = decode(frame)
                    if message.msg_id == b.TEXT:
                        _, text = b.decode_text_message(message.body, message.version)
                        await self.texts.put((message, text))
                        if self.auto_acknowledge:
                            await self.acknowledge(message)
                    elif self.keep_answers or message.msg_id == b.REGISTER_RESPONSE:
                        await self.inbox.put(message)
        except (ConnectionError, OSError):
            pass
        finally:
            self.closed.set()

    async def send(self, msg_id: int, body: bytes = b"") -> int:
        assert self._writer is not None
        self.serial = (self.serial + 1) & 0xFFFF
        self._writer.write(encode(Message(msg_id, self.number, self.serial, body, self.version)))
        await self._writer.drain()
        return self.serial

    def write_raw(self, data: bytes) -> None:
        assert self._writer is not None
        self._writer.write(data)

    async def expect(self, msg_id: int, timeout_s: float = 10) -> Message:
        async with asyncio.timeout(timeout_s):
            while True:
                message = await self.inbox.get()
                if message.msg_id == msg_id:
                    return message

    async def register(self) -> str:
        """The authentication code the platform issued; Refused when it does not know us."""
        await self.send(b.REGISTER, b.encode_registration(REGISTRATION, self.version))
        answer = await self.expect(b.REGISTER_RESPONSE)
        _, result, code = b.decode_registration_response(answer.body)
        if result != b.REGISTERED or code is None:
            raise Refused(f"registration refused with result {result}")
        return code

    async def authenticate(self, code: str) -> None:
        serial = await self.send(b.AUTHENTICATE, b.encode_auth(code, self.version))
        answer = await self.expect(b.PLATFORM_RESPONSE)
        answered, _, result = b.decode_general_response(answer.body)
        if answered != serial or result != b.OK:
            raise Refused(f"authentication refused with result {result}")

    async def sign_in(self, host: str, port: int) -> None:
        keep, self.keep_answers = self.keep_answers, True
        await self.connect(host, port)
        await self.authenticate(await self.register())
        self.keep_answers = keep

    def location(
        self,
        lat: float,
        lon: float,
        *,
        at: datetime | None = None,
        speed_kmh: float = 0.0,
        heading: int = 0,
        positioned: bool = True,
    ) -> bytes:
        status = b.STATUS_ACC | (b.STATUS_POSITIONED if positioned else 0)
        return b.encode_location(
            b.Location(
                0,
                status,
                round(lat, 6),
                round(lon, 6),
                0,
                round(speed_kmh, 1),
                int(heading) % 360,
                (at or datetime.now(UTC)).replace(microsecond=0),
            ),
            self.utc_offset,
        )

    async def report(self, lat: float, lon: float, **kw: object) -> int:
        return await self.send(b.LOCATION, self.location(lat, lon, **kw))  # type: ignore[arg-type]

    async def report_batch(self, items: list[bytes], *, backfill: bool = True) -> int:
        return await self.send(b.LOCATION_BATCH, b.encode_batch(items, kind=int(backfill)))

    async def acknowledge(self, text: Message) -> None:
        await self.send(b.TERMINAL_RESPONSE, b.general_response(text.serial, b.TEXT, b.OK))
