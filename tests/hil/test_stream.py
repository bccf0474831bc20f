"""The beat pipeline on the device: full DS2 records streamed, beat for beat equal to the host.

Runs against QEMU (default) or a flashed board (--port).  The firmware must
carry a beat classifier with its ``ecg_pipeline_config.h``: the shipped model
in firmware/model when it is one; otherwise (until the trained model lands)
a random-weight model of the same architecture, generated, converted and
built into a private build dir here (TINYECG_MODEL_DIR) -- detection,
flow control and host/device agreement do not depend on the weights.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest

from tinyecg import calibrate, convert, firmware, qemu
from tinyecg import data as D
from tinyecg import preprocess as P
from tinyecg import stream as S
from tinyecg.device import Device
from tinyecg.errors import TinyEcgError
from tinyecg.protocol import ErrorCode

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_TFLITE = ROOT / "models" / "arrhythmia" / "model_int8.tflite"
SHIPPED_DIR = ROOT / "firmware" / "model"
# Full 30-minute DS2 records with the fewest beats (the model dominates the time).
FULL_RECORDS = ("123", "117", "231")
QRS_TARGET = 99.5


def _record_or_skip(rec):
    """The record, or a failure that says how to get MIT-BIH (never a silent skip)."""
    try:
        return D.load_record(rec)
    except TinyEcgError as exc:
        pytest.fail(f"{exc} (the HIL stream tests need MIT-BIH: `make data`)")


def pytest_generate_tests(metafunc):
    """All full records on the default QEMU board (where the targets apply);
    one full record on any other board."""
    if "rec" in metafunc.fixturenames:
        on_default = metafunc.config.getoption("--env") == firmware.DEFAULT_ENV
        metafunc.parametrize("rec", FULL_RECORDS if on_default else FULL_RECORDS[:1])


def _shipped_pipeline_model() -> Path | None:
    """The shipped .tflite when firmware/model was generated from it, with its pipeline config."""
    import re
    hdr = SHIPPED_DIR / calibrate.HEADER_NAME
    if not (SHIPPED_TFLITE.is_file() and hdr.is_file() and (SHIPPED_DIR / "model_config.h").is_file()):
        return None
    mid = calibrate.Int8Model(SHIPPED_TFLITE.read_bytes()).model_id
    m = re.search(r'#define MODEL_ID "(\w+)"', (SHIPPED_DIR / "model_config.h").read_text())
    if m is None or m.group(1) != mid or f'"{mid}"' not in hdr.read_text():
        return None
    return SHIPPED_TFLITE


class Pipeline:
    def __init__(self, dev: Device, model: Path, board=None, env: str = firmware.DEFAULT_ENV):
        self.dev, self.model_path, self.board, self.env = dev, model, board, env
        self.model = calibrate.Int8Model(model.read_bytes())


@pytest.fixture(scope="module")
def pipe(request, tmp_path_factory):
    env = request.config.getoption("--env")
    port = request.config.getoption("--port")
    shipped = _shipped_pipeline_model()
    if port:
        if shipped is None:
            pytest.skip("the board's firmware needs the shipped beat classifier (firmware/model)")
        dev = Device(port, baud=request.config.getoption("--baud"))
        dev.sync()
        yield Pipeline(dev, shipped, None, env)
        dev.close()
        return
    if shipped is not None:
        from .conftest import build_once
        elf = build_once(env)
        model = shipped
    else:
        import importlib.util
        spec = importlib.util.spec_from_file_location("tinyecg_devmodel", ROOT / "tests" / "pipeline" / "devmodel.py")
        devmodel = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(devmodel)
        make_dev_model = devmodel.make_dev_model
        tmp = tmp_path_factory.mktemp("stream_fw")
        model = make_dev_model(tmp / "dev_model.tflite")
        convert.convert(model, env, tmp / "gen", measure_tflm=False)
        # a fixed threshold (the random model has nothing to calibrate) that flags some beats
        calibrate.write_header(calibrate.pipeline_config(model.read_bytes(), threshold=200), tmp / "gen")
        elf = firmware.build(env, model_dir=tmp / "gen", base=tmp / "build")
    board = qemu.boot(env, elf)
    dev = board.start()
    dev.sync()
    yield Pipeline(dev, model, board, env)
    board.close()


def _check_stream(res: S.StreamResult, host: S.HostBeats):
    assert res.out_of_order_events == 0
    seqs = sorted([ev.seq for ev in res.events] + [ev.seq for ev in res.rhythm])
    assert seqs == list(range(len(seqs)))                             # BEAT + RHYTHM: one sequence
    assert res.stats["events"] == len(seqs)                           # nothing lost
    mism, examples = S.compare_host_device(res.events, host)
    assert mism == 0, examples
    assert len(res.events) == len(host.r)
    rh_mism, rh_examples = S.compare_rhythm(res.rhythm, S.host_rhythm(host))
    assert rh_mism == 0, rh_examples
    assert len(res.rhythm) > 0
    assert res.stats["rx_overruns"] == 0


def test_full_ds2_record_streams_beat_for_beat(pipe, rec, tmp_path, record_property):
    r = _record_or_skip(rec)
    assert r.signal.size == 650000                                   # the whole 30 minutes
    rep = S.run(rec, pipe.dev, pipe.model_path, check_inputs=(rec == FULL_RECORDS[0]),
                ann_base=tmp_path / rec)
    assert rep["samples_sent"] == 650000 + P.TAIL_SAMPLES == 650000 + rep["tail_samples"]
    assert rep["lost_events"] == 0
    assert rep["host_device_mismatches"] == 0 and rep["rhythm_mismatches"] == 0
    assert rep["rhythm_events_received"] > 180                       # >= one HR per 10 s
    assert rep["rhythm"]["hr"]["mean_abs_error_bpm"] <= 2.0, rep["rhythm"]["hr"]
    assert rep["events_received"] == rep["beats_detected"] > 1400
    assert rep["device"]["stream_events"] == rep["events_received"] + rep["rhythm_events_received"]
    assert rep["device"]["rx_overruns"] == 0
    assert rep["qrs"]["se"] >= QRS_TARGET and rep["qrs"]["ppv"] >= QRS_TARGET, rep["qrs"]
    record_property("vectors", f"{rep['events_received']} beats")
    record_property("target", f"{rep['device']['board']} ({rep['device']['counter']})")
    assert rep["device_instructions_per_beat"] > 0
    assert 0 < rep["power"]["duty_cycle_pct"] < 100
    # the annotation file reads back with wfdb, one annotation per event
    import wfdb
    ann = wfdb.rdann(str(tmp_path / rec), "tecg")
    assert len(ann.sample) == rep["events_received"]
    assert set(ann.symbol) <= set(S.CLASS_SYMBOLS)
    rhy = wfdb.rdann(str(tmp_path / rec), "trhy")                    # rhythm events, aux notes
    assert sum(a.startswith("HR ") for a in rhy.aux_note) == rep["rhythm"]["device"]["hr_measurements"]
    # Wall time is a figure tools/stream.py prints, never a bound here: on a shared,
    # loaded 2-core machine the same stream took 45 s idle and 71 s loaded.
    print(f"\n{rec}: 30 min streamed in {rep['seconds']:.1f} s on {pipe.env}")


def test_garbage_burst_mid_stream_nothing_lost(pipe):
    x = _record_or_skip("100").signal[: 360 * 240]
    rng = np.random.default_rng(5)
    burst = rng.integers(0, 256, 700, dtype=np.uint8)
    burst[::50] = 0                                   # several "frames" of noise ...
    burst[-1] = 0x5A                                  # ... and a tail that ruins the next chunk
    garbage = bytes(burst)
    res = S.stream_samples(pipe.dev, x, inject=(x.size // 2, lambda dev: dev.write(garbage)))
    host = S.host_reference(x, pipe.model, res.info.uncertain_below)
    assert len(res.errors) >= 5, "every malformed frame gets an ERROR frame"
    assert res.resends > 0, "the chunk hit by the burst was resent"
    assert res.stats["gaps"] >= 1
    assert res.stats["samples"] == x.size
    _check_stream(res, host)
    assert pipe.dev.ping(b"still here") == b"still here"


def test_raw_and_delta_encodings_agree(pipe):
    x = _record_or_skip("203").signal[: 360 * 90]     # 203: large, fast deltas (escapes)
    host = S.host_reference(x, pipe.model, 0)
    for enc in ("raw", "delta8"):
        res = S.stream_samples(pipe.dev, x, flags=S.FLAG_INPUTS, encoding=enc)
        host.uncertain = host.confidence < res.info.uncertain_below
        _check_stream(res, host)
        assert all(ev.inputs is not None and len(ev.inputs) == 136 for ev in res.events)


def test_af_excerpt_rhythm_events_equal_host(pipe, tmp_path):
    """Record 201's first 6 minutes (AF, then nodal and sinus rhythm): AF onset/offset,
    runs, HR and one 5-minute HRV window from the device, equal to the host, readable as WFDB."""
    x = _record_or_skip("201").signal[: 360 * 360]
    res = S.stream_samples(pipe.dev, P.with_tail(x))
    host = S.host_reference(P.with_tail(x), pipe.model, res.info.uncertain_below)
    _check_stream(res, host)
    kinds = [ev.kind for ev in res.rhythm]
    from tinyecg import rhythm as R
    assert R.AF_ON in kinds and R.HRV in kinds and kinds.count(R.HR) >= 30
    path = S.write_rhythm_annotations(tmp_path / "201", res.rhythm, 360.0)
    import wfdb
    ann = wfdb.rdann(str(path.with_suffix("")), "trhy")
    assert "(AFIB" in ann.aux_note


def test_realtime_pacing_sleeps_between_chunks(pipe, qemu_only):
    x = _record_or_skip("100").signal[: 360 * 8]
    res = S.stream_samples(pipe.dev, x, realtime=True)
    assert res.seconds >= 7.5
    st = res.stats
    asleep = st["asleep_units"] / st["elapsed_units"]
    assert asleep > 0.5, f"the device should idle in WFI at real time, asleep {asleep:.2%}"


def _err(frame):
    code, ref, text = frame.error()
    return code, ref


def test_stream_command_errors(pipe):
    dev = pipe.dev
    # DATA before START, STOP without a stream
    dev.request(S.STREAM_STOP, allow_error=True)      # make sure no stream is active
    f = dev.request(S.STREAM_DATA, struct.pack("<Ih", 0, 5), allow_error=True)
    assert _err(f) == (ErrorCode.BAD_REQUEST, S.STREAM_DATA)
    f = dev.request(S.STREAM_STOP, allow_error=True)
    assert _err(f) == (ErrorCode.BAD_REQUEST, S.STREAM_STOP)
    assert _err(dev.request(S.STREAM_START, b"\x80", allow_error=True))[0] == ErrorCode.BAD_REQUEST
    assert _err(dev.request(S.STREAM_START, b"\x00\x00", allow_error=True))[0] == ErrorCode.BAD_LENGTH
    info = S.StartInfo.parse(dev.request(S.STREAM_START, b"\x00").body)
    assert (info.credits, info.max_samples, info.fs, info.input_bytes) == (3, 500, 360, 136)
    # malformed chunks: odd body, too many samples, count mismatch, int16 overflow
    for body, msg in ((struct.pack("<I", 0) + b"\x01\x02\x03", S.STREAM_DATA),
                      (struct.pack("<I", 0) + bytes(1002), S.STREAM_DATA),
                      (struct.pack("<IH", 0, 3) + b"\x01\x02", S.STREAM_DATA8),
                      (struct.pack("<IH", 0, 0), S.STREAM_DATA8),
                      (struct.pack("<IH", 0, 2) + b"\x80\xff\x7f\x7f", S.STREAM_DATA8)):
        code, ref = _err(dev.request(msg, body, allow_error=True))
        assert ref == msg and code in (ErrorCode.BAD_LENGTH, ErrorCode.BAD_REQUEST)
    # none of that moved the stream: gap, duplicate and accepted chunks
    ack = S.Ack.parse(dev.request(S.STREAM_DATA, struct.pack("<I", 10) + bytes(4)).body)
    assert (ack.status, ack.next) == (S.ACK_GAP, 0)
    ack = S.Ack.parse(dev.request(S.STREAM_DATA8, struct.pack("<IH", 0, 3) + b"\x05\xfb\x80\x00\x04").body)
    assert (ack.status, ack.next) == (S.ACK_ACCEPTED, 3)
    ack = S.Ack.parse(dev.request(S.STREAM_DATA, struct.pack("<I", 1) + bytes(4)).body)
    assert (ack.status, ack.next) == (S.ACK_DUPLICATE, 3)
    st = S.parse_stats(dev.request(S.STREAM_STOP).body)
    assert (st["samples"], st["gaps"], st["duplicates"], st["events"]) == (3, 1, 1, 0)


def test_firmware_without_a_beat_classifier_refuses(request, tmp_path_factory, qemu_only):
    """A model of another shape (the bench ecg_s) builds, and STREAM_START says why it cannot stream."""
    env = request.config.getoption("--env")
    bench = Path(os.environ.get("TINYECG_BENCH", ROOT.parent / "shared" / "bench")) / "ecg_s.tflite"
    if not bench.is_file():
        pytest.skip(f"{bench} not found")
    tmp = tmp_path_factory.mktemp("nopipe")
    convert.convert(bench, env, tmp / "gen", measure_tflm=False)
    elf = firmware.build(env, model_dir=tmp / "gen", base=tmp / "build")
    with qemu.boot(env, elf) as dev:
        dev.sync()
        f = dev.request(S.STREAM_START, allow_error=True)
        code, ref, text = f.error()
        assert code in (ErrorCode.NO_MODEL, ErrorCode.BAD_REQUEST) and ref == S.STREAM_START
        assert "ecg_pipeline_config.h" in text or "beat classifier" in text
        assert dev.ping(b"ok") == b"ok"
