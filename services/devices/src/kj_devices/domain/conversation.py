"""One 808 terminal's connection, as a state machine over decoded messages: registration
(0x0100 → 0x8100), authentication (0x0102), then heartbeats and locations, each answered with
0x8001. A terminal the registry does not know, or that authenticates with the wrong code, is
refused and the connection closes; nothing but registration and authentication is taken before
authentication. Work orders go out as 0x8300 text; the terminal's 0x0001 to one of them is
reported so the service layer can count it as the crew's acknowledgement.

Pure: the caller passes the registry lookup and the clock and does the I/O."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

from kj_devices.domain.binding import Binding, Protocol
from kj_devices.domain.fixes import Fix, FixRefused, make_fix
from kj_devices.domain.jt808 import bodies as b
from kj_devices.domain.jt808.header import Message, encode
from kj_devices.domain.jt808.quick_report import QuickReports


@dataclass(slots=True)
class Outcome:
    """What one message asks of the connection."""

    replies: list[bytes] = field(default_factory=list)  # frames to write, in order
    fixes: list[Fix] = field(default_factory=list)  # positions to publish, in order
    close: str | None = None  # the reason the connection must end now, after the replies
    refused_fixes: list[str] = field(default_factory=list)  # reasons, one per fix dropped
    acknowledged: UUID | None = None  # a work order whose 0x8300 the terminal confirmed


class Conversation:
    def __init__(
        self, lookup: Callable[[str], Binding | None], utc_offset: timedelta = timedelta(hours=8)
    ) -> None:
        self.lookup = lookup
        self.utc_offset = utc_offset
        self.terminal: str | None = None  # the number the first message named
        self.phone = ""
        self.version: int | None = None
        self.binding: Binding | None = None  # set once authenticated
        self.quick: QuickReports | None = None  # plain reports in one step, once authenticated
        self._serial = 0
        self._texts: dict[int, UUID] = {}  # 0x8300 serial → work order, awaiting 0x0001

    @property
    def unit_id(self) -> str | None:
        return self.binding.unit_id if self.binding else None

    def _next_serial(self) -> int:
        self._serial = (self._serial + 1) & 0xFFFF
        return self._serial

    def _frame(self, msg_id: int, body: bytes) -> bytes:
        return encode(Message(msg_id, self.phone, self._next_serial(), body, self.version))

    def _answer(self, message: Message, result: int) -> bytes:
        return self._frame(
            b.PLATFORM_RESPONSE, b.general_response(message.serial, message.msg_id, result)
        )

    def report(self, escaped: bytes) -> tuple[bytes, Fix] | None:
        """A plain location report (the bytes between two flags) answered and read in one
        step: the 0x8001 and the fix, as `receive` would give them; None when `receive` must
        take the frame (anything else, or anything unusual about it)."""
        quick = self.quick
        if quick is None:
            return None
        serial = (self._serial + 1) & 0xFFFF
        read = quick.read(escaped, serial)
        if read is not None:
            self._serial = serial
        return read

    def receive(self, message: Message) -> Outcome:
        out = Outcome()
        if self.terminal is None:
            self.terminal = message.terminal
        elif message.terminal != self.terminal:
            out.close = "terminal_changed"  # one connection speaks for one terminal
            return out
        self.phone, self.version = message.phone, message.version
        if self.quick is not None and self.quick.version != message.version:
            assert self.binding is not None
            self.quick = QuickReports(self.binding, self.phone, self.version, self.utc_offset)
        kind = message.msg_id
        if kind == b.REGISTER:
            self._register(message, out)
        elif kind == b.AUTHENTICATE:
            self._authenticate(message, out)
        elif self.binding is None:
            out.replies.append(self._answer(message, b.FAILED))
            out.close = "not_authenticated"
        elif kind == b.LOCATION:
            self._locations(message, out, batch=False)
        elif kind == b.LOCATION_BATCH:
            self._locations(message, out, batch=True)
        elif kind == b.HEARTBEAT:
            out.replies.append(self._answer(message, b.OK))
        elif kind == b.TERMINAL_RESPONSE:
            self._terminal_response(message, out)
        elif kind == b.LOGOUT:
            out.replies.append(self._answer(message, b.OK))
            out.close = "logout"
        else:
            out.replies.append(self._answer(message, b.UNSUPPORTED))
        return out

    def _known(self) -> Binding | None:
        binding = self.lookup(self.terminal or "")
        if binding is None or binding.protocol is not Protocol.jt808:
            return None
        return binding

    def _register(self, message: Message, out: Outcome) -> None:
        try:
            b.decode_registration(message.body, message.version)
        except b.BodyError:
            out.replies.append(self._answer(message, b.BAD_MESSAGE))
            out.close = "bad_registration"
            return
        binding = self._known()
        if binding is None:
            body = b.registration_response(message.serial, b.NO_SUCH_TERMINAL, None)
            out.replies.append(self._frame(b.REGISTER_RESPONSE, body))
            out.close = "unknown_terminal"
            return
        body = b.registration_response(message.serial, b.REGISTERED, binding.secret)
        out.replies.append(self._frame(b.REGISTER_RESPONSE, body))

    def _authenticate(self, message: Message, out: Outcome) -> None:
        try:
            code = b.decode_auth_code(message.body, message.version)
        except b.BodyError:
            code = None
        binding = self._known()
        if binding is None:
            out.replies.append(self._answer(message, b.FAILED))
            out.close = "unknown_terminal"
        elif not binding.accepts(code):
            out.replies.append(self._answer(message, b.FAILED))
            out.close = "auth_failed"
        else:
            self.binding = binding
            self.quick = QuickReports(binding, self.phone, self.version, self.utc_offset)
            out.replies.append(self._answer(message, b.OK))

    def _locations(self, message: Message, out: Outcome, *, batch: bool) -> None:
        assert self.binding is not None
        try:
            if batch:
                _, locations = b.decode_batch(message.body, self.utc_offset)
            else:
                locations = [b.decode_location(message.body, self.utc_offset)]
        except b.BodyError:
            out.replies.append(self._answer(message, b.BAD_MESSAGE))
            out.refused_fixes.append("bad_body")
            return
        out.replies.append(self._answer(message, b.OK))
        for location in locations:
            if not location.positioned:
                out.refused_fixes.append("not_positioned")
                continue
            try:
                out.fixes.append(
                    make_fix(
                        self.binding.unit_id,
                        location.at.timestamp(),
                        location.lat,
                        location.lon,
                        datum=self.binding.datum,
                        speed_kmh=location.speed_kmh,
                        heading_deg=location.direction if location.direction < 360 else None,
                    )
                )
            except FixRefused as refused:
                out.refused_fixes.append(refused.reason)

    def _terminal_response(self, message: Message, out: Outcome) -> None:
        try:
            serial, msg_id, result = b.decode_general_response(message.body)
        except b.BodyError:
            return
        if msg_id == b.TEXT:
            work_order = self._texts.pop(serial, None)
            if work_order is not None and result == b.OK:
                out.acknowledged = work_order

    def text(self, text: str, work_order_id: UUID | None = None) -> bytes:
        """A 0x8300 for this terminal (authenticated: its header form is known)."""
        serial = self._next_serial()
        if work_order_id is not None:
            self._texts[serial] = work_order_id
            while len(self._texts) > 32:  # bounded: old unanswered texts are forgotten
                del self._texts[next(iter(self._texts))]
        body = b.text_message(text, self.version)
        return encode(Message(b.TEXT, self.phone, serial, body, self.version))
