"""Device-level fuzzing: structure-aware hostile frames sent to the firmware
(in QEMU, or a flashed board), every answer predicted.

Frames of every type (except TEST_FAULT, the deliberate fault) are generated
valid (engine commands aimed at the written state of the inputs), with valid CRC and hostile bodies, as stream chunks at the expected
sample, after a gap, as duplicates or malformed, and then corrupted: bit
flips, truncations, wrong headers (version, length field, CRC), delimiters
dropped or inserted, garbage, over-long runs, empty frames.  They go out in
batches of at most ``BATCH_BYTES`` (the 4 KiB receive ring cannot overflow).

The oracle needs no knowledge of how a frame was made: the batch is split at
its 0x00 delimiters, and each non-empty chunk must get exactly one answer, in
order.  A chunk the host decoder (:func:`tinyecg.protocol.decode`, held equal
to the device's by tests/test_protocol.py) refuses must be answered by ERROR
with the same code; a well-formed frame by its reply or the ERROR the command
table says, which for the stream commands a model of the state machine
predicts exactly (status, next sample, event count, statistics), with BEAT
events numbered 0, 1, 2, ... per stream, and for the engine commands a model
of their state (written prefixes, result present) with every output byte
equal to tflite_micro on the bytes the device holds (when the device runs
the shipped model).  After each batch the device must
answer PING, and it must never have sent FAULT, BOOT or a malformed frame.
"""

from __future__ import annotations

import copy
import random
import struct
from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np

from .. import protocol
from .. import stream as S
from ..device import Device, DeviceTimeout
from ..errors import TinyEcgError
from ..protocol import ErrorCode, FrameError, Msg

START, DATA, STOP, STATUS, DATA8 = S.STREAM_START, S.STREAM_DATA, S.STREAM_STOP, S.STREAM_STATUS, S.STREAM_DATA8
STREAM_VERSION = 2  # since RHYTHM events (docs/protocol.md)
TENSOR_WRITE, INVOKE, TENSOR_READ = 0x05, 0x06, 0x07
ENGINE_TYPES = (Msg.INFER, TENSOR_WRITE, INVOKE, TENSOR_READ)
CHUNK_HEADER, CHUNK_MAX = 9, 1015
BEAT, RHYTHM = S.STREAM_BEAT, S.STREAM_RHYTHM
STREAM_TYPES = (START, DATA, STOP, STATUS, DATA8)
MAX_SAMPLES, MAX_DELTA_SAMPLES = 500, 1018
#: Bytes sent before the answers are read: well under the 4 KiB receive ring.
BATCH_BYTES = 3000
#: Error codes a command handler answers with (docs/protocol.md).
HANDLER_ERRORS = (ErrorCode.UNKNOWN_TYPE, ErrorCode.BAD_LENGTH, ErrorCode.BAD_REQUEST, ErrorCode.NO_MODEL)
#: A device that says nothing for this long has hung (a guard, not a speed bound).
HANG_GUARD_S = 60.0


class Finding(TinyEcgError):
    """The device broke a property; the message says which, with the batch."""


# ----------------------------------------------------------------- delta8
def delta8_decode(b: bytes, count: int, prev: int) -> tuple[str, list[int]]:
    """Reference STREAM_DATA8 decoder (docs/protocol.md): ("ok", samples),
    ("range", _) or ("length", _)."""
    x, out, i = prev, [], 0
    while i < len(b):
        if len(out) == count:
            return "length", out
        if b[i] == 0x80:
            if len(b) - i < 3:
                return "length", out
            x = struct.unpack_from("<h", b, i + 1)[0]
            i += 3
        else:
            x += b[i] - 256 if b[i] >= 0x80 else b[i]
            i += 1
            if not -32768 <= x <= 32767:
                return "range", out
        out.append(x)
    return ("ok" if len(out) == count else "length"), out


def delta8_encode(x: np.ndarray, prev: int, max_bytes: int = 1018) -> tuple[bytes, int]:
    """As many samples of x as fit max_bytes, delta-coded after prev: (bytes, count)."""
    out = bytearray()
    n = 0
    for v in x.tolist():
        d = v - prev
        piece = bytes([d & 0xFF]) if -127 <= d <= 127 else b"\x80" + struct.pack("<h", v)
        if len(out) + len(piece) > max_bytes:
            break
        out += piece
        prev = v
        n += 1
    return bytes(out), n


