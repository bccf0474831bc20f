"""The whole training recipe end to end on the --quick configuration (CI), and the proof that
no DS2 record reaches training, selection or calibration."""

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
    from tinyecg import cv, train
    cv.check_folds(cv.FOLDS)
    for cfg in (train.TrainConfig(), train.quick_config()):
        assert set(cfg.records) <= set(data.DS1)
        flat = [r for f in cfg.folds for r in f]
        assert sorted(flat) == sorted(cfg.records)            # folds partition the training patients
        assert not set(cfg.test_records) & set(cfg.records)
    for rec in data.DS2:
        with pytest.raises(TinyEcgError, match="test set"):
            train.check_training_records([101, rec])
        with pytest.raises(TinyEcgError, match="test set"):
            cv.check_folds(((101, rec),) + cv.FOLDS[1:])
    with pytest.raises(TinyEcgError, match="paced"):
        train.check_training_records([102])
    with pytest.raises(TinyEcgError, match="overlap"):
        cv.check_folds(cv.FOLDS[:-1] + (cv.FOLDS[-1] + (101,),))
    with pytest.raises(TinyEcgError, match="DS2"):
        from tinyecg.quantize import representative_from_ds1
        representative_from_ds1([101, 100])
    with pytest.raises(TinyEcgError, match="DS2"):
        from tinyecg.calibrate import calibrate
        calibrate(None, [101, 100])


def test_ds2_never_reaches_training_selection_or_calibration(tmp_path, monkeypatch):
    """Everything that ships -- cross-validation (the basis of every choice), teachers,
    the distilled student, the uncertain calibration and the int8 conversion -- comes from
    train_recipe, which reads only its training patients: every record it loads is
    recorded, and none is a DS2 record (a tiny configuration: the proof, not the accuracy)."""
    try:
        data.resolve_data_dir()
    except TinyEcgError as exc:
        pytest.skip(str(exc))
    from tinyecg import train
    from tinyecg.model import ModelConfig, TeacherConfig
    loaded = []
    real = data.load_record

    def spy(rec, *args, **kwargs):
        loaded.append(int(rec))
        return real(rec, *args, **kwargs)
    monkeypatch.setattr(data, "load_record", spy)
    cfg = train.TrainConfig(records=(106, 119, 209, 220), folds=((106, 209), (119, 220)),
                            teacher=TeacherConfig(width=2, depth=1, rr_units=4, dense=4), teacher_epochs=1,
                            student=ModelConfig(width=2, depth=2, rr_units=4, dense=4), student_epochs=1)
    tr = train.train_recipe(cfg, tmp_path, progress=False, log=lambda s: None)
    assert set(loaded) == set(cfg.records)             # it did read data, all of it training patients
    assert not set(loaded) & set(data.DS2)
    assert (tmp_path / "model_int8.tflite").read_bytes() == tr.blob
    cal = json.loads((tmp_path / "calibration.json").read_text())
    assert cal["records"] == list(cfg.records) and cal["beats"] == len(tr.oof_conf)
    with pytest.raises(TinyEcgError, match="test set"):
        train.train_recipe(train.TrainConfig(records=(106, 100), folds=((106,), (100,))), tmp_path,
                           progress=False, log=lambda s: None)


