"""EC57 statistics on hand-made confusions, beat matching, and the shipped model's figures."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyecg import data
from tinyecg import ec57
from tinyecg import evaluate as E
from tinyecg import preprocess as P
from tinyecg.errors import TinyEcgError

# Subprocess hang guard, not a speed bound: shared CI machines vary by 20 % or
# more under load, so it is set far above any normal run.
HANG_GUARD_S = 1800

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models" / "arrhythmia"


def test_reference_peak_metrics_are_ec57_statistics():
    # the 4-class figures of a classifier on reference R peaks (nothing missed, nothing extra)
    y = np.repeat([0, 1, 2, 3], [100, 10, 10, 2])
    pred = np.concatenate([np.repeat([0, 1, 2], [90, 5, 5]), np.repeat([0, 1], [2, 8]),
                           np.repeat([0, 2], [1, 9]), [2, 3]])
    m = ec57.beat_statistics(ec57.matrix_from_labels(y, pred))
    # N: TP 90, FN 10, FP 3, TN 19
    assert (m["classes"]["N"]["se"], m["classes"]["N"]["ppv"], m["classes"]["N"]["fpr"]) == (90.0, 96.77, 13.64)
    assert (m["classes"]["S"]["se"], m["classes"]["S"]["ppv"], m["classes"]["S"]["fpr"]) == (80.0, 61.54, 4.46)
    assert (m["classes"]["V"]["se"], m["classes"]["V"]["ppv"]) == (90.0, 60.0)
    # EC57 VEB +P does not count the reference F beat called V
    assert m["veb"]["ppv"] == round(100 * 9 / 14, 2)
    assert (m["classes"]["F"]["se"], m["classes"]["F"]["ppv"], m["classes"]["F"]["f1"]) == (50.0, 100.0, 66.67)
    assert m["accuracy"] == 88.52 and m["n_beats"] == 122
    assert abs(m["macro_f1"] - (93.26 + 69.57 + 72.0 + 66.67) / 4) < 0.006


def test_int8_inputs_are_the_rounded_real_values():
    """The integer requantization equals round-half-up(x * unit / scale) + zp."""
    rq = P.Requant.from_scale(P.WAVE_UNIT, 0.0278942853, -2)
    x = np.arange(-6000, 6000, 7)
    want = np.clip(np.floor(x * P.WAVE_UNIT / 0.0278942853 + 0.5) - 2, -128, 127)
    assert np.array_equal(rq.apply(x), want.astype(np.int8))
    rq = P.Requant.from_scale(P.FEAT_UNIT, 0.00386246, -128)
    f = np.arange(0, 1024)
    want = np.clip(np.floor(f * P.FEAT_UNIT / 0.00386246 + 0.5) - 128, -128, 127)
    assert np.array_equal(rq.apply(f), want.astype(np.int8))


def test_load_classifier_errors(tmp_path):
    with pytest.raises(TinyEcgError, match="no such model"):
        E.load_classifier(tmp_path / "nope.tflite")
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"not a flatbuffer at all")
    with pytest.raises(TinyEcgError):
        E.load_classifier(bad)
    txt = tmp_path / "m.onnx"
    txt.write_bytes(b"x")
    with pytest.raises(TinyEcgError, match="expected a .keras or .tflite"):
        E.load_classifier(txt)


def test_evaluate_cli_one_line_error(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "evaluate.py"), "--model", str(tmp_path / "x.tflite")],
                       capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and r.stderr.startswith("error: ")


def _shipped_or_skip():
    if not (SHIPPED / "model_int8.tflite").is_file():
        pytest.skip("no shipped model yet")
    try:
        data.resolve_data_dir()
    except TinyEcgError as exc:
        pytest.skip(str(exc))


def test_shipped_model_budget():
    if not (SHIPPED / "model_int8.tflite").is_file():
        pytest.skip("no shipped model yet")
    from tinyecg.model import ALLOWED_TFLITE_OPS
    from tinyecg.quantize import tflite_ops
    blob = (SHIPPED / "model_int8.tflite").read_bytes()
    assert len(blob) <= 64 * 1024
    assert set(tflite_ops(blob)) <= ALLOWED_TFLITE_OPS
    E.TfliteClassifier(blob, arena_size=32 * 1024)          # allocates within 32 KB
    cfg = json.loads((SHIPPED / "metrics.json").read_text())["config"]
    assert cfg["macs_per_beat"] <= 2_000_000
    assert not set(cfg["train_records"]) & set(data.DS2)
    assert not set(cfg["val_records"]) & set(data.DS2)


def test_evaluate_reproduces_shipped_int8_figures(tmp_path):
    _shipped_or_skip()
    out = tmp_path / "m.json"
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "evaluate.py"), "--model",
                        str(SHIPPED / "model_int8.tflite"), "--json", str(out), "--no-progress"],
                       capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert r.returncode == 0, r.stderr
    got = json.loads(out.read_text())["DS2"]
    want = json.loads((SHIPPED / "metrics.json").read_text())["int8"]["DS2"]
    for c in data.CLASSES:
        assert got["classes"][c] == want["classes"][c]
    for k in ("veb", "sveb", "macro_f1", "accuracy", "matrix"):
        assert got[k] == want[k]


def test_shipped_int8_is_reproducible_from_keras():
    """quantize_keras(model.keras, the default DS1 calibration set) gives the shipped bytes."""
    _shipped_or_skip()
    from tinyecg.quantize import quantize_keras, representative_from_ds1
    blob = quantize_keras(SHIPPED / "model.keras", representative_from_ds1(), None)
    assert blob == (SHIPPED / "model_int8.tflite").read_bytes()
