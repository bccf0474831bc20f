"""The whole training pipeline end to end on the --quick configuration (CI, < 3 min)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinyecg import data
from tinyecg.errors import TinyEcgError

# Subprocess hang guard, not a speed bound: shared CI machines vary by 20 % or
# more under load, so it is set far above any normal run.
HANG_GUARD_S = 1800

ROOT = Path(__file__).resolve().parents[1]


def test_no_ds2_record_can_reach_training():
    from tinyecg import train
    for cfg in (train.TrainConfig(), train.quick_config()):
        assert not set(cfg.train_records) & set(data.DS2)
        assert not set(cfg.val_records) & set(data.DS2)
        assert not set(cfg.train_records) & set(cfg.val_records)     # patient-wise validation
        assert set(cfg.train_records) | set(cfg.val_records) <= set(data.DS1)
    for rec in data.DS2:
        with pytest.raises(TinyEcgError, match="test set"):
            train.check_training_records([101, rec])
    with pytest.raises(TinyEcgError, match="paced"):
        train.check_training_records([102])
    with pytest.raises(TinyEcgError, match="DS2"):
        from tinyecg.quantize import representative_from_ds1
        representative_from_ds1([101, 100])


def test_default_model_fits_the_budget_and_engine():
    from tinyecg.model import ModelConfig, build_model, count_macs
    m = build_model(ModelConfig())
    assert count_macs(m) <= 2_000_000
    assert m.count_params() <= 60_000           # int8 weights well under 64 KB
    for layer in m.layers:
        assert type(layer).__name__ in {"InputLayer", "Conv1D", "MaxPooling1D", "GlobalAveragePooling1D",
                                        "Dense", "Concatenate", "Dropout"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    try:
        data.resolve_data_dir()
    except TinyEcgError as exc:
        pytest.skip(str(exc))
    out = tmp_path_factory.mktemp("quick") / "m"
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "train.py"), "--quick", "--out", str(out),
                        "--no-progress"], capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert r.returncode == 0, r.stderr[-3000:]
    return out, r


def test_quick_training_writes_the_model_and_metrics(quick_run):
    out, r = quick_run
    for f in ("model.keras", "model_int8.tflite", "metrics.json", "confusion_float_DS2.png",
              "confusion_int8_DS2.png"):
        assert (out / f).is_file(), f
    m = json.loads((out / "metrics.json").read_text())
    assert set(m) >= {"float", "int8", "config", "train_seconds"}
    for key in ("float", "int8"):
        ds2 = m[key]["DS2"]
        for c in ("N", "S", "V", "F"):
            st = ds2["classes"][c]
            assert 0 <= st["se"] <= 100 and st["n"] > 0
            assert st["ppv"] is None or 0 <= st["ppv"] <= 100     # None: the model never said c
        assert 0 <= ds2["macro_f1"] <= 100 and 0 <= ds2["accuracy"] <= 100
        # every scoreable DS2 beat except each record's first/last (no RR on one side) is scored
        assert 49_600 <= ds2["n_beats"] <= 49_705
        assert m[key]["DS2_own_detector"]["qrs"]["se"] > 99.0
    assert not set(m["config"]["train_records"]) & set(data.DS2)
    assert m["train_seconds"] > 0      # a figure the report prints; never a bound (noisy machines)


def test_quick_int8_model_is_full_int8_with_engine_ops(quick_run):
    out, _ = quick_run
    from tflite_micro import runtime
    from tinyecg.model import ALLOWED_TFLITE_OPS
    from tinyecg.quantize import tflite_ops
    blob = (out / "model_int8.tflite").read_bytes()
    ops = set(tflite_ops(blob))
    assert ops <= ALLOWED_TFLITE_OPS, ops - ALLOWED_TFLITE_OPS
    assert {"CONV_2D", "FULLY_CONNECTED", "SOFTMAX"} <= ops
    it = runtime.Interpreter.from_bytes(blob, arena_size=64 * 1024)
    shapes = sorted(tuple(it.get_input_details(k)["shape"]) for k in range(2))
    assert shapes == [(1, 8), (1, 128, 1)]
    for k in range(2):
        assert it.get_input_details(k)["dtype"] == np.int8
    assert it.get_output_details(0)["dtype"] == np.int8


def test_evaluate_cli_reproduces_quick_metrics(quick_run, tmp_path):
    out, _ = quick_run
    j = tmp_path / "e.json"
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "evaluate.py"), "--model",
                        str(out / "model_int8.tflite"), "--json", str(j), "--no-progress"],
                       capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert r.returncode == 0, r.stderr[-2000:]
    got = json.loads(j.read_text())["DS2"]
    want = json.loads((out / "metrics.json").read_text())["int8"]["DS2"]
    assert got["matrix"] == want["matrix"]
    assert got["macro_f1"] == want["macro_f1"]


def test_train_cli_rejects_bad_options():
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "train.py"), "--epochs", "0"],
                       capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and r.stderr.strip().count("\n") == 0
