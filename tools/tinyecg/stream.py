"""Stream a raw ECG record through the device's beat pipeline and score it.

Library side of ``tools/stream.py`` (docs/protocol.md "Streaming",
docs/pipeline.md):

* :func:`stream_samples` -- the host end of the STREAM_* protocol: chunks with
  credit-based flow control and go-back-N resend (a chunk lost to a malformed
  frame is resent from the device's ``next``), BEAT events collected in order.
* :func:`host_reference` -- the same Python chain (:mod:`tinyecg.preprocess`,
  :mod:`tinyecg.features`) and the ``tflite_micro`` interpreter on the same
  samples: what the device must say, beat for beat.
* :func:`score` -- EC57 beat-by-beat scoring (:mod:`tinyecg.ec57`, bxb's
  conventions): QRS, VEB and SVEB Se/+P and the per-class figures.
* :func:`power_estimate` -- CPU duty cycle, average current and battery life
  from the measured counter units.
* :func:`run` -- all of it for one record, returning the report dict.
"""

from __future__ import annotations

import collections
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import data as D
from . import ec57
from . import features as F
from . import preprocess as P
from . import rhythm as R
from .device import Device, DeviceError, DeviceTimeout
from .errors import TinyEcgError
from .protocol import SEQ_NONE, Frame, Msg, REPLY

# Message types (firmware/src/stream.h)
STREAM_START, STREAM_DATA, STREAM_STOP, STREAM_STATUS, STREAM_DATA8 = 0x10, 0x11, 0x12, 0x13, 0x14
STREAM_BEAT = 0x98
STREAM_RHYTHM = 0x99
FLAG_INPUTS = 0x01
ACK_ACCEPTED, ACK_GAP, ACK_DUPLICATE = 0, 1, 2

#: EC57 / bxb: beat-by-beat comparison starts 5 minutes into the record (learning period).
EC57_START_SECONDS = ec57.LEARNING_SECONDS
#: Annotation symbols written for each class index (wfdb-valid beat codes).
CLASS_SYMBOLS = ("N", "S", "V", "F", "Q")


# ------------------------------------------------------------------ messages
@dataclass
class StartInfo:
    version: int
    credits: int
    max_samples: int
    fs: int
    n_classes: int
    uncertain_below: int
    input_bytes: int
    max_delta_samples: int

    @classmethod
    def parse(cls, body: bytes) -> "StartInfo":
        if len(body) != 12:
            raise TinyEcgError(f"STREAM_START reply of {len(body)} bytes, expected 12")
        return cls(*struct.unpack("<BBHHBBHH", body))


DELTA_ESCAPE = 0x80
DELTA_MAX_PAYLOAD = 1024 - 6


def encode_delta8(x: np.ndarray, first: int, max_samples: int) -> tuple[bytes, int]:
    """STREAM_DATA8 body for samples from `first`: (body, count).  Each sample is
    a signed byte delta from the previous one (the sample before `first`, 0 at
    the stream start) or the escape 0x80 + int16le when |delta| > 127."""
    seg = np.asarray(x[first:first + max_samples], dtype=np.int64)
    prev = int(x[first - 1]) if first > 0 else 0
    d = np.diff(np.concatenate([[prev], seg]))
    small = np.abs(d) <= 127
    cost = np.where(small, 1, 3)
    n = int(np.searchsorted(np.cumsum(cost), DELTA_MAX_PAYLOAD, side="right"))
    n = max(1, min(n, seg.size))
    out = bytearray(struct.pack("<IH", first, n))
    for k in range(n):
        if small[k]:
            out.append(int(d[k]) & 0xFF)
        else:
            out.append(DELTA_ESCAPE)
            out += struct.pack("<h", int(seg[k]))
    return bytes(out), n


@dataclass
class Ack:
    status: int
    next: int
    events: int

    @classmethod
    def parse(cls, body: bytes) -> "Ack":
        if len(body) != 9:
            raise TinyEcgError(f"STREAM_DATA ack of {len(body)} bytes, expected 9")
        return cls(*struct.unpack("<BII", body))


STATS = struct.Struct("<BBBB6I5Q")
STATS_FIELDS = ("active", "flags", "n_classes", "_r", "samples", "events", "gaps", "duplicates",
                "rx_overruns", "max_beat_units", "dsp_units", "beat_units", "elapsed_units", "asleep_units",
                "rhythm_units")


def parse_stats(body: bytes) -> dict:
    if len(body) != STATS.size:
        raise TinyEcgError(f"stream statistics of {len(body)} bytes, expected {STATS.size}")
    d = dict(zip(STATS_FIELDS, STATS.unpack(body)))
    d.pop("_r")
    return d


@dataclass
class BeatEvent:
    seq: int
    r: int                 # raw sample index (360 Hz) of the R peak
    cls: int
    confidence: int        # top score - zero point, 0..255 (/256)
    uncertain: bool
    scores: tuple
    units: int             # counter units (instructions on QEMU) spent classifying it
    pre: int
    post: int
    inputs: bytes | None = None

    @classmethod
    def parse(cls, body: bytes) -> "BeatEvent":
        if len(body) < 12:
            raise TinyEcgError(f"BEAT event of {len(body)} bytes is too short")
        seq, r, c, conf, flags, n = struct.unpack_from("<IIBBBB", body)
        need = 12 + n + 8
        if len(body) < need:
            raise TinyEcgError(f"BEAT event of {len(body)} bytes, expected at least {need}")
        scores = tuple(np.frombuffer(body, dtype=np.int8, count=n, offset=12).tolist())
        units, pre, post = struct.unpack_from("<IHH", body, 12 + n)
        rest = body[need:]
        return cls(seq, r, c, conf, bool(flags & 1), scores, units, pre, post, rest or None)


