"""Protocol client over any pyserial URL: a board's ``/dev/ttyACM0``, QEMU's
``socket://127.0.0.1:PORT``, or ``rfc2217://host:port``.

Requests carry a sequence number; the reply with the same number is the
answer.  Frames the device sends on its own (BOOT, FAULT, stream events,
ERRORs not tied to a request) are kept in ``unsolicited`` in arrival order.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Sequence

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


# Requests in flight at once on the chunked tensor path: three frames of at
# most 1,037 encoded bytes fit the device's 4 KiB receive ring with room to
# spare (the stream's flow control uses the same bound, docs/protocol.md).
WINDOW = 3


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

    # -- the engine (docs/protocol.md, "Running the model") ------------------
    def model_info(self) -> dict[str, str]:
        return self.request(Msg.MODEL_INFO).kv()

    def pipeline(self, requests: Sequence[tuple[int, bytes]], window: int = WINDOW,
                 timeout: float | None = None) -> list[Frame]:
        """Send requests with at most ``window`` unanswered; their replies in
        order. An ERROR reply raises DeviceError once every reply is in."""
        pending: collections.deque[tuple[int, int]] = collections.deque()
        replies: list[Frame] = []

        def settle() -> None:
            msg_type, seq = pending.popleft()
            frame = self.reply_to(seq, timeout)
            if not frame.is_error and frame.type != (msg_type | protocol.REPLY):
                raise TinyEcgError(f"reply of type 0x{frame.type:02x} to request 0x{msg_type:02x}")
            replies.append(frame)

        for msg_type, body in requests:
            if len(pending) >= window:
                settle()
            pending.append((msg_type, self.send(msg_type, body)))
        while pending:
            settle()
        for frame in replies:
            if frame.is_error:
                raise DeviceError(frame)
        return replies

    def write_tensor(self, index: int, data: bytes, timeout: float | None = None) -> None:
        """TENSOR_WRITE all of input ``index``, chunk by chunk in order."""
        data = bytes(data)
        spans = protocol.chunk_spans(len(data))
        replies = self.pipeline([(Msg.TENSOR_WRITE, protocol.tensor_write_body(index, len(data), off, data[off:off + n]))
                                 for off, n in spans], timeout=timeout)
        for (off, n), frame in zip(spans, replies):
            if frame.body != (off + n).to_bytes(4, "little"):
                raise TinyEcgError(f"TENSOR_WRITE of input {index} bytes {off}+{n}: device reports "
                                   f"{frame.body.hex()} written, expected {off + n}")

    def invoke(self, timeout: float | None = None) -> int:
        """INVOKE the model on the written inputs; the counter units it took."""
        body = self.request(Msg.INVOKE, timeout=timeout).body
        if len(body) != 4:
            raise TinyEcgError(f"INVOKE reply has {len(body)} bytes, expected 4")
        return int.from_bytes(body, "little")

    def read_tensor(self, index: int, total: int, timeout: float | None = None) -> bytes:
        """TENSOR_READ all ``total`` bytes of output ``index`` of the last invoke."""
        spans = protocol.chunk_spans(total)
        replies = self.pipeline([(Msg.TENSOR_READ, protocol.tensor_read_body(index, total, off, n))
                                 for off, n in spans], timeout=timeout)
        out = bytearray()
        for (off, n), frame in zip(spans, replies):
            chunk = protocol.parse_chunk(frame.body)
            if (chunk.index, chunk.total, chunk.offset, len(chunk.data)) != (index, total, off, n):
                raise TinyEcgError(f"TENSOR_READ of output {index} bytes {off}+{n}: the reply carries "
                                   f"output {chunk.index} bytes {chunk.offset}+{len(chunk.data)} of {chunk.total}")
            out += chunk.data
        return bytes(out)

    def run_model(self, inputs: Sequence[bytes], output_sizes: Sequence[int],
                  timeout: float | None = None) -> tuple[list[bytes], int]:
        """One inference on the chunked path: write every input, INVOKE, read
        every output. Returns (outputs, counter units of the invoke)."""
        for k, data in enumerate(inputs):
            self.write_tensor(k, data, timeout)
        units = self.invoke(timeout)
        return [self.read_tensor(k, n, timeout) for k, n in enumerate(output_sizes)], units