# ------------------------------------------------------------ stream model
@dataclass
class StreamModel:
    """What the device's stream state machine must do (firmware/src/stream.c, docs/protocol.md)."""
    n_classes: int
    uncertain_below: int
    input_bytes: int
    active: bool = False
    flags: int = 0
    next: int = 0
    events: int = 0
    gaps: int = 0
    dups: int = 0
    last_x: int = 0
    beats_open: bool = False  # BEAT / RHYTHM events may arrive now (an accepted chunk is being answered)
    events_at_open: int = 0

    def start(self, flags: int):
        self.active, self.flags, self.next, self.events, self.gaps, self.dups, self.last_x = \
            True, flags, 0, 0, 0, 0, 0

    def status(self, first: int) -> int:
        if first > self.next:
            self.gaps += 1
            return 1
        if first < self.next:
            self.dups += 1
            return 2
        return 0

    def predict(self, f: protocol.Frame) -> tuple:
        """("error", code) | ("reply", check(body)) for a well-formed STREAM_* request,
        updating the model as the device updates its state."""
        b, n = f.body, len(f.body)
        if f.type == START:
            if n > 1:
                return "error", ErrorCode.BAD_LENGTH
            flags = b[0] if n else 0
            if flags & ~1:
                return "error", ErrorCode.BAD_REQUEST
            self.start(flags)
            return "reply", self._check_start
        if f.type in (STOP, STATUS):
            if n:
                return "error", ErrorCode.BAD_LENGTH
            if f.type == STOP and not self.active:
                return "error", ErrorCode.BAD_REQUEST
            snap = (int(self.active), self.flags, self.next, self.events, self.gaps, self.dups)
            if f.type == STOP:
                self.active = False
            return "reply", lambda body: self._check_stats(body, snap)
        if not self.active:
            return "error", ErrorCode.BAD_REQUEST
        if f.type == DATA:
            if n < 6 or n % 2 or (n - 4) // 2 > MAX_SAMPLES:
                return "error", ErrorCode.BAD_LENGTH
            st = self.status(struct.unpack_from("<I", b)[0])
            if st == 0:
                x = struct.unpack_from(f"<{(n - 4) // 2}h", b, 4)
                self._accept(list(x))
            return "reply", self._ack(st)
        # DATA8
        if n < 7:
            return "error", ErrorCode.BAD_LENGTH
        first, count = struct.unpack_from("<IH", b)
        if count == 0 or count > MAX_DELTA_SAMPLES:
            return "error", ErrorCode.BAD_LENGTH
        st = self.status(first)
        if st == 0:
            how, x = delta8_decode(b[6:], count, self.last_x)
            if how != "ok":
                return "error", ErrorCode.BAD_REQUEST if how == "range" else ErrorCode.BAD_LENGTH
            self._accept(x)
        return "reply", self._ack(st)

    def _accept(self, x):
        self.next = (self.next + len(x)) & 0xFFFFFFFF
        self.last_x = x[-1]
        self.beats_open = True
        self.events_at_open = self.events

    def _ack(self, status: int):
        def check(body):
            self.beats_open = False
            want = (status, self.next, self.events)
            got = struct.unpack("<BII", body) if len(body) == 9 else None
            return None if got == want else f"ACK {got}, expected (status, next, events) {want}"
        return check

    def rhythm(self, body: bytes) -> str | None:
        """A RHYTHM event: in the same sequence as BEAT events, after one."""
        if not self.beats_open or self.events == self.events_at_open:
            return "RHYTHM event before any BEAT event of the chunk"
        if len(body) != S.RhythmEvent.WIRE.size:
            return f"RHYTHM event of {len(body)} bytes"
        ev = S.RhythmEvent.parse(body)
        self.events += 1
        if ev.seq != self.events - 1 or not 1 <= ev.kind <= 5 or not 0 <= ev.t < self.next:
            return f"RHYTHM eseq {ev.seq} kind {ev.kind} t {ev.t}, expected eseq {self.events - 1}, " \
                   f"kind 1..5, t < {self.next}"
        return None

    def beat(self, body: bytes) -> str | None:
        if not self.beats_open:
            return "BEAT event outside the answer to an accepted chunk"
        if len(body) < 12:
            return f"BEAT event of {len(body)} bytes"
        eseq, r, cls, conf, flags, n = struct.unpack_from("<IIBBBB", body)
        want_len = 20 + self.n_classes + (self.input_bytes if self.flags & 1 else 0)
        problems = []
        if eseq != self.events:
            problems.append(f"eseq {eseq}, expected {self.events}")
        if n != self.n_classes or len(body) != want_len:
            problems.append(f"{n} classes in {len(body)} bytes, expected {self.n_classes} in {want_len}")
        elif cls != 0xFF:
            scores = np.frombuffer(body, np.int8, n, 12)
            if cls != int(np.argmax(scores)):
                problems.append(f"class {cls} is not the argmax of {scores.tolist()}")
            if bool(flags & 1) != (conf < self.uncertain_below):
                problems.append(f"uncertain flag {flags & 1} with confidence {conf}")
        if not 0 <= r < self.next:
            problems.append(f"R at sample {r}, only {self.next} samples accepted")
        self.events += 1
        return "; ".join(problems) or None

    def _check_start(self, body):
        if len(body) != 12:
            return f"START reply of {len(body)} bytes"
        v, cr, ms, fs, nc, ub, ib, md = struct.unpack("<BBHHBBHH", body)
        if (v, cr, ms, fs, md) != (STREAM_VERSION, 3, MAX_SAMPLES, 360, MAX_DELTA_SAMPLES) or \
                (nc, ub, ib) != (self.n_classes, self.uncertain_below, self.input_bytes):
            return f"START reply {(v, cr, ms, fs, nc, ub, ib, md)}"
        return None

    def _check_stats(self, body, snap):
        if len(body) != S.STATS.size:
            return f"statistics of {len(body)} bytes"
        st = S.parse_stats(body)
        got = tuple(st[k] for k in ("active", "flags", "samples", "events", "gaps", "duplicates"))
        if got != snap:
            return f"statistics (active, flags, samples, events, gaps, dups) {got}, expected {snap}"
        if st["rx_overruns"]:
            return f"{st['rx_overruns']} receive overruns"
        if st["dsp_units"] + st["beat_units"] + st["rhythm_units"] > st["elapsed_units"]:
            return f"chain + beats + rhythm units exceed the {st['elapsed_units']} elapsed"
        return None


