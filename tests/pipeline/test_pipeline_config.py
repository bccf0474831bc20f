"""The committed ecg_pipeline_config.h is what tinyecg.calibrate produces now for the
shipped model (requantizers, input order, DS1-calibrated uncertain threshold)."""

import re
from pathlib import Path

import pytest

from tinyecg import calibrate
from tinyecg.errors import TinyEcgError

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "models" / "arrhythmia" / "model_int8.tflite"
MODEL_DIR = ROOT / "firmware" / "model"


def test_committed_pipeline_config_matches_calibration():
    hdr = MODEL_DIR / calibrate.HEADER_NAME
    if not hdr.is_file():
        pytest.skip("firmware/model has no ecg_pipeline_config.h (not a beat classifier)")
    mid = re.search(r'#define MODEL_ID "(\w+)"', (MODEL_DIR / "model_config.h").read_text()).group(1)
    assert f'#define ECG_PIPELINE_MODEL_ID "{mid}"' in hdr.read_text(), "pipeline config is for another model"
    if not SHIPPED.is_file():
        pytest.skip(f"{SHIPPED} not available")
    blob = SHIPPED.read_bytes()
    if calibrate.Int8Model(blob).model_id != mid:
        pytest.skip("firmware/model was generated from another .tflite than the shipped one")
    try:
        cfg = calibrate.pipeline_config(blob)
    except TinyEcgError as exc:
        pytest.skip(str(exc))          # no MIT-BIH data here
    assert calibrate.render_header(cfg) == hdr.read_text(), "firmware/model/ecg_pipeline_config.h is stale"
    assert cfg.calibration["records"] and not set(cfg.calibration["records"]) & {100, 103, 105}  # DS1 only
    assert 0 < cfg.uncertain_below < 256