@dataclass
class RhythmEvent:
    """A RHYTHM event (docs/rhythm.md): `t` and a run's last R (`b`) in raw samples."""
    seq: int
    kind: int
    t: int
    a: int
    b: int
    c: int
    d: int
    e: int
    f: int

    WIRE = struct.Struct("<IBI6i")

    @classmethod
    def parse(cls, body: bytes) -> "RhythmEvent":
        if len(body) != cls.WIRE.size:
            raise TinyEcgError(f"RHYTHM event of {len(body)} bytes, expected {cls.WIRE.size}")
        return cls(*cls.WIRE.unpack(body))

    def values(self) -> tuple:
        return (self.kind, self.t, self.a, self.b, self.c, self.d, self.e, self.f)


def rhythm_wire(ev: R.Event) -> tuple:
    """A tinyecg.rhythm event as the device sends it (times in raw samples)."""
    def raw(j):                                      # j = 0 (the first HRV window) is raw 0, not -2
        return int(P.j_to_raw(j)) if j > 0 else 0
    b = raw(ev.b) if ev.kind == R.RUN else ev.b
    return (ev.kind, raw(ev.t), ev.a, b, ev.c, ev.d, ev.e, ev.f)


@dataclass
class StreamResult:
    info: StartInfo
    events: list = field(default_factory=list)       # BeatEvent
    rhythm: list = field(default_factory=list)       # RhythmEvent
    stats: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)       # (code, offending type, text) of ERROR frames
    resends: int = 0
    out_of_order_events: int = 0
    seconds: float = 0.0


def _frame_ready(dev: Device) -> bool:
    return bool(dev._pending) or dev.port.in_waiting > 0