@dataclass
class EngineModel:
    """What the engine commands must do (firmware/src/cmd_model.c, docs/protocol.md
    "Running the model"): which error, the written prefix of each input, and the
    bytes TENSOR_READ returns -- the outputs of `reference` (tflite_micro on the
    same model) for the input bytes the device holds, or, without one, the
    outputs the device itself reported for that inference."""
    in_sizes: list
    out_sizes: list
    reference: object = None
    written: list = field(default_factory=list)
    have_result: bool = False
    inp: bytearray = field(default_factory=bytearray)
    out: bytes | None = None

    def __post_init__(self):
        self.written = [0] * len(self.in_sizes)
        self.inp = bytearray(sum(self.in_sizes))

    def _chunk_ok(self, b: bytes, sizes: list, n: int) -> bool:
        k, total, off = struct.unpack_from("<BII", b)
        return k < len(sizes) and total == sizes[k] and off <= sizes[k] and n <= sizes[k] - off

    def _run(self):
        self.written = [0] * len(self.in_sizes)
        self.have_result = True
        self.out = self.reference(bytes(self.inp)) if self.reference else None

    def predict(self, f: protocol.Frame) -> tuple:
        b, n = f.body, len(f.body)
        if f.type == TENSOR_WRITE:
            if n <= CHUNK_HEADER:
                return "error", ErrorCode.BAD_LENGTH
            k, _, off = struct.unpack_from("<BII", b)
            if not self._chunk_ok(b, self.in_sizes, n - CHUNK_HEADER) or off > self.written[k]:
                return "error", ErrorCode.BAD_REQUEST
            base = sum(self.in_sizes[:k])
            self.inp[base + off:base + n - CHUNK_HEADER + off] = b[CHUNK_HEADER:]
            self.written[k] = max(self.written[k], off + n - CHUNK_HEADER)
            self.have_result = False
            want = struct.pack("<I", self.written[k])
            return "reply", lambda body: None if body == want else f"TENSOR_WRITE reply {body.hex()}, expected {want.hex()}"
        if f.type == INVOKE:
            if n:
                return "error", ErrorCode.BAD_LENGTH
            if self.written != self.in_sizes:
                return "error", ErrorCode.BAD_REQUEST
            self._run()
            return "reply", lambda body: None if len(body) == 4 else f"INVOKE reply of {len(body)} bytes"
        if f.type == TENSOR_READ:
            if n != CHUNK_HEADER + 2:
                return "error", ErrorCode.BAD_LENGTH
            k, _, off = struct.unpack_from("<BII", b)
            m = struct.unpack_from("<H", b, CHUNK_HEADER)[0]
            if not 1 <= m <= CHUNK_MAX or not self._chunk_ok(b, self.out_sizes, m) or not self.have_result:
                return "error", ErrorCode.BAD_REQUEST
            base = sum(self.out_sizes[:k]) + off

            def check(body):
                if len(body) != CHUNK_HEADER + m or body[:CHUNK_HEADER] != b[:CHUNK_HEADER]:
                    return f"TENSOR_READ reply of {len(body)} bytes for {m}"
                if self.out is not None and body[CHUNK_HEADER:] != self.out[base:base + m]:
                    return f"TENSOR_READ bytes {off}+{m} of output {k} differ from the model's"
                return None
            return "reply", check
        # INFER
        if n != len(self.inp):
            return "error", ErrorCode.BAD_LENGTH
        self.inp[:] = b
        self._run()
        nout = sum(self.out_sizes)

        def check_infer(body):
            if len(body) != nout + 4:
                return f"INFER reply of {len(body)} bytes, expected {nout} outputs + 4"
            if self.out is None:
                self.out = bytes(body[:nout])  # no reference: later reads must return these
            elif body[:nout] != self.out:
                return f"INFER outputs {body[:nout].hex()} differ from the model's {self.out.hex()}"
            return None
        return "reply", check_infer


