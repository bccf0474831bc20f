"""Host side of the beat pipeline without a device: delta coding, EC57 scoring,
threshold calibration, power arithmetic, annotation files, CLI errors.
Expected numbers are worked out by hand in the comments."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyecg import calibrate
from tinyecg import data as D
from tinyecg import stream as S
from tinyecg.errors import TinyEcgError

# Subprocess hang guard, not a speed bound: shared CI machines vary by 20 % or
# more under load, so it is set far above any normal run.
HANG_GUARD_S = 1800

ROOT = Path(__file__).resolve().parents[2]


def decode_delta8(body: bytes, prev: int) -> tuple[int, list[int]]:
    """Reference decoder of STREAM_DATA8 (docs/protocol.md)."""
    first, count = struct.unpack_from("<IH", body)
    out, i = [], 6
    while i < len(body):
        if body[i] == 0x80:
            prev = struct.unpack_from("<h", body, i + 1)[0]
            i += 3
        else:
            prev += struct.unpack_from("<b", body, i)[0]
            i += 1
        out.append(prev)
    assert len(out) == count
    return first, out


def test_delta8_round_trip_and_escapes():
    x = np.array([0, 5, -122, 127, 32767, -32768, -32768, -32641, 100], dtype=np.int16)
    body, n = S.encode_delta8(x, 0, 1018)
    assert n == x.size
    # 0->0 (d 0), 5 (d 5), -122 (d -127), 127 (d 249: escape), 32767 (escape), -32768 (escape),
    # -32768 (d 0), -32641 (d 127), 100 (escape)
    assert body[6:] == bytes([0, 5, 0x81, 0x80, 127, 0, 0x80, 0xFF, 0x7F, 0x80, 0x00, 0x80, 0, 127,
                              0x80, 100, 0])
    assert decode_delta8(body, 0) == (0, x.tolist())
    # a chunk from the middle is relative to the sample before it
    body, n = S.encode_delta8(x, 7, 1018)
    assert decode_delta8(body, int(x[6])) == (7, x[7:].tolist())


def test_delta8_chunk_fits_the_body_limit():
    rng = np.random.default_rng(0)
    x = rng.integers(-32768, 32768, 5000).astype(np.int16)     # nearly all escapes (3 bytes each)
    body, n = S.encode_delta8(x, 0, 1018)
    assert 1024 - 3 < len(body) <= 1024 and n >= (1024 - 6) // 3   # full: one more escape would not fit
    smooth = np.arange(5000, dtype=np.int16)
    body, n = S.encode_delta8(smooth, 10, 1018)
    assert n == 1018 and len(body) == 1024


def test_youden_threshold_by_hand():
    conf = np.array([10, 20, 30, 200, 210, 220, 40, 250])
    wrong = np.array([1, 1, 0, 0, 0, 0, 1, 0], dtype=bool)
    t, st = calibrate.youden_threshold(conf, wrong)
    # flag conf < 41: all 3 wrong (TPR 1) and 1 of 5 right (FPR 0.2): J 0.8, the best
    assert t == 41 and st["tpr"] == 1.0 and st["fpr"] == 0.2


def test_power_estimate_arithmetic():
    p = S.power_estimate(compute_units=2_500_000 * 10, seconds=10, clock_hz=25e6, run_ma=3.0,
                         sleep_ua=900, battery_mah=100)
    # duty 10 %; 0.1 * 3 + 0.9 * 0.9 = 1.11 mA; 100 / 1.11 = 90.1 h
    assert p["duty_cycle_pct"] == 10.0 and p["avg_current_ma"] == 1.11
    assert p["battery_hours"] == 90.1 and p["meets_24h"]
    with pytest.raises(TinyEcgError):
        S.power_estimate(1, 0, 25e6, 1, 1, 1)


def test_beat_event_parse_and_host_compare():
    body = struct.pack("<IIBBBB", 7, 123456, 2, 201, 1, 4) + bytes([0x80, 0x90, 0x49, 0x80]) \
        + struct.pack("<IHH", 1_700_000, 160, 170)
    ev = S.BeatEvent.parse(body)
    assert (ev.seq, ev.r, ev.cls, ev.confidence, ev.uncertain) == (7, 123456, 2, 201, True)
    assert ev.scores == (-128, -112, 73, -128) and ev.units == 1_700_000 and ev.inputs is None
    host = S.HostBeats(r=np.array([123456]), cls=np.array([2]), scores=np.array([[-128, -112, 73, -128]]),
                       confidence=np.array([201]), uncertain=np.array([True]),
                       inputs=np.zeros((1, 136), np.int8), pre=np.array([160]), post=np.array([170]))
    assert S.compare_host_device([ev], host)[0] == 0
    host.scores[0, 1] = -111
    n, ex = S.compare_host_device([ev, ev], host)
    assert n == 2 and ex == [(0, ["scores"])]      # one differing beat + one extra event


def test_annotations_read_back_with_wfdb(tmp_path):
    import wfdb
    evs = [S.BeatEvent(i, 1000 + 300 * i, i % 4, 100 + i, i == 2, (0, 0, 0, 0), 1, 150, 150) for i in range(5)]
    p = S.write_annotations(tmp_path / "rec", evs, 360)
    ann = wfdb.rdann(str(tmp_path / "rec"), "tecg")
    assert p.name == "rec.tecg" and list(ann.sample) == [1000, 1300, 1600, 1900, 2200]
    assert ann.symbol == ["N", "S", "V", "F", "N"]
    assert ann.aux_note[2] == "conf=102/256 uncertain" and ann.fs == 360
    # a record at 250 Hz gets its annotations at 250 Hz
    S.write_annotations(tmp_path / "r250", evs[:1], 250)
    assert wfdb.rdann(str(tmp_path / "r250"), "tecg").sample[0] == round(1000 * 250 / 360)


def test_ecg_strip_draws_both_label_rows(tmp_path):
    """The strip counts the reference and device beats inside its window (the
    device's come from the annotation file, at the record's rate)."""
    from tinyecg import report
    rec = S.load_stream_record("100")
    inside = [int(r) for r in rec.ref_r if 360 * 300 <= r < 360 * 310]
    # a device that found every reference beat in the window, the third one flagged
    evs = [S.BeatEvent(i, r, 0, 200, i == 2, (0, 0, 0, 0), 1, 150, 150) for i, r in enumerate(inside)]
    ann = S.write_annotations(tmp_path / "100", evs, rec.fs)
    strip = report.ecg_strip("100", ann, tmp_path / "strip.png", 300, 10)
    assert strip.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ref_in_window = sum(1 for r, s in zip(rec.ref_r, rec.ref_sym) if 360 * 300 <= r < 360 * 310 and s in D.AAMI)
    assert (strip.reference_beats, strip.device_beats, strip.uncertain) == (ref_in_window, len(inside), 1)
    assert strip.device_beats >= 10  # ~10 s of sinus rhythm
    with pytest.raises(TinyEcgError, match="outside the record"):
        report.ecg_strip("100", ann, tmp_path / "x.png", 99999, 10)


@pytest.mark.parametrize("args, msg", [
    (["--record", "nosuch/999", "--json", "x.json", "--no-build"], "no 999.hea"),
    (["--record", "100", "--json", "x.json", "--run-ma", "-1"], "must be positive"),
    (["--record", "100", "--json", "x.json", "--env", "nosuchenv"], "unknown env"),
])
def test_cli_errors_are_one_line(tmp_path, args, msg):
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "stream.py"), *args], cwd=tmp_path,
                         capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert res.returncode == 2
    assert msg in res.stderr and "Traceback" not in res.stderr
