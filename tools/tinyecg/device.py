"""Protocol client over any pyserial URL: a board's ``/dev/ttyACM0``, QEMU's
``socket://127.0.0.1:PORT``, or ``rfc2217://host:port``.

Requests carry a sequence number; the reply with the same number is the
answer.  Frames the device sends on its own (BOOT, FAULT, stream events,
ERRORs not tied to a request) are kept in ``unsolicited`` in arrival order.
"""

from __future__ import annotations

import collections
import time

import serial

from . import protocol
from .errors import TinyEcgError
from .protocol import Frame, FrameError, Msg


class DeviceError(TinyEcgError):
    """The device answered with an ERROR frame."""

    def __init__(self, frame: Frame, request_type: int | None = None):
        code, ref_type, text = frame.error()
        name = code.name if isinstance(code, protocol.ErrorCode) else str(code)
        super().__init__(f"device error {name} for message type 0x{ref_type:02x}: {text}")
        self.code, self.ref_type, self.text, self.frame = code, ref_type, text, frame


class DeviceTimeout(TinyEcgError):
    """No (complete) answer in time."""


class Device:
    """A connected tinyecg device.

    >>> with Device("socket://127.0.0.1:4444") as dev:
    ...     dev.info()["board"]
    """

    def __init__(self, url: str, baud: int = 115200, timeout: float = 10.0):
        self.url, self.timeout = url, timeout
        try:
            self.port = serial.serial_for_url(url, baudrate=baud, timeout=0.02, write_timeout=timeout)
        except (serial.SerialException, ValueError, OSError) as exc:
            raise TinyEcgError(f"cannot open serial port {url}: {exc}") from None
        self._reader = protocol.FrameReader()
        self._pending: collections.deque[Frame | FrameError] = collections.deque()
        self.unsolicited: collections.deque[Frame] = collections.deque()
        self.framing_errors: list[FrameError] = []
        self._seq = 0

    # -- context manager ----------------------------------------------------
    def __enter__(self) -> "Device":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.port.close()
        except Exception:  # closing a dead socket must not mask the real error
            pass

    # -- raw I/O --------------------------------------------------------------
    def write(self, data: bytes) -> None:
        """Send raw bytes (frames or, in tests, deliberate garbage)."""
        try:
            self.port.write(data)
            self.port.flush()
        except (serial.SerialException, OSError) as exc:
            raise TinyEcgError(f"write to {self.url} failed: {exc}") from None

    def next_seq(self) -> int:
        self._seq = (self._seq + 1) % protocol.SEQ_NONE  # 0xFFFF is reserved
        return self._seq

    def send(self, msg_type: int, body: bytes = b"", seq: int | None = None) -> int:
        seq = self.next_seq() if seq is None else seq
        self.write(protocol.encode(msg_type, seq, body))
        return seq

    def _fill(self, deadline: float) -> bool:
        """Read what has arrived; False once the deadline passed with nothing new."""
        while not self._pending:
            try:
                data = self.port.read(max(1, self.port.in_waiting or 1))
            except (serial.SerialException, OSError) as exc:
                raise TinyEcgError(f"read from {self.url} failed: {exc}") from None
            if data:
                self._pending.extend(self._reader.feed(data))
            elif time.monotonic() > deadline:
                return False
        return True

    def recv(self, timeout: float | None = None) -> Frame:
        """Next well-formed frame from the device (framing errors are recorded, skipped)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            if not self._fill(deadline):
                raise DeviceTimeout(f"no frame from {self.url} within {timeout or self.timeout:.1f} s")
            item = self._pending.popleft()
            if isinstance(item, FrameError):
                self.framing_errors.append(item)
                continue
            return item

    def reply_to(self, seq: int, timeout: float | None = None) -> Frame:
        """The frame answering request ``seq``; others go to ``unsolicited``."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceTimeout(f"no reply to request seq {seq} from {self.url}")
            frame = self.recv(remaining)
            if frame.seq == seq and frame.type != Msg.BOOT:
                return frame
            self.unsolicited.append(frame)

    def request(self, msg_type: int, body: bytes = b"", timeout: float | None = None,
                allow_error: bool = False) -> Frame:
        """Send a request and return its reply; an ERROR reply raises DeviceError."""
        seq = self.send(msg_type, body)
        frame = self.reply_to(seq, timeout)
        if frame.is_error and not allow_error:
            raise DeviceError(frame)
        if not frame.is_error and frame.type != (msg_type | protocol.REPLY):
            raise TinyEcgError(f"reply of type 0x{frame.type:02x} to request 0x{msg_type:02x}")
        return frame

    # -- commands -------------------------------------------------------------
    def ping(self, payload: bytes = b"", timeout: float | None = None) -> bytes:
        frame = self.request(Msg.PING, payload, timeout)
        if frame.body != payload:
            raise TinyEcgError("PING reply does not echo the payload")
        return frame.body

    def info(self) -> dict[str, str]:
        return self.request(Msg.INFO).kv()

    def wait_for(self, msg_type: int, timeout: float | None = None) -> Frame:
        """Wait for a frame of the given type, looking at unsolicited ones first."""
        for frame in list(self.unsolicited):
            if frame.type == msg_type:
                self.unsolicited.remove(frame)
                return frame
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DeviceTimeout(f"no frame of type 0x{msg_type:02x} from {self.url}")
            frame = self.recv(remaining)
            if frame.type == msg_type:
                return frame
            self.unsolicited.append(frame)

    def sync(self, attempts: int = 20, timeout: float = 0.5) -> None:
        """Make sure the device listens: flush any partial frame, then PING until it answers."""
        self.write(b"\x00")
        for _ in range(attempts):
            try:
                self.ping(b"sync", timeout=timeout)
                return
            except DeviceTimeout:
                continue
        raise DeviceTimeout(f"device on {self.url} does not answer PING")