# --------------------------------------------------------------- generator
def synthetic_ecg(n: int, rng: np.random.Generator) -> np.ndarray:
    """A spiky rhythm the detector finds beats in (360 Hz, ~200 adu/mV around 1024)."""
    t = np.arange(n)
    x = 1024 + 40 * np.sin(2 * np.pi * t / 2000.0)
    period = int(rng.integers(250, 420))
    phase = t % period
    x += np.where(phase < 6, 300 * phase / 6, np.where(phase < 12, 300 * (12 - phase) / 6, 0))
    x += rng.normal(0, 3, n)
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


class FrameGen:
    """Random wire bytes for one batch; TEST_FAULT never appears as a valid frame.

    Stream chunks are aimed with a copy of the stream model run over the batch
    as it is generated, so that most of them land where the device is (and
    beats get detected and classified) while the rest probe gaps, duplicates
    and malformed bodies."""

    def __init__(self, rng: random.Random, input_bytes: int, signal: np.ndarray):
        self.r, self.input_bytes, self.signal = rng, input_bytes, signal
        self.seq = 0
        self.sim: StreamModel | None = None

    def _seq(self) -> int:
        self.seq = (self.seq + 1) % 0xFFFF
        return self.seq

    def _types(self) -> int:
        r = self.r
        t = r.choice((Msg.PING, Msg.INFO, Msg.MODEL_INFO, Msg.INFER, TENSOR_WRITE, INVOKE, TENSOR_READ, START, DATA,
                      DATA8, STOP, STATUS, 0x08, 0x15, 0x1F, 0x00, 0x81, 0x90, 0x98, Msg.BOOT, Msg.FAULT, Msg.ERROR,
                      r.randrange(256)))
        return 0x0E if t == Msg.TEST_FAULT else t

    def valid_request(self) -> tuple[int, bytes]:
        r = self.r
        u = r.random()
        t = START if u < 0.04 else STOP if u < 0.08 else r.choice((Msg.PING, Msg.INFO, Msg.MODEL_INFO, Msg.INFER,
                                                                  STATUS))
        if t == Msg.PING:
            return t, r.randbytes(r.choice((0, 1, 5, 100, 1024)))
        if t == Msg.INFER:
            return t, r.randbytes(self.input_bytes)
        if t == START:
            return t, bytes([r.choice((0, 1))]) if r.random() < 0.7 else b""
        return t, b""

    def hostile_body(self) -> tuple[int, bytes]:
        r = self.r
        t = self._types()
        n = r.choice((0, 1, 2, 5, 6, 7, 9, 10, 11, 12, self.input_bytes - 1, self.input_bytes + 1, 1004, 1005, 1024,
                      r.randrange(1025)))
        body = bytearray(r.randbytes(max(0, n)))
        if t in (DATA, DATA8) and n >= 4 and r.random() < 0.6:
            struct.pack_into("<I", body, 0, self.sim.next)  # at the expected sample: the body decides
        return t, bytes(body)

    def chunk(self) -> tuple[int, bytes]:
        """A stream chunk of the signal: at the expected sample, after a gap, a duplicate, or malformed."""
        r = self.r
        kind = r.random()
        first = self.sim.next
        if kind < 0.1:
            first = self.sim.next + r.choice((1, 7, 1000, 1 << 31))
        elif kind < 0.2:
            first = max(0, self.sim.next - r.choice((1, 100, 1018)))
        at = first % len(self.signal)  # the samples: the signal from there on
        prev = self.sim.last_x if first == self.sim.next else (int(self.signal[at - 1]) if at else 0)
        if r.random() < 0.6:
            data, count = delta8_encode(self.signal[at:at + r.choice((1, 50, 1018, 1018))], prev)
            body = bytearray(struct.pack("<IH", first & 0xFFFFFFFF, max(count, 1)) + data)
            if r.random() < 0.1:  # malformed: wrong count, a cut escape, a step out of range
                m = r.randrange(3)
                if m == 0:
                    struct.pack_into("<H", body, 4, max(1, count + r.choice((-1, 1, 5))) % 1019)
                elif m == 1:
                    body += b"\x80\x01"
                else:
                    body[6:] = bytes([0x80, 0xFF, 0x7F, 0x7F]) + bytes(body[7:])
            return DATA8, bytes(body)
        n = r.choice((1, 37, 500, 500))
        body = struct.pack("<I", first & 0xFFFFFFFF) + self.signal[at:at + n].astype("<i2").tobytes()
        return DATA, body[:-1] if r.random() < 0.05 else body

    def engine(self) -> tuple[int, bytes]:
        """An engine command aimed at the device's state: the next or a resent chunk
        of an input, INVOKE, a read of the result, INFER; sometimes slightly wrong."""
        r, e = self.r, self.esim
        u = r.random()
        todo = [k for k, (w, n) in enumerate(zip(e.written, e.in_sizes)) if w < n]
        if not todo and u < 0.6:
            return INVOKE, b""
        if u < 0.5:
            k = todo[0] if todo and r.random() < 0.7 else r.randrange(len(e.in_sizes))
            off = e.written[k] if r.random() < 0.8 else r.randint(0, e.written[k])
            n = max(1, min(CHUNK_MAX, e.in_sizes[k] - off, r.choice((1, 7, 64, CHUNK_MAX))))
            total = e.in_sizes[k] if r.random() < 0.9 else e.in_sizes[k] + r.choice((-1, 1))
            if r.random() < 0.05:
                off += r.choice((1, n))  # a gap
            return TENSOR_WRITE, struct.pack("<BII", k, total & 0xFFFFFFFF, off) + r.randbytes(n)
        if u < 0.7:
            return INVOKE, b""
        if u < 0.9:
            k = r.randrange(len(e.out_sizes))
            off = r.randrange(e.out_sizes[k])
            m = r.randint(1, e.out_sizes[k] - off) if r.random() < 0.9 else r.choice((0, 1016, e.out_sizes[k] + 1))
            return TENSOR_READ, struct.pack("<BIIH", k, e.out_sizes[k], off, m)
        return Msg.INFER, r.randbytes(len(e.inp))

    def corrupt(self, raw: bytes) -> bytes:
        """Wire bytes of a damaged version of the raw (unencoded) frame."""
        r = self.r
        k = r.randrange(9)
        if k == 0:  # bit flips after encoding
            enc = bytearray(protocol.cobs_encode(raw))
            for _ in range(r.choice((1, 1, 2, 3))):
                enc[r.randrange(len(enc))] ^= 1 << r.randrange(8)
            return bytes(enc) + b"\x00"
        if k == 1:  # bit flips before encoding (framing intact, CRC wrong)
            b = bytearray(raw)
            b[r.randrange(len(b))] ^= 1 << r.randrange(8)
            return protocol.cobs_encode(bytes(b)) + b"\x00"
        if k == 2:  # truncated
            return protocol.cobs_encode(raw[:r.randrange(len(raw))]) + b"\x00"
        if k == 3:  # version, or the length field, with a correct CRC
            b = bytearray(raw[:-2])
            if r.random() < 0.5:
                b[0] = r.choice((0, 2, 0xFF))
            else:
                struct.pack_into("<H", b, 4, r.choice((len(b) - 5, len(b) - 7, 1025, 0xFFFF, 0)) & 0xFFFF)
            return protocol.cobs_encode(bytes(b) + struct.pack("<H", protocol.crc16(bytes(b)))) + b"\x00"
        if k == 4:  # trailing bytes after the CRC
            return protocol.cobs_encode(raw + r.randbytes(r.randint(1, 3))) + b"\x00"
        if k == 5:  # delimiter dropped: runs into the next chunk
            return protocol.cobs_encode(raw)
        if k == 6:  # a zero inside the encoding: two chunks
            enc = bytearray(protocol.cobs_encode(raw))
            enc.insert(r.randrange(1, len(enc)), 0)
            return bytes(enc) + b"\x00"
        if k == 7:  # garbage
            return bytes(r.randrange(1, 256) for _ in range(r.randint(1, 60))) + b"\x00"
        return bytes(r.randrange(1, 256) for _ in range(r.choice((1038, 1100, 1500)))) + b"\x00"  # over-long

    def item(self) -> bytes:
        r = self.r
        p = r.random()
        if p < 0.05:
            return b"\x00"  # an empty frame: no answer
        if not self.sim.active and r.random() < 0.5:  # a stream to work on, most of the time
            t, body = START, bytes([r.choice((0, 1))])
        elif p < 0.3:
            t, body = self.valid_request()
        elif p < 0.4:
            t, body = self.engine()
        elif p < 0.55:
            t, body = self.hostile_body()
        else:
            t, body = self.chunk()
        raw = protocol.pack_frame(t, self._seq(), body)
        if r.random() < 0.25:
            return self.corrupt(raw)
        return protocol.cobs_encode(raw) + b"\x00"

    def batch(self, model: StreamModel, engine: EngineModel) -> bytes:
        self.sim = copy.deepcopy(model)
        self.esim = copy.deepcopy(engine)
        self.esim.reference = None  # aiming needs no outputs
        out = bytearray()
        while True:
            it = _no_test_fault(self.item())
            if len(out) + len(it) > BATCH_BYTES:
                break
            out += it
            for chunk in it.split(b"\x00"):  # advance the simulated stream as the device will
                try:
                    f = protocol.decode(chunk) if chunk else None
                except FrameError:
                    f = None
                if f is not None and f.type in STREAM_TYPES:
                    self.sim.predict(f)
                elif f is not None and f.type in ENGINE_TYPES:
                    self.esim.predict(f)
        return bytes(out) if out.endswith(b"\x00") else bytes(out + b"\x00")


