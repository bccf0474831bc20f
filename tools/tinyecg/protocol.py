"""tinyecg serial protocol v1, host side: framing, CRC, message constants.

Mirrors ``firmware/src/protocol.h``; specified in ``docs/protocol.md``.

Wire format: ``COBS(frame) + b"\\x00"`` where ``frame`` is
``version u8 | type u8 | seq u16le | len u16le | body | crc16le`` and the CRC
is CRC-16/CCITT-FALSE over every byte before it.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

VERSION = 1
MAX_BODY = 1024
HEADER = struct.Struct("<BBHH")
HEADER_BYTES = HEADER.size
CRC_BYTES = 2
MAX_FRAME = HEADER_BYTES + MAX_BODY + CRC_BYTES
MAX_ENCODED = MAX_FRAME + MAX_FRAME // 254 + 1
SEQ_NONE = 0xFFFF
REPLY = 0x80
# Tensor chunk: TENSOR_WRITE body and TENSOR_READ reply (+ data), TENSOR_READ request (+ length).
CHUNK_HEADER = struct.Struct("<BII")  # index, total, offset
READ_REQUEST = struct.Struct("<BIIH")  # index, total, offset, length
MAX_CHUNK = MAX_BODY - CHUNK_HEADER.size


class Msg(enum.IntEnum):
    PING = 0x01
    INFO = 0x02
    MODEL_INFO = 0x03
    INFER = 0x04
    TENSOR_WRITE = 0x05
    INVOKE = 0x06
    TENSOR_READ = 0x07
    TEST_FAULT = 0x0F
    BOOT = 0x7D
    FAULT = 0x7E
    ERROR = 0x7F


class ErrorCode(enum.IntEnum):
    BAD_CRC = 1
    OVERSIZE = 2
    TRUNCATED = 3
    UNKNOWN_TYPE = 4
    BAD_VERSION = 5
    BAD_LENGTH = 6
    BAD_FRAMING = 7
    RX_OVERRUN = 8
    BAD_REQUEST = 9
    NO_MODEL = 10


class FrameError(ValueError):
    """A received frame is malformed; ``code`` says how (an ErrorCode)."""

    def __init__(self, code: ErrorCode, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    body: bytes = b""
    version: int = VERSION

    @property
    def is_error(self) -> bool:
        return self.type == Msg.ERROR

    def error(self) -> tuple[ErrorCode | int, int, str]:
        """(code, offending type, text) of an ERROR frame."""
        if len(self.body) < 2:
            return 0, 0, "ERROR frame without code"
        code = self.body[0]
        try:
            code = ErrorCode(code)
        except ValueError:
            pass
        return code, self.body[1], self.body[2:].decode("utf-8", "replace")

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def kv(self) -> dict[str, str]:
        """Parse a ``key=value`` per line body (INFO, BOOT, FAULT)."""
        out = {}
        for line in self.text().splitlines():
            if "=" in line:
                k, v = line.split("=", 1)
                out[k] = v
        return out


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF); crc16(b"123456789") == 0x29B1."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def cobs_encode(data: bytes) -> bytes:
    out = bytearray([0])
    code_at, code = 0, 1
    for byte in data:
        if byte == 0:
            out[code_at] = code
            code_at, code = len(out), 1
            out.append(0)
        else:
            out.append(byte)
            code += 1
            if code == 0xFF:
                out[code_at] = code
                code_at, code = len(out), 1
                out.append(0)
    out[code_at] = code
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        code = data[i]
        i += 1
        if code == 0:
            raise FrameError(ErrorCode.BAD_FRAMING, "zero byte inside COBS block")
        block = data[i:i + code - 1]
        if len(block) != code - 1 or 0 in block:
            raise FrameError(ErrorCode.BAD_FRAMING, "COBS block runs past the frame end")
        out += block
        i += code - 1
        if code != 0xFF and i < len(data):
            out.append(0)
    return bytes(out)


def pack_frame(msg_type: int, seq: int, body: bytes = b"", version: int = VERSION) -> bytes:
    """The raw (unencoded) frame: header, body, CRC. No length check, so tests can build bad ones."""
    raw = HEADER.pack(version, msg_type & 0xFF, seq & 0xFFFF, len(body) & 0xFFFF) + bytes(body)
    return raw + struct.pack("<H", crc16(raw))


def encode(msg_type: int, seq: int, body: bytes = b"") -> bytes:
    """A complete wire frame: COBS-encoded, 0x00-terminated."""
    if len(body) > MAX_BODY:
        raise ValueError(f"body of {len(body)} bytes exceeds the protocol maximum of {MAX_BODY}")
    return cobs_encode(pack_frame(msg_type, seq, body)) + b"\x00"


def decode(encoded: bytes) -> Frame:
    """Decode one frame (without its 0x00 delimiter); FrameError says what is wrong.

    The checks run in the device's order, so host and device name a defect alike.
    """
    if len(encoded) > MAX_ENCODED:
        raise FrameError(ErrorCode.OVERSIZE, f"frame of {len(encoded)} encoded bytes exceeds {MAX_ENCODED}")
    raw = cobs_decode(encoded)
    if len(raw) < HEADER_BYTES + CRC_BYTES:
        raise FrameError(ErrorCode.TRUNCATED, f"frame of {len(raw)} bytes is shorter than a header")
    version, msg_type, seq, length = HEADER.unpack_from(raw)
    if length > MAX_BODY:
        raise FrameError(ErrorCode.OVERSIZE, f"length field {length} exceeds {MAX_BODY}")
    want = HEADER_BYTES + length + CRC_BYTES
    if len(raw) < want:
        raise FrameError(ErrorCode.TRUNCATED, f"frame has {len(raw)} bytes, header says {want}")
    if len(raw) > want:
        raise FrameError(ErrorCode.BAD_LENGTH, f"frame has {len(raw)} bytes, header says {want}")
    (crc,) = struct.unpack_from("<H", raw, want - CRC_BYTES)
    if crc16(raw[:want - CRC_BYTES]) != crc:
        raise FrameError(ErrorCode.BAD_CRC, "CRC mismatch")
    if version != VERSION:
        raise FrameError(ErrorCode.BAD_VERSION, f"protocol version {version}, expected {VERSION}")
    return Frame(msg_type, seq, raw[HEADER_BYTES:HEADER_BYTES + length], version)


class FrameReader:
    """Split a byte stream into frames at 0x00 delimiters; resynchronises after garbage."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        out: list[Frame | FrameError] = []
        self._buf += data
        while True:
            try:
                end = self._buf.index(0)
            except ValueError:
                break
            chunk = bytes(self._buf[:end])
            del self._buf[:end + 1]
            if not chunk:
                continue
            try:
                out.append(decode(chunk))
            except FrameError as exc:
                out.append(exc)
        if len(self._buf) > 4 * MAX_ENCODED:  # no delimiter for far too long: drop
            self._buf.clear()
            out.append(FrameError(ErrorCode.OVERSIZE, "no frame delimiter in received data"))
        return out


