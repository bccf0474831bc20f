#!/usr/bin/env python3
"""(Re)write the seed inputs of the libFuzzer targets: tests/fuzz/corpus/<target>/seed-*.

Seeds are small, well-formed inputs of each target's input format (see the
comment at the top of each tests/fuzz/fuzz_<target>.c) that reach the deep
paths at once: every command type with a valid body, a stream long enough
for the detector to learn and beats to be classified, chunks at a gap or a
duplicate position.  Inputs that once found a bug are kept beside them as
regress-* and are never rewritten here.

    .venv/bin/python tests/fuzz/make_seeds.py
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tools"))

from tinyecg import protocol  # noqa: E402
from tinyecg.protocol import Msg  # noqa: E402

START, DATA, STOP, STATUS, DATA8 = 0x10, 0x11, 0x12, 0x13, 0x14
TENSOR_WRITE, INVOKE, TENSOR_READ = 0x05, 0x06, 0x07
INPUT_BYTES = 136


def frame_seeds() -> dict[str, bytes]:
    enc = protocol.encode
    return {
        "ping": enc(Msg.PING, 1, b"hello"),
        "info": enc(Msg.INFO, 2),
        "max_body": enc(Msg.PING, 3, bytes(range(256)) * 4),
        "zeros_body": enc(Msg.PING, 4, bytes(300)),
        "stream": enc(START, 5, b"\x01") + enc(DATA8, 6, struct.pack("<IH", 0, 3) + b"\x05\xfb\x00") + enc(STOP, 7),
        "garbage_then_frame": b"\x13\x37\xff\x00" + enc(Msg.PING, 8, b"x"),
        "bad_crc": protocol.cobs_encode(protocol.pack_frame(Msg.PING, 9, b"ab")[:-1] + b"\x00") + b"\x00",
        "version": protocol.cobs_encode(protocol.pack_frame(Msg.PING, 10, b"v", version=2)) + b"\x00",
    }


def request(t: int, seq: int, body: bytes = b"") -> bytes:
    """One request of the commands target: type:u8 seq:u16 len:u16 body."""
    return struct.pack("<BHH", t, seq, len(body)) + body


def chunk(index: int, total: int, offset: int, data: bytes = b"") -> bytes:
    """TENSOR_WRITE body, or (without data) the header of a TENSOR_READ."""
    return struct.pack("<BII", index, total, offset) + data


def command_seeds() -> dict[str, bytes]:
    samples = struct.pack("<I", 0) + struct.pack("<8h", 1000, 1010, 1040, 1100, 900, 980, 1000, 1002)
    return {
        "ping": request(Msg.PING, 1, b"hello"),
        "info": request(Msg.INFO, 2),
        "model_info": request(Msg.MODEL_INFO, 3),
        "infer": request(Msg.INFER, 4, bytes((i * 37) & 0xFF for i in range(INPUT_BYTES))),
        "stream": (request(START, 5, b"\x01") + request(DATA, 6, samples)
                   + request(DATA8, 7, struct.pack("<IH", 8, 4) + b"\x01\x02\x80\x00\x10")
                   + request(STATUS, 8) + request(STOP, 9)),
        "unknown": request(0x0F, 10) + request(0x6B, 11, b"?") + request(0x90, 12),
        "engine": (request(TENSOR_WRITE, 13, chunk(0, 128, 0, bytes(range(100))))
                   + request(TENSOR_WRITE, 14, chunk(0, 128, 50, bytes(range(78))))      # overlapping resend
                   + request(INVOKE, 15)                                                  # input 1 missing
                   + request(TENSOR_WRITE, 16, chunk(1, 8, 0, b"\x80\x7f" * 4))
                   + request(INVOKE, 17) + request(TENSOR_READ, 18, chunk(0, 4, 0) + struct.pack("<H", 4))
                   + request(TENSOR_READ, 19, chunk(0, 4, 2) + struct.pack("<H", 2))
                   + request(TENSOR_WRITE, 20, chunk(0, 128, 120, b"gap"))              # leaves a gap
                   + request(TENSOR_READ, 21, chunk(0, 4, 0) + struct.pack("<H", 4))),  # no result after a write
    }


def synth_chunk(op: int, count: int, period: int, amp: int, noise: int, base: int, lcg: int) -> bytes:
    """Stream target: a well-formed chunk of synthetic ECG (ops 3 / 4)."""
    return bytes([op]) + struct.pack("<HBBBhI", count, period, amp, noise, base, lcg)


def stream_seeds() -> dict[str, bytes]:
    beats = bytes([18, 1, 0])                       # START, flags INPUTS
    for k in range(12):                              # ~30 s of a 0.9 s rhythm: learning, then beats
        beats += synth_chunk(3, 1017, 85, 200, 20, 1024, k)
    beats += bytes([6, 5])                           # STATUS, STOP
    resend = bytes([0, 0, 0])                        # START, no flags
    resend += synth_chunk(3, 900, 60, 180, 5, 0, 1)
    resend += bytes([0x81]) + struct.pack("<HBBBhI", 500, 60, 180, 5, 0, 2)[:2] + bytes([2 | (3 << 2)]) \
        + struct.pack("<BBBhI", 60, 180, 5, 0, 2)      # a chunk after a gap
    resend += bytes([0x81]) + struct.pack("<H", 500) + bytes([1 | (7 << 2)]) + struct.pack("<BBBhI", 60, 180, 5, 0, 3)
    resend += synth_chunk(4, 499, 60, 180, 5, 0, 4)   # DATA, int16 samples
    resend += bytes([7, 3, 6])                       # 3 bytes lost in the RX ring, STATUS
    hostile = bytes([0, 0, 0]) + bytes([2, 0]) + struct.pack("<HH", 5, 4) + b"\x7f\x7f\x7f\x7f"  # DATA8 out of range
    hostile += bytes([1, 3]) + struct.pack("<IH", 7, 3) + b"\x01\x02\x03"                        # DATA, odd length
    hostile += bytes([8, 2]) + struct.pack("<H", 9) + struct.pack("<IHBBB", 0, 3, 0x80, 1, 2)   # raw DATA8, cut escape
    return {"beats": beats, "resend": resend, "hostile": hostile}


def delta8_seeds() -> dict[str, bytes]:
    return {
        "small": struct.pack("<hH", 100, 4) + b"\x01\xff\x80\x00\x80\x05",
        "escape_cut": struct.pack("<hH", 0, 2) + b"\x05\x80\x01",
        "range": struct.pack("<hH", 32760, 1) + b"\x7f",
        "samples": struct.pack("<h", 0) + struct.pack("<6h", 0, 127, -128, 32767, -32768, 5),
    }


def ecgdsp_seeds() -> dict[str, bytes]:
    spikes = lambda period, amp, base, n: bytes([2, period, amp & 0xFF]) + struct.pack("<hH", base, n)  # noqa: E731
    return {
        "rhythm": spikes(80, 60, 1024, 30000),
        "fast_big": spikes(10, 127, -20000, 20000),
        "inverted": spikes(140, -90, 0, 25000),
        "artefact": spikes(90, 50, 1024, 30000) + b"".join(struct.pack("<HB", 4000 + 37 * k, 0x7F) for k in range(40)),
        "runs": bytes([1]) + b"".join(struct.pack("<hB", v, 60) for v in (0, 32767, -32768, 0, 1000, -1000) * 4),
        "raw": bytes([0]) + struct.pack("<8h", 0, 100, -100, 32767, -32768, 1, 2, 3),
    }


SEEDS = {"frame": frame_seeds, "commands": command_seeds, "stream": stream_seeds, "delta8": delta8_seeds,
         "ecgdsp": ecgdsp_seeds}


def main() -> None:
    for target, make in SEEDS.items():
        d = HERE / "corpus" / target
        d.mkdir(parents=True, exist_ok=True)
        for old in d.glob("seed-*"):
            old.unlink()
        for name, data in make().items():
            (d / f"seed-{name}").write_bytes(data)
        print(f"{target}: {len(list(d.glob('seed-*')))} seeds, {len(list(d.glob('regress-*')))} regression inputs")


if __name__ == "__main__":
    main()