def _no_test_fault(wire: bytes) -> bytes:
    """Drop any chunk that decodes to a valid TEST_FAULT frame (the deliberate fault)."""
    keep = []
    for chunk in wire.split(b"\x00"):
        try:
            if chunk and protocol.decode(chunk).type == Msg.TEST_FAULT:
                continue
        except FrameError:
            pass
        keep.append(chunk)
    return b"\x00".join(keep)


# ------------------------------------------------------------------ oracle
def _header(chunk: bytes) -> tuple[int, int]:
    """(seq, type) the device can read from a refused chunk (SEQ_NONE, 0 if none)."""
    if len(chunk) > protocol.MAX_ENCODED:
        return protocol.SEQ_NONE, 0
    try:
        raw = protocol.cobs_decode(chunk)
    except FrameError:
        return protocol.SEQ_NONE, 0
    return (struct.unpack_from("<H", raw, 2)[0] if len(raw) >= 4 else protocol.SEQ_NONE), \
        (raw[1] if len(raw) >= 2 else 0)


@dataclass
class Stats:
    frames: int = 0          # non-empty chunks sent (each one answered)
    batches: int = 0
    bytes: int = 0
    beats: int = 0
    answers: Counter = field(default_factory=Counter)

    def line(self) -> str:
        a = self.answers
        return (f"{self.frames} frames in {self.batches} batches ({self.bytes} bytes): "
                f"{a['reply']} replies, {a['error']} ERROR answers, {self.beats} BEAT events, "
                f"{a['rhythm events']} RHYTHM events, {a['reply 0x04']} INFER / {a['reply 0x06']} INVOKE / "
                f"{a['reply 0x07']} TENSOR_READ results checked; "
                f"0 faults, 0 resets, 0 hangs")