def stream_samples(dev: Device, x, flags: int = 0, realtime: bool = False, fs: float = P.FS_IN,
                   progress=None, inject=None, stall_timeout: float = 3.0, encoding: str = "delta8") -> StreamResult:
    """Send the int16 samples `x` through the device's pipeline; collect every BEAT event.

    Flow control: at most ``credits`` STREAM_DATA frames are unanswered.  Every
    answer (ACK) frees one; frames lost to line noise are detected when a later
    answer arrives (answers come in order) or by a STATUS probe after
    `stall_timeout`, and everything from the device's ``next`` is resent
    (go-back-N; an epoch number keeps stale "gap" answers from rewinding twice).
    `inject` = (sample_index, fn): once the samples before `sample_index` are
    sent and answered, ``fn(dev)`` is called (tests send garbage mid-stream).  `progress(n_confirmed)` is called as samples are
    acknowledged.
    """
    x = np.asarray(x, dtype=np.int16)
    N = int(x.size)
    t_start = time.monotonic()
    rep = dev.request(STREAM_START, bytes([flags]), allow_error=True)
    if rep.is_error:
        raise DeviceError(rep)
    info = StartInfo.parse(rep.body)
    res = StreamResult(info)
    if encoding not in ("delta8", "raw"):
        raise TinyEcgError(f"unknown sample encoding '{encoding}' (delta8 or raw)")
    cap = info.max_delta_samples if encoding == "delta8" else info.max_samples
    chunk = cap if not realtime else max(1, min(cap, int(fs) // 10))
    le = x.astype("<i2")
    inflight: collections.OrderedDict[int, tuple[int, int, int]] = collections.OrderedDict()  # seq -> (first, n, epoch)
    epoch = 0
    send_next = 0          # next sample index to send
    confirmed = 0          # device's `next` as last reported
    probe_seq = None
    injected = False
    t_last_answer = time.monotonic()
    t0_wall = time.monotonic()

    def rewind(to: int):
        nonlocal send_next, epoch
        if to < send_next:
            res.resends += send_next - to
            send_next = to
            epoch += 1

    def retire_until(seq: int):
        """Answers arrive in order: frames sent before `seq` with no answer were lost."""
        while inflight:
            s = next(iter(inflight))
            if s == seq:
                return inflight.pop(s)
            inflight.pop(s)
        return None

    def handle(fr: Frame):
        nonlocal confirmed, probe_seq, t_last_answer
        if fr.type in (STREAM_BEAT, STREAM_RHYTHM):
            # BEAT and RHYTHM events share one sequence: a gap is a lost event of either kind
            ev = BeatEvent.parse(fr.body) if fr.type == STREAM_BEAT else RhythmEvent.parse(fr.body)
            if ev.seq != len(res.events) + len(res.rhythm):
                res.out_of_order_events += 1
            (res.events if fr.type == STREAM_BEAT else res.rhythm).append(ev)
            return
        if fr.type == Msg.BOOT:
            raise TinyEcgError("the device reset during the stream (BOOT frame received)")
        if fr.type == Msg.FAULT:
            raise TinyEcgError(f"the device faulted during the stream: {fr.kv()}")
        if fr.is_error:
            # Recorded only: a malformed frame's seq cannot be trusted, and a refused
            # chunk is retired like a lost one when a later answer arrives.
            code, ref, text = fr.error()
            res.errors.append((int(code), ref, text))
            if fr.seq == probe_seq and fr.seq != SEQ_NONE:
                raise DeviceError(fr)
            return
        if fr.type in (STREAM_DATA | REPLY, STREAM_DATA8 | REPLY):
            t_last_answer = time.monotonic()
            ent = retire_until(fr.seq) if fr.seq in inflight else None
            ack = Ack.parse(fr.body)
            confirmed = max(confirmed, ack.next)
            if ack.status == ACK_GAP and ent is not None and ent[2] == epoch:
                rewind(ack.next)
            if progress:
                progress(confirmed)
            return
        if fr.type == (STREAM_STATUS | REPLY) and fr.seq == probe_seq:
            t_last_answer = time.monotonic()
            probe_seq = None
            st = parse_stats(fr.body)
            inflight.clear()                   # everything sent before the probe is answered or lost
            confirmed = max(confirmed, st["samples"])
            rewind(st["samples"])
            return
        # anything else (stray replies) is ignored

    while True:
        while _frame_ready(dev):
            handle(dev.recv(timeout=5.0))
        if confirmed >= N and not inflight and probe_seq is None:
            break
        want_inject = inject is not None and not injected and send_next >= inject[0]
        if want_inject and not inflight and probe_seq is None:
            inject[1](dev)                     # the ring is drained: the burst has it to itself
            injected = True
            continue
        if send_next < N and len(inflight) < info.credits and probe_seq is None and not want_inject:
            n = min(chunk, N - send_next)
            if realtime:
                due = t0_wall + (send_next + n) / fs
                wait = due - time.monotonic()
                if wait > 0:
                    # answer what arrives while waiting
                    try:
                        handle(dev.recv(timeout=wait))
                    except DeviceTimeout:
                        pass
                    continue
            if encoding == "delta8":
                body, n = encode_delta8(x, send_next, n)
                seq = dev.send(STREAM_DATA8, body)
            else:
                body = struct.pack("<I", send_next) + le[send_next:send_next + n].tobytes()
                seq = dev.send(STREAM_DATA, body)
            inflight[seq] = (send_next, n, epoch)
            send_next += n
            continue
        try:
            handle(dev.recv(timeout=stall_timeout))
        except DeviceTimeout:
            if time.monotonic() - t_last_answer >= stall_timeout:
                if probe_seq is not None:
                    raise TinyEcgError(f"device on {dev.url} stopped answering during the stream")
                probe_seq = dev.send(STREAM_STATUS)
                t_last_answer = time.monotonic()
    stop = dev.request(STREAM_STOP, timeout=10.0)
    # events sent before the STOP reply are already in; stray ones went to unsolicited
    for fr in list(dev.unsolicited):
        if fr.type in (STREAM_BEAT, STREAM_RHYTHM):
            dev.unsolicited.remove(fr)
            handle(fr)
    res.stats = parse_stats(stop.body)
    res.seconds = time.monotonic() - t_start
    return res


# ------------------------------------------------------------- host reference
@dataclass
class HostBeats:
    r: np.ndarray            # raw sample index of each beat's R
    cls: np.ndarray
    scores: np.ndarray       # (n, C) int8
    confidence: np.ndarray
    uncertain: np.ndarray
    inputs: np.ndarray       # (n, 136) int8, in the model's input order
    pre: np.ndarray
    post: np.ndarray


def host_reference(x, model, uncertain_below: int) -> HostBeats:
    """The device's computation in Python: chain (vectorised twin of the streaming
    reference), the patient-adaptive stage (:mod:`tinyecg.features`) and
    tflite_micro on the same int8 inputs."""
    w = P.frontend_block(np.asarray(x, dtype=np.int16))
    r = P.detect_block(w)
    b = P.beats_block(w, r)
    b["diff"], b["extra"] = F.features_block(b)
    qw, qf = model.inputs(*F.inputs(b))
    scores = model.scores_q(qw, qf)
    conf = model.confidence(scores) if len(scores) else np.zeros(0, dtype=np.int64)
    qw = qw.reshape(len(qw), -1)                       # (beat, sample, channel) order, as the device
    order = [qw, qf] if model.quant.wave_index == 0 else [qf, qw]
    inputs = (np.concatenate(order, axis=1) if len(qw)
              else np.zeros((0, model.quant.input_bytes), dtype=np.int8))
    cls = (R.report_classes(b["r"], np.argmax(scores, axis=1), b["pre"]) if len(scores)
           else np.zeros(0, int))                     # as the device reports them (no S inside AF)
    return HostBeats(r=P.j_to_raw(b["r"]), cls=cls,
                     scores=scores, confidence=conf, uncertain=conf < uncertain_below, inputs=inputs,
                     pre=b["pre"], post=b["post"])


def host_rhythm(host: HostBeats) -> list[tuple]:
    """The rhythm events the device must send for the host's beats, as wire tuples."""
    beats = zip(P.raw_to_j(host.r).tolist(), np.asarray(host.cls).tolist(), np.asarray(host.pre).tolist())
    return [rhythm_wire(e) for e in R.Rhythm().run(beats)]


def compare_rhythm(events: list, host: list) -> tuple[int, list]:
    """RHYTHM events where the device and the host differ, plus missing/extra ones."""
    bad = [i for i, (ev, h) in enumerate(zip(events, host)) if ev.values() != tuple(h)]
    return len(bad) + abs(len(events) - len(host)), bad[:20]


def compare_host_device(events: list, host: HostBeats) -> tuple[int, list]:
    """Beats where the device and the host differ (R, class, scores, confidence, flag,
    RR, and the int8 model inputs when the device sent them), plus missing/extra beats."""
    bad = []
    for i, ev in enumerate(events[:len(host.r)]):
        diffs = []
        if ev.r != int(host.r[i]):
            diffs.append("r")
        if ev.cls != int(host.cls[i]):
            diffs.append("class")
        if tuple(ev.scores) != tuple(int(s) for s in host.scores[i]):
            diffs.append("scores")
        if ev.confidence != int(host.confidence[i]) or ev.uncertain != bool(host.uncertain[i]):
            diffs.append("confidence")
        if ev.pre != int(host.pre[i]) or ev.post != int(host.post[i]):
            diffs.append("rr")
        if ev.inputs is not None and bytes(ev.inputs) != host.inputs[i].astype(np.int8).tobytes():
            diffs.append("inputs")
        if diffs:
            bad.append((i, diffs))
    extra = abs(len(events) - len(host.r))
    return len(bad) + extra, bad[:20]


# -------------------------------------------------------------------- scoring
def score(ref_r, ref_sym, det_r, det_cls, fs: float = P.FS_IN, start_s: float = EC57_START_SECONDS) -> dict:
    """A record's EC57 beat-by-beat figures (:mod:`tinyecg.ec57`): reference MIT
    symbols against the device's classes, from `start_s` on."""
    cmp_ = ec57.compare(ref_r, ec57.aami_labels(ref_sym), det_r, det_cls, fs, start_s=start_s)
    return cmp_.statistics()


# ---------------------------------------------------------------------- power
def power_estimate(compute_units: int, seconds: float, clock_hz: float, run_ma: float, sleep_ua: float,
                   battery_mah: float, asleep_fraction: float | None = None) -> dict:
    """CPU duty cycle from the counter units the pipeline spent per second of ECG,
    at `clock_hz` (1 counter unit = 1 cycle: on QEMU the unit is an instruction,
    so real Cortex-M4 cycles are this times its CPI, ~1.1-1.5), and the average
    current and battery life for a run/sleep current profile (CPU only)."""
    if seconds <= 0 or clock_hz <= 0:
        raise TinyEcgError("power estimate needs a positive duration and clock")
    duty = compute_units / (clock_hz * seconds)
    avg_ma = duty * run_ma + (1.0 - duty) * sleep_ua / 1000.0
    life_h = battery_mah / avg_ma if avg_ma > 0 else float("inf")
    out = {"clock_hz": clock_hz, "run_ma": run_ma, "sleep_ua": sleep_ua, "battery_mah": battery_mah,
           "units_per_second": round(compute_units / seconds), "duty_cycle_pct": round(100 * duty, 3),
           "avg_current_ma": round(avg_ma, 4), "battery_hours": round(life_h, 1),
           "meets_24h": bool(life_h >= 24.0), "margin_vs_24h": round(life_h / 24.0, 2)}
    if asleep_fraction is not None:
        out["measured_wfi_pct"] = round(100 * asleep_fraction, 2)
    return out


# ---------------------------------------------------------------- WFDB output
def write_annotations(path_base: Path, events: list, fs_record: float, extension: str = "tecg") -> Path:
    """Beat events as a WFDB annotation file `<path_base>.<extension>` (wfdb.rdann reads it).

    Samples are at the record's own rate; the aux note carries the confidence
    and, for flagged beats, ``uncertain``."""
    import wfdb
    path_base = Path(path_base)
    scale = fs_record / P.FS_IN
    samples = np.array([int(round(ev.r * scale)) for ev in events], dtype=np.int64)
    keep = samples >= 0
    symbols = [CLASS_SYMBOLS[ev.cls] if 0 <= ev.cls < len(CLASS_SYMBOLS) else "Q" for ev in events]
    aux = [f"conf={ev.confidence}/256" + (" uncertain" if ev.uncertain else "") for ev in events]
    path_base.parent.mkdir(parents=True, exist_ok=True)
    if not keep.any():
        samples, symbols, aux = np.array([0]), ["+"], ["no beats"]
    else:
        samples = samples[keep]
        symbols = [s for s, k in zip(symbols, keep) if k]
        aux = [a for a, k in zip(aux, keep) if k]
    fsr = int(round(fs_record)) if abs(fs_record - round(fs_record)) < 1e-9 else fs_record
    wfdb.wrann(path_base.name, extension, samples, symbol=symbols, aux_note=aux, fs=fsr,
               write_dir=str(path_base.parent))
    return path_base.parent / f"{path_base.name}.{extension}"


#: Aux notes written for rhythm changes (WFDB rhythm notation, as MIT-BIH's own).
RUN_NOTES = {1: "(SVTA", 2: "(VT"}


def write_rhythm_annotations(path_base: Path, events: list, fs_record: float, extension: str = "trhy") -> Path:
    """RHYTHM events as a WFDB annotation file `<path_base>.<extension>` (wfdb.rdann reads it).

    Rhythm changes are '+' annotations with MIT-BIH's aux notes: "(AFIB" at an
    AF onset and "(N" at its offset; a run of >= 3 ectopic beats "(VT" or
    "(SVTA" at its first beat and "(N" after its last (couplets: a note
    "VCOUPLET"/"SCOUPLET"). Measurements are notes ('"'): "HR 72.5" every 10 s,
    "HRV n=.. meanNN=..ms SDNN=..ms RMSSD=..ms pNN50=..%" every 5 minutes."""
    import wfdb
    path_base = Path(path_base)
    scale = fs_record / P.FS_IN
    ms = 1000.0 / (256 * R.FS)                       # Q8 samples at 180 Hz -> ms
    rows = []
    for ev in events:
        if ev.kind == R.AF_ON:
            rows.append((ev.t, "+", "(AFIB"))
        elif ev.kind == R.AF_OFF:
            rows.append((ev.t, "+", "(N"))
        elif ev.kind == R.RUN and ev.c >= 3:
            rows += [(ev.t, "+", RUN_NOTES.get(ev.a, "(?")), (ev.b + 1, "+", "(N")]
        elif ev.kind == R.RUN:
            rows.append((ev.t, '"', ("V" if ev.a == 2 else "S") + "COUPLET"))
        elif ev.kind == R.HR:
            rows.append((ev.t, '"', f"HR {ev.a / 10:.1f}"))
        elif ev.kind == R.HRV:
            rows.append((ev.t, '"', f"HRV n={ev.b} meanNN={ev.c * ms:.1f}ms SDNN={ev.d * ms:.1f}ms "
                                    f"RMSSD={ev.e * ms:.1f}ms pNN50={ev.f / 10:.1f}%"))
    rows.sort(key=lambda x: x[0])
    if not rows:
        rows = [(0, '"', "no rhythm events")]
    samples = np.array([max(0, int(round(t * scale))) for t, _, _ in rows], dtype=np.int64)
    path_base.parent.mkdir(parents=True, exist_ok=True)
    fsr = int(round(fs_record)) if abs(fs_record - round(fs_record)) < 1e-9 else fs_record
    wfdb.wrann(path_base.name, extension, samples, symbol=[r[1] for r in rows], aux_note=[r[2] for r in rows],
               fs=fsr, write_dir=str(path_base.parent))
    return path_base.parent / f"{path_base.name}.{extension}"


def rhythm_report(rec: "StreamRecord", rhythm: list, beats: list, score_from: float) -> dict:
    """The `rhythm` part of a report: what the device said, and (with reference
    annotations) its EC57 scores: HR error, VEB/SVEB runs by length, AF episodes."""
    ms = 1000.0 / (256 * R.FS)
    hr = [ev for ev in rhythm if ev.kind == R.HR]
    runs = {name: [(ev.t, ev.b, ev.c) for ev in rhythm if ev.kind == R.RUN and ev.a == cls]
            for name, cls in (("veb", R.CLS_V), ("sveb", R.CLS_S))}
    end = int(max([ev.r for ev in beats] + [0])) + 1
    af_eps = R.af_episodes(rhythm, end)
    out = {
        "definitions": {
            "hr": "bpm = 60 / mean of the last 8 RR intervals, one measurement every 10 s (docs/rhythm.md)",
            "runs": "rxr-style: >= 2 consecutive beats of one class; couplet 2, short 3-5, long >= 6; "
                    "a reference run is found when a device run of the same class overlaps it (150 ms)",
            "af": "epicmp-style: episode Se/+P by any overlap, duration Se/+P by overlapping time; "
                  "reference = (AFIB rhythm notes; scored from the learning period on",
            "hrv": "5-minute windows of NN intervals (N-N beat pairs); ms"},
        "device": {
            "hr_measurements": len(hr),
            "veb_runs": {k: sum(1 for x in runs["veb"] if ec57._length_class(x[2]) == k) for k in ec57.RUN_LENGTHS},
            "sveb_runs": {k: sum(1 for x in runs["sveb"] if ec57._length_class(x[2]) == k) for k in ec57.RUN_LENGTHS},
            "af_episodes": len(af_eps),
            "af_seconds": round(sum(b - a for a, b in af_eps) / P.FS_IN, 1),
            "hrv": [{"window": ev.a, "start_s": round(ev.t / P.FS_IN, 1), "n_nn": ev.b,
                     "mean_nn_ms": round(ev.c * ms, 2), "sdnn_ms": round(ev.d * ms, 2),
                     "rmssd_ms": round(ev.e * ms, 2), "pnn50_pct": ev.f / 10} for ev in rhythm if ev.kind == R.HRV],
        },
    }
    if rec.ref_r is None:
        return out
    import wfdb
    labels = ec57.aami_labels(rec.ref_sym)
    out["hr"] = ec57.heart_rate_error(rec.ref_r, [ev.t for ev in hr], [ev.a / 10 for ev in hr], P.FS_IN,
                                      score_from)
    out["runs"] = {kind: ec57.run_statistics(ec57.label_runs(rec.ref_r, labels, lab), runs[kind], P.FS_IN,
                                             score_from)
                   for kind, lab in (("veb", "V"), ("sveb", "S"))}
    try:
        ann = wfdb.rdann(str(rec.path), "atr")
        ref_af = ec57.rhythm_episodes(ann.sample * (P.FS_IN / rec.fs), ann.aux_note, rec.signal.size)
    except Exception as exc:  # noqa: BLE001 -- a record without readable rhythm notes has no AF reference
        raise TinyEcgError(f"record {rec.name}: rhythm notes unreadable ({exc})") from None
    out["af"] = ec57.episode_statistics(ref_af, af_eps, P.FS_IN, score_from)
    return out


# ------------------------------------------------------------------ records
@dataclass
class StreamRecord:
    name: str
    fs: float                # the record's own rate
    signal: np.ndarray       # int16 at 360 Hz, 200 adu/mV (what is streamed)
    ref_r: np.ndarray | None  # reference beat samples at 360 Hz (None: no annotations)
    ref_sym: np.ndarray | None
    path: Path | None = None  # the record (dir/name), for its rhythm annotations


def load_stream_record(path: str, data_dir=None, lead: str = "MLII") -> StreamRecord:
    """A WFDB record by path (``dir/100``, ``dir/100.hea``) or by MIT-BIH number."""
    import wfdb
    p = Path(path)
    if p.suffix in (".hea", ".dat", ".atr"):
        p = p.with_suffix("")
    if p.parent == Path(".") and not p.with_suffix(".hea").exists():
        ddir, name = D.resolve_data_dir(data_dir), p.name
    else:
        ddir, name = p.parent, p.name
    if not (ddir / f"{name}.hea").is_file():
        raise TinyEcgError(f"record {path}: no {name}.hea in {ddir}")
    try:
        hdr = wfdb.rdheader(str(ddir / name))
    except Exception as exc:
        raise TinyEcgError(f"record {path}: unreadable header ({type(exc).__name__}: {exc})") from None
    fs = float(hdr.fs)
    if (ddir / f"{name}.atr").is_file():
        r = D.load_record(name, ddir, lead)
        return StreamRecord(name, fs, r.signal, r.r_samples, r.symbols, ddir / name)
    # no reference annotations: stream it, but nothing to score against
    try:
        rec = wfdb.rdrecord(str(ddir / name), physical=False)
    except Exception as exc:
        raise TinyEcgError(f"record {path}: unreadable ({type(exc).__name__}: {exc})") from None
    names = list(rec.sig_name or [])
    ch = names.index(lead) if lead in names else 0
    x = rec.d_signal[:, ch].astype(np.float64)
    mv = (x - float(rec.adc_zero[ch])) / (float(rec.adc_gain[ch]) or D.ADC_GAIN)
    if round(fs) != P.FS_IN:
        mv = D._resample(mv, fs, P.FS_IN)
    sig = np.clip(np.round(mv * D.ADC_GAIN) + 1024, -32768, 32767).astype(np.int16)
    return StreamRecord(name, fs, sig, None, None)


# ------------------------------------------------------------------- the job
DEFAULT_MODEL = D.repo_root() / "models" / "arrhythmia" / "model_int8.tflite"
POWER_DEFAULTS = {"run_ma": 3.0, "sleep_ua": 900.0, "battery_mah": 100.0}


def device_model_id(dev: Device) -> str:
    return dev.info().get("model", "none")


def run(record: str, dev: Device, model_path=None, realtime: bool = False, check_inputs: bool = False,
        data_dir=None, score_from: float = EC57_START_SECONDS, clock_hz: float | None = None,
        run_ma: float = POWER_DEFAULTS["run_ma"], sleep_ua: float = POWER_DEFAULTS["sleep_ua"],
        battery_mah: float = POWER_DEFAULTS["battery_mah"], progress: bool = False, inject=None,
        ann_base: Path | None = None, encoding: str = "delta8", stall_timeout: float = 3.0) -> dict:
    """Stream one record through `dev`, compare with the host, score; the report dict.
    `stall_timeout`: seconds without an answer before a STATUS probe (stream_samples)."""
    from .calibrate import Int8Model

    rec = load_stream_record(record, data_dir)
    info = dev.info()
    mp = Path(model_path) if model_path else DEFAULT_MODEL
    if not mp.is_file():
        raise TinyEcgError(f"model {mp} not found: the host needs the .tflite the device runs (--model)")
    model = Int8Model(mp.read_bytes())
    if info.get("model") != model.model_id:
        raise TinyEcgError(f"the device runs model {info.get('model')}, {mp.name} is {model.model_id}: "
                           "build the firmware from it (tools/convert.py) or pass --model")
    x = P.with_tail(rec.signal)      # the recording's end: the last beats still come out
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=int(x.size), unit="smp", unit_scale=True, desc=f"stream {rec.name}", dynamic_ncols=True)

    def prog(n):
        if bar is not None:
            bar.update(n - bar.n)

    try:
        res = stream_samples(dev, x, FLAG_INPUTS if check_inputs else 0, realtime, P.FS_IN, prog, inject,
                             stall_timeout=stall_timeout, encoding=encoding)
    finally:
        if bar is not None:
            bar.close()
    host = host_reference(x, model, res.info.uncertain_below)
    mismatches, examples = compare_host_device(res.events, host)
    rh_mismatches, rh_examples = compare_rhythm(res.rhythm, host_rhythm(host))
    st = res.stats
    lost = max(0, int(st["events"]) - len(res.events) - len(res.rhythm)) + res.out_of_order_events
    seconds_ecg = x.size / P.FS_IN
    units_per_beat = [ev.units for ev in res.events]
    compute = int(st["dsp_units"] + st["beat_units"])
    clock = float(clock_hz or info.get("clock_hz", 0) or 0)
    asleep = st["asleep_units"] / st["elapsed_units"] if st["elapsed_units"] else None
    power = power_estimate(compute, seconds_ecg, clock, run_ma, sleep_ua, battery_mah, asleep)
    report = {
        "record": rec.name,
        "fs": rec.fs,
        "samples_sent": int(x.size),
        "tail_samples": int(x.size - rec.signal.size),
        "beats_reference": int(len(rec.ref_r)) if rec.ref_r is not None else None,
        "beats_detected": int(len(host.r)),
        "events_received": len(res.events),
        "lost_events": int(lost),
        "uncertain": int(sum(ev.uncertain for ev in res.events)),
        "qrs": {"se": None, "ppv": None},
        "veb": {"se": None, "ppv": None, "fpr": None},
        "sveb": {"se": None, "ppv": None},
        "classes": {c: {"se": None, "ppv": None} for c in D.CLASSES},
        "rhythm_events_received": len(res.rhythm),
        "host_device_mismatches": int(mismatches + rh_mismatches),
        "rhythm_mismatches": int(rh_mismatches),
        "device_instructions_per_beat": round(float(np.mean(units_per_beat))) if units_per_beat else None,
        "seconds": round(res.seconds, 2),
    }
    if rec.ref_r is not None:
        det_r = np.array([ev.r for ev in res.events], dtype=np.int64)
        det_c = np.array([ev.cls for ev in res.events], dtype=np.int64)
        sc = score(rec.ref_r, rec.ref_sym, det_r, det_c, P.FS_IN, score_from)
        whole = score(rec.ref_r, rec.ref_sym, det_r, det_c, P.FS_IN, 0.0)
        report["qrs"] = {k: sc["qrs"][k] for k in ("se", "ppv")}
        report["veb"] = {k: sc["veb"][k] for k in ("se", "ppv", "fpr")}
        report["sveb"] = {k: sc["sveb"][k] for k in ("se", "ppv")}
        report["classes"] = {c: {"se": v["se"], "ppv": v["ppv"]} for c, v in sc["classes"].items()}
        report["scoring"] = {"standard": "ANSI/AAMI EC57 beat-by-beat (tinyecg.ec57, WFDB bxb conventions)",
                             "match_ms": sc["scoring"]["match_ms"], "from_seconds": score_from,
                             "matrix": sc["matrix"], "matrix_labels": list(ec57.LABELS),
                             "counts": {"reference": sc["qrs"]["tp"] + sc["qrs"]["fn"],
                                        "detected": sc["qrs"]["tp"] + sc["qrs"]["fp"], "matched": sc["qrs"]["tp"],
                                        "missed": sc["qrs"]["fn"], "false": sc["qrs"]["fp"]},
                             "class_n": {c: v["n"] for c, v in sc["classes"].items()},
                             "rr_rms_error_ms": sc["rr_rms_error_ms"],
                             "whole_record": {"matrix": whole["matrix"],
                                              "qrs": {k: whole["qrs"][k] for k in ("se", "ppv")}}}
    report["rhythm"] = rhythm_report(rec, res.rhythm, res.events, score_from)
    report["device"] = {
        "board": info.get("board"), "model": info.get("model"), "counter": info.get("counter"),
        "stream_samples": st["samples"], "stream_events": st["events"], "rx_overruns": st["rx_overruns"],
        "gaps": st["gaps"], "duplicates": st["duplicates"], "resent_samples": res.resends,
        "error_frames": len(res.errors), "chain_units_per_sample": round(st["dsp_units"] / max(1, st["samples"]), 1),
        "max_beat_units": st["max_beat_units"], "uncertain_below": res.info.uncertain_below,
        "rhythm_units_per_beat": round(st["rhythm_units"] / len(res.events), 1) if res.events else None,
        "realtime": realtime, "inputs_checked": check_inputs, "encoding": encoding,
        "stream_speed_x_realtime": round(seconds_ecg / res.seconds, 1) if res.seconds else None,
    }
    if examples:
        report["mismatch_examples"] = [{"beat": i, "differs": d} for i, d in examples]
    if rh_examples:
        report["rhythm_mismatch_examples"] = rh_examples
    report["power"] = power
    if ann_base is not None:
        report["annotations"] = str(write_annotations(ann_base, res.events, rec.fs))
        report["rhythm_annotations"] = str(write_rhythm_annotations(ann_base, res.rhythm, rec.fs))
    return report


def summary_lines(rep: dict) -> list[str]:
    f = ec57.fmt
    d, pw = rep["device"], rep["power"]
    lines = [f"record {rep['record']} ({rep['fs']:g} Hz): {rep['samples_sent']} samples streamed in "
             f"{rep['seconds']:.1f} s ({d['stream_speed_x_realtime']}x real time) to {d['board']}, model {d['model']}",
             f"beats: reference {rep['beats_reference']}, detected {rep['beats_detected']}, events "
             f"{rep['events_received']}, lost {rep['lost_events']}, host/device mismatches "
             f"{rep['host_device_mismatches']}, uncertain {rep['uncertain']}"]
    if "scoring" in rep:
        s = rep["scoring"]
        lines.append(f"EC57 (from {s['from_seconds']:g} s, {s['match_ms']} ms match): QRS Se {f(rep['qrs']['se'])}  "
                     f"+P {f(rep['qrs']['ppv'])}   (whole record: Se {f(s['whole_record']['qrs']['se'])}  "
                     f"+P {f(s['whole_record']['qrs']['ppv'])})")
        v, sv = rep["veb"], rep["sveb"]
        lines.append(f"  VEB Se {f(v['se'])} +P {f(v['ppv'])} FPR {f(v['fpr'], 6, 3)}   SVEB Se {f(sv['se'])} "
                     f"+P {f(sv['ppv'])}   (EC57: reference F beats called V are not VEB false positives)")
        lines.append("  class  n      Se     +P")
        for c, v in rep["classes"].items():
            lines.append(f"  {c:5s} {s['class_n'][c]:5d} {f(v['se'])} {f(v['ppv'])}")
    lines.append(f"device: {rep['device_instructions_per_beat']} {d['counter']}/beat classifying (max "
                 f"{d['max_beat_units']}), {d['chain_units_per_sample']} per sample in the signal chain; "
                 f"{d['error_frames']} error frames, {d['resent_samples']} samples resent, "
                 f"{d['rx_overruns']} RX overruns")
    lines.append(f"power: {pw['units_per_second']} {d['counter']}/s of ECG = {pw['duty_cycle_pct']:.3f} % duty at "
                 f"{pw['clock_hz'] / 1e6:g} MHz; {pw['run_ma']} mA run / {pw['sleep_ua']:g} uA sleep -> "
                 f"{pw['avg_current_ma']:.3f} mA average, {pw['battery_hours']:.0f} h on {pw['battery_mah']:g} mAh "
                 f"({'meets' if pw['meets_24h'] else 'MISSES'} the 24 h wearable target, "
                 f"{pw['margin_vs_24h']}x)")
    rh = rep.get("rhythm")
    if rh:
        dv = rh["device"]
        lines.append(f"rhythm: {rep['rhythm_events_received']} events ({rep['rhythm_mismatches']} host/device "
                     f"mismatches), {dv['hr_measurements']} HR, VEB runs {dv['veb_runs']}, SVEB runs "
                     f"{dv['sveb_runs']}, {dv['af_episodes']} AF episodes ({dv['af_seconds']} s), "
                     f"{len(dv['hrv'])} HRV windows; {d.get('rhythm_units_per_beat')} {d['counter']}/beat")
        if "hr" in rh:
            a = rh["af"]
            runs = "  ".join(f"{k} {f(v['se'])}/{f(v['ppv'])} ({v['reference']})"
                             for k, v in rh["runs"]["veb"].items())
            lines.append(f"  HR error {rh['hr']['mean_abs_error_bpm']} bpm mean abs ({rh['hr']['measurements']} "
                         f"measurements); VEB runs Se/+P (n ref): {runs}")
            lines.append(f"  AF: reference {a['reference_seconds']} s in {a['reference_episodes']} episodes, device "
                         f"{a['detected_seconds']} s in {a['detected_episodes']}; duration Se {f(a['duration_se'])} "
                         f"+P {f(a['duration_ppv'])}, episode Se {f(a['episode_se'])} +P {f(a['episode_ppv'])}")
    return lines


# --------------------------------------------------------- many-record table
def gross(reports: list, part: str | None = None) -> dict:
    """Gross (beat-summed) EC57 figures over several stream reports
    (`part="whole_record"`: without the learning period)."""
    mats = [(r["scoring"][part] if part else r["scoring"])["matrix"] for r in reports if r.get("scoring")]
    return ec57.gross(mats)


def format_table(reports: list) -> str:
    """Markdown table, one row per record, then EC57's gross and average rows."""
    def f(v):
        return "–" if v is None else f"{v:.2f}"
    stat_cols = [("qrs", "se"), ("qrs", "ppv"), ("veb", "se"), ("veb", "ppv"), ("veb", "fpr"),
                 ("sveb", "se"), ("sveb", "ppv")]
    head = ("| record | beats ref | events | lost | mismatches | uncertain | QRS Se | QRS +P | VEB Se | VEB +P | "
            "VEB FPR | SVEB Se | SVEB +P | " + " | ".join(f"{c} Se | {c} +P" for c in D.CLASSES)
            + " | instr/beat | chain instr/sample | wall s |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in reports:
        cl = r["classes"]
        lines.append(f"| {r['record']} | {r['beats_reference']} | {r['events_received']} | {r['lost_events']} | "
                     f"{r['host_device_mismatches']} | {r['uncertain']} | "
                     + " | ".join(f(r.get(g, {}).get(k)) for g, k in stat_cols) + " | "
                     + " | ".join(f"{f(cl[c]['se'])} | {f(cl[c]['ppv'])}" for c in D.CLASSES)
                     + f" | {r['device_instructions_per_beat']} | {r['device']['chain_units_per_sample']} | "
                       f"{r['seconds']:.1f} |")
    g = gross(reports)
    avg = ec57.average([ec57.beat_statistics(r["scoring"]["matrix"]) for r in reports if r.get("scoring")])
    tl = sum(r["lost_events"] for r in reports)
    tm = sum(r["host_device_mismatches"] for r in reports)
    ipb = np.average([r["device_instructions_per_beat"] for r in reports],
                     weights=[r["events_received"] for r in reports]) if reports else 0
    lines.append(f"| **gross** | {sum(r['beats_reference'] or 0 for r in reports)} | "
                 f"{sum(r['events_received'] for r in reports)} | "
                 f"{tl} | {tm} | {sum(r['uncertain'] for r in reports)} | "
                 + " | ".join(f"**{f(g[gr][k])}**" for gr, k in stat_cols) + " | "
                 + " | ".join(f"{f(g['classes'][c]['se'])} | {f(g['classes'][c]['ppv'])}" for c in D.CLASSES)
                 + f" | {ipb:.0f} | – | {sum(r['seconds'] for r in reports):.0f} |")
    lines.append("| average | | | | | | " + " | ".join(f(avg[gr][k]) for gr, k in stat_cols) + " | "
                 + " | ".join("| " for _ in D.CLASSES) + " | | |")
    return "\n".join(lines)


def format_rhythm_table(reports: list) -> str:
    """Markdown table of the rhythm figures, one row per record plus the gross total."""
    def f(v):
        return "–" if v is None else f"{v:.1f}"

    def runs(rr, kind):
        return " | ".join(f"{f(rr[kind][k]['se'])} / {f(rr[kind][k]['ppv'])} ({rr[kind][k]['reference']})"
                          for k in ec57.RUN_LENGTHS)
    head = ("| record | HR MAE bpm | VEB couplet Se/+P (n) | VEB short | VEB long | SVEB couplet | SVEB short | "
            "SVEB long | AF ref s | AF dev s | AF dur Se | AF dur +P | AF ep Se | AF ep +P | rhythm events | "
            "rhythm mismatches | rhythm instr/beat |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    scored = [r for r in reports if "hr" in r.get("rhythm", {})]
    for r in scored:
        rh, a = r["rhythm"], r["rhythm"]["af"]
        lines.append(f"| {r['record']} | {rh['hr']['mean_abs_error_bpm']} | {runs(rh['runs'], 'veb')} | "
                     f"{runs(rh['runs'], 'sveb')} | {a['reference_seconds']} | {a['detected_seconds']} | "
                     f"{f(a['duration_se'])} | {f(a['duration_ppv'])} | {f(a['episode_se'])} | "
                     f"{f(a['episode_ppv'])} | {r['rhythm_events_received']} | {r['rhythm_mismatches']} | "
                     f"{r['device']['rhythm_units_per_beat']} |")
    if scored:
        g = ec57.rhythm_gross([r["rhythm"] for r in scored])
        a = g["af"]
        lines.append(f"| **gross** | {g['hr']['mean_abs_error_bpm']} (worst {g['hr']['worst_record_mean_abs_error_bpm']}) | "
                     f"{runs(g['runs'], 'veb')} | {runs(g['runs'], 'sveb')} | {a['reference_seconds']} | "
                     f"{a['detected_seconds']} | {f(a['duration_se'])} | {f(a['duration_ppv'])} | "
                     f"{f(a['episode_se'])} | {f(a['episode_ppv'])} | "
                     f"{sum(r['rhythm_events_received'] for r in scored)} | "
                     f"{sum(r['rhythm_mismatches'] for r in scored)} | – |")
    return "\n".join(lines)


def _table_main(argv=None) -> int:
    import argparse
    import json
    ap = argparse.ArgumentParser(prog="python -m tinyecg.stream", description="Per-record table from stream reports")
    ap.add_argument("reports", nargs="+", help="JSON reports written by tools/stream.py")
    args = ap.parse_args(argv)
    reps = []
    for p in args.reports:
        try:
            reps.append(json.loads(Path(p).read_text()))
        except (OSError, ValueError) as exc:
            raise TinyEcgError(f"{p}: not a stream report ({exc})") from None
    print(format_table(reps))
    print()
    print(format_rhythm_table(reps))
    g = gross(reps)
    print(f"\ngross EC57 (from 5 min): QRS Se {g['qrs']['se']} +P {g['qrs']['ppv']}, VEB Se {g['veb']['se']} "
          f"+P {g['veb']['ppv']}, SVEB Se {g['sveb']['se']} +P {g['sveb']['ppv']} over {len(reps)} records, "
          f"{g['qrs']['tp'] + g['qrs']['fn']} reference beats scored")
    w = gross(reps, "whole_record")
    print(f"gross whole records: QRS Se {w['qrs']['se']} +P {w['qrs']['ppv']}, "
          f"{w['qrs']['tp'] + w['qrs']['fn']} reference beats")
    return 0


if __name__ == "__main__":
    from .cli import run_main
    run_main(_table_main)