def test_default_model_fits_the_budget_and_engine():
    from tinyecg.model import ModelConfig, build_model, count_macs
    m = build_model(ModelConfig())
    assert count_macs(m) <= 2_000_000
    assert m.count_params() <= 60_000           # int8 weights well under 64 KB
    for layer in m.layers:
        assert type(layer).__name__ in {"InputLayer", "Conv1D", "MaxPooling1D", "GlobalAveragePooling1D",
                                        "Dense", "Concatenate", "Dropout", "Softmax"}


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
    for f in ("model.keras", "model_int8.tflite", "calibration.json", "metrics.json", "README.md",
              "confusion_student_int8_DS2.png", "confusion_teacher_DS2.png", "risk_coverage.png"):
        assert (out / f).is_file(), f
    m = json.loads((out / "metrics.json").read_text())
    assert set(m) >= {"schema", "classes", "inputs", "recipe", "sizes", "cv", "ds2", "int8_vs_float", "uncertain"}
    for key in ("teacher", "student_float", "student_int8"):
        ds2 = m["ds2"][key]["reference_r"]
        for c in ("N", "S", "V", "F"):
            for stat in ("se", "ppv"):
                assert ds2["classes"][c][stat] is None or 0 <= ds2["classes"][c][stat] <= 100
        assert 0 <= ds2["macro_f1"] <= 100 and 0 <= ds2["accuracy"] <= 100
        # every scoreable DS2 beat except each record's first/last (no RR on one side) is scored
        assert 49_600 <= ds2["n_beats"] <= 49_705
        assert m["ds2"][key]["own_detector"]["qrs"]["se"] > 99.0
        # cross-validation: one entry per fold, pooled over every held-out beat
        cvk = m["cv"][key]["reference_r"]
        assert len(cvk["per_fold"]) == 2
        assert cvk["pooled"]["n_beats"] == sum(f["n_beats"] for f in cvk["per_fold"])
        assert cvk["summary"]["macro_f1_nsv"]["folds"] >= 1
    held = [r for f in m["cv"]["folds"] for r in f["held_out"]]
    assert sorted(held) == sorted(m["recipe"]["records"])     # every training patient held out once
    assert not set(m["recipe"]["records"]) & set(data.DS2)
    z = m["sizes"]
    assert z["teacher"]["params"] > z["student"]["params"] > 0
    assert z["student"]["int8_tflite_bytes"] == (out / "model_int8.tflite").stat().st_size
    u = m["uncertain"]
    assert u["calibration"]["temperature"] > 0 and 0 <= u["calibration"]["uncertain_below"] <= 255
    assert u["cv_out_of_fold"]["flagged_pct"] <= m["recipe"]["uncertain_max_flagged_pct"]


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
    assert shapes == [(1, 16), (1, 128, 2)]          # features; beat and beat minus template
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
    want = json.loads((out / "metrics.json").read_text())["ds2"]["student_int8"]["reference_r"]
    assert got["matrix"] == want["matrix"]
    assert got["macro_f1"] == want["macro_f1"]


def test_train_cli_rejects_bad_options():
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "train.py"), "--teacher-epochs", "0"],
                       capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and r.stderr.strip().count("\n") == 0
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "train.py"), "--features", "pre/normal,heart_shape",
                        "--cv-only", "--out", "/nonexistent/x"], capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert r.returncode == 2 and "heart_shape" in r.stderr and r.stderr.strip().count("\n") == 0


def test_feature_subset_is_read_and_the_rest_ignored():
    """TrainConfig.features: the networks' weights from the other features are zero, so the
    model's output does not depend on them -- the device can keep sending all 16."""
    from tinyecg import features as F
    from tinyecg import train
    from tinyecg.model import build_model, build_teacher
    cfg = train.quick_config()
    cfg.features = ("pre/normal", "post/normal", "qrs_distance")
    ds = train.build_dataset([119])
    ds = {k: v[:600] for k, v in ds.items()}
    keep = np.array([n in cfg.features for n in F.FEATURE_NAMES])
    for build, layer in ((lambda: build_model(cfg.student), "rr_dense"), (lambda: build_teacher(cfg.teacher), "t_rr1")):
        model, _ = train.fit_network(build, ds, cfg, 1, 1e-3, 1, progress=False)
        kernel = model.get_layer(layer).get_weights()[0]
        assert not kernel[~keep].any() and kernel[keep].any()
        wave, feats = F.inputs(ds)
        noisy = feats.copy()
        noisy[:, ~keep] = np.random.default_rng(0).integers(0, 1024, size=(len(feats), int((~keep).sum())))
        assert np.array_equal(train.predict_logits(model, wave, feats), train.predict_logits(model, wave, noisy))
        noisy[:, keep] += 64                           # ... while the chosen ones matter
        assert not np.array_equal(train.predict_logits(model, wave, feats), train.predict_logits(model, wave, noisy))
    with pytest.raises(TinyEcgError, match="unknown feature"):
        train.feature_mask(train.TrainConfig(features=("pre/normal", "nope")), F.N_FEAT)