def _reference(model_id: str):
    """tflite_micro on the .tflite the device's model came from, if it is here
    (the shipped model): input bytes -> output bytes; else None."""
    from .. import bench, tflite_import
    from ..firmware import ROOT
    path = ROOT / "models" / "arrhythmia" / "model_int8.tflite"
    if not path.is_file():
        return None
    data = path.read_bytes()
    graph = tflite_import.parse(data, str(path))
    if graph.model_id != model_id:
        return None
    return lambda x: bench.reference_outputs(data, graph, np.frombuffer(x, np.int8)[None, :])[0].tobytes()


class DeviceFuzzer:
    def __init__(self, dev: Device, seed: int = 0):
        self.dev = dev
        self.rng = random.Random(seed)
        info = dev.request(Msg.MODEL_INFO, allow_error=True)
        if info.is_error:
            raise TinyEcgError("the device has no model: the device fuzzer needs a firmware built with one")
        kv = info.kv()
        self.input_bytes = int(kv["input_bytes"])
        start = dev.request(START, b"", allow_error=True)
        if start.is_error:
            raise TinyEcgError(f"the device cannot stream ({start.error()[2]}): it needs the beat classifier")
        _, _, _, _, nc, ub, ib, _ = struct.unpack("<BBHHBBHH", start.body)
        dev.request(STOP)
        self.model = StreamModel(nc, ub, ib)
        self.gen = FrameGen(self.rng, self.input_bytes, synthetic_ecg(200_000, np.random.default_rng(seed)))
        self.known = {Msg.PING, Msg.INFO, Msg.MODEL_INFO, *ENGINE_TYPES, *STREAM_TYPES}
        sizes = [[int(np.prod([int(d) for d in shape.split("x")])) for shape in kv[key].split(";")]
                 for key in ("input_shapes", "output_shapes")]
        self.engine = EngineModel(*sizes, reference=_reference(kv["model"]))
        self.outputs_checked = self.engine.reference is not None  # against tflite_micro
        self.stats = Stats()

    def _expect(self, chunk: bytes):
        """The answer a chunk must get: ("error", code, seq, type), or ("frame", Frame,
        the stream model's prediction). Made when the chunk's turn comes, before
        the BEAT events it may produce arrive."""
        try:
            f = protocol.decode(chunk)
        except FrameError as exc:
            return ("error", exc.code, *_header(chunk))
        pred = self.model.predict(f) if f.type in STREAM_TYPES else \
            self.engine.predict(f) if f.type in ENGINE_TYPES else None
        return ("frame", f, pred)

    def _check(self, exp, got: protocol.Frame) -> str | None:
        if exp[0] == "error":
            _, code, seq, typ = exp
            if not got.is_error:
                return f"answer 0x{got.type:02x} to a chunk the spec refuses with {code.name}"
            c, t, _ = got.error()
            if c != code or got.seq != seq or t != typ:
                return f"ERROR {c} seq {got.seq} type 0x{t:02x}, expected {code.name} seq {seq} type 0x{typ:02x}"
            self.stats.answers["error"] += 1
            return None
        _, f, pred = exp
        if got.seq != f.seq:
            return f"answer seq {got.seq} to request seq {f.seq} (type 0x{f.type:02x})"
        want = None
        if pred is not None:
            kind, arg = pred
            if kind == "error":
                want = arg
            elif got.is_error:
                return f"ERROR {got.error()} to request 0x{f.type:02x}, the model expects a reply"
            elif got.type != f.type | protocol.REPLY:
                return f"answer 0x{got.type:02x} to request 0x{f.type:02x}"
            else:
                problem = arg(got.body)
                if problem:
                    return f"request 0x{f.type:02x}: {problem}"
                self.stats.answers["reply"] += 1
                self.stats.answers[f"reply 0x{f.type:02x}"] += 1
                return None
        elif f.type not in self.known:
            want = ErrorCode.UNKNOWN_TYPE
        elif f.type == Msg.INFO and f.body or f.type == Msg.MODEL_INFO and f.body:
            want = ErrorCode.BAD_LENGTH
        if want is not None:
            if not got.is_error or got.error()[0] != want or got.error()[1] != f.type:
                return f"answer {got} to 0x{f.type:02x} ({len(f.body)} bytes), expected ERROR {want.name}"
            self.stats.answers["error"] += 1
            return None
        if got.is_error or got.type != f.type | protocol.REPLY:
            return f"answer {got.type:#04x} {got.error() if got.is_error else ''} to request 0x{f.type:02x}"
        if f.type == Msg.PING and got.body != f.body:
            return "PING reply does not echo the body"
        self.stats.answers["reply"] += 1
        self.stats.answers[f"reply 0x{f.type:02x}"] += 1
        return None

    def run_batch(self) -> None:
        wire = self.gen.batch(self.model, self.engine)
        chunks = deque(c for c in wire.split(b"\x00") if c)
        n_chunks = len(chunks)
        self.dev.write(wire)
        self.stats.batches += 1
        self.stats.bytes += len(wire)
        self.stats.frames += n_chunks
        exp = self._expect(chunks.popleft()) if chunks else None
        while exp is not None:
            try:
                got = self.dev.recv(timeout=HANG_GUARD_S)
            except DeviceTimeout:
                raise Finding(f"hang: no answer for {len(chunks) + 1} of {n_chunks} chunks of batch "
                              f"{self.stats.batches} (wire {wire.hex()})") from None
            self._unsolicited(got, wire)
            if got.type in (BEAT, RHYTHM):
                problem = self.model.beat(got.body) if got.type == BEAT else self.model.rhythm(got.body)
                self.stats.beats += got.type == BEAT
                self.stats.answers["rhythm events"] += got.type == RHYTHM
                if problem:
                    raise Finding(f"batch {self.stats.batches}: {problem}")
                continue
            problem = self._check(exp, got)
            if problem:
                raise Finding(f"batch {self.stats.batches}: {problem} (wire {wire.hex()})")
            exp = self._expect(chunks.popleft()) if chunks else None
        if self.dev.framing_errors:
            raise Finding(f"the device sent malformed frames: {self.dev.framing_errors[:3]}")
        payload = self.rng.randbytes(self.rng.randrange(64))
        seq = self.dev.send(Msg.PING, payload)
        got = self.dev.recv(timeout=HANG_GUARD_S)
        self._unsolicited(got, wire)
        if got.type != Msg.PING | protocol.REPLY or got.seq != seq or got.body != payload:
            raise Finding(f"after batch {self.stats.batches} PING got {got}")

    def _unsolicited(self, got: protocol.Frame, wire: bytes):
        if got.type in (Msg.FAULT, Msg.BOOT):
            raise Finding(f"the device sent {Msg(got.type).name} ({got.text().strip()!r}) "
                          f"in batch {self.stats.batches} (wire {wire.hex()})")
        if got.is_error and got.error()[0] == ErrorCode.RX_OVERRUN:
            raise Finding(f"receive overrun in batch {self.stats.batches}: flow control failed")

    def run(self, frames: int, progress: bool = False) -> Stats:
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=frames, unit="frame", dynamic_ncols=True, desc="device fuzz")
        try:
            while self.stats.frames < frames:
                before = self.stats.frames
                self.run_batch()
                if bar is not None:
                    bar.update(self.stats.frames - before)
        finally:
            if bar is not None:
                bar.close()
        return self.stats