# --- tensor chunks (docs/protocol.md, "Running the model") --------------------


@dataclass(frozen=True)
class Chunk:
    """Bytes [offset, offset + len(data)) of tensor ``index`` (``total`` bytes long)."""

    index: int
    total: int
    offset: int
    data: bytes = b""


def chunk_spans(total: int, size: int = MAX_CHUNK) -> list[tuple[int, int]]:
    """(offset, length) of the chunks that carry a tensor of ``total`` bytes, in order."""
    if total <= 0 or size <= 0:
        raise ValueError(f"cannot split {total} bytes into chunks of {size}")
    return [(off, min(size, total - off)) for off in range(0, total, size)]


def tensor_write_body(index: int, total: int, offset: int, data: bytes) -> bytes:
    """TENSOR_WRITE body: ``index u8 | total u32 | offset u32 | data``."""
    return CHUNK_HEADER.pack(index, total, offset) + bytes(data)


def tensor_read_body(index: int, total: int, offset: int, length: int) -> bytes:
    """TENSOR_READ body: ``index u8 | total u32 | offset u32 | length u16``."""
    return READ_REQUEST.pack(index, total, offset, length)


def parse_chunk(body: bytes) -> Chunk:
    """A TENSOR_READ reply (or TENSOR_WRITE body) as a Chunk."""
    if len(body) < CHUNK_HEADER.size:
        raise FrameError(ErrorCode.BAD_LENGTH, f"chunk of {len(body)} bytes is shorter than its header")
    index, total, offset = CHUNK_HEADER.unpack_from(body)
    return Chunk(index, total, offset, bytes(body[CHUNK_HEADER.size:]))
