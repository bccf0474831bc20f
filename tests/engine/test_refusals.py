"""Models the engine cannot compute exactly are refused with one line naming
the defect or the operator and its index; the CLI prints no traceback."""

import subprocess
import sys

import numpy as np
import pytest

import engine_util as eu
import fb_build
from tinyecg import codegen, tflite_import
from tinyecg.errors import TinyEcgError

tfm = pytest.importorskip("tf_models")
BENCH_S = eu.BENCH / "ecg_s.tflite"


def _one_line(exc: TinyEcgError) -> str:
    msg = str(exc)
    assert "\n" not in msg
    return msg


def test_float_model_refused():
    with pytest.raises(TinyEcgError) as e:
        tflite_import.parse(tfm.float_model(), "f.tflite")
    msg = _one_line(e.value)
    assert "float model" in msg and "float32" in msg


def test_unsupported_operator_named_with_index():
    with pytest.raises(TinyEcgError) as e:
        tflite_import.parse(tfm.unsupported_op_model(), "t.tflite")
    msg = _one_line(e.value)
    assert "unsupported operator TANH (operator #0)" in msg


def test_int16_activations_refused():
    with pytest.raises(TinyEcgError) as e:
        tflite_import.parse(fb_build.int16_model(), "a16.tflite")
    assert "int16 activations" in _one_line(e.value)


def test_unsupported_fused_activation_refused():
    with pytest.raises(TinyEcgError) as e:
        tflite_import.parse(fb_build.tanh_activation_add_model(), "act.tflite")
    msg = _one_line(e.value)
    assert "TANH" in msg and "ADD (operator #0)" in msg


@pytest.mark.parametrize("cut", [7, 100, 1000, 8000, 15000, -1])
def test_truncated_file_refused(cut):
    if not BENCH_S.exists():
        pytest.skip("bench model missing")
    data = BENCH_S.read_bytes()
    with pytest.raises(TinyEcgError) as e:
        tflite_import.parse(data[:cut], "cut.tflite")
    msg = _one_line(e.value)
    assert "truncated" in msg or "corrupt" in msg or "not a .tflite" in msg


def test_corrupt_identifier_and_garbage_refused():
    if not BENCH_S.exists():
        pytest.skip("bench model missing")
    data = bytearray(BENCH_S.read_bytes())
    data[4:8] = b"XXXX"
    with pytest.raises(TinyEcgError, match="not a .tflite"):
        tflite_import.parse(bytes(data), "x.tflite")
    rng = np.random.default_rng(3)
    junk = b"\x10\x00\x00\x00TFL3" + rng.integers(0, 256, 300, dtype=np.uint8).tobytes()
    with pytest.raises(TinyEcgError):
        tflite_import.parse(junk, "junk.tflite")


def test_cli_one_line_errors(tmp_path):
    if not BENCH_S.exists():
        pytest.skip("bench model missing")
    bad = tmp_path / "cut.tflite"
    bad.write_bytes(BENCH_S.read_bytes()[:5000])
    cli = eu.ROOT / "tools" / "convert.py"
    for args in (["--model", str(bad)], ["--model", str(BENCH_S), "--env", "nosuchboard"],
                 ["--model", str(tmp_path / "missing.tflite")]):
        proc = subprocess.run([sys.executable, str(cli), *args, "--out", str(tmp_path / "o"), "--no-tflm"],
                              capture_output=True, text=True)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
        assert "Traceback" not in proc.stderr


def test_cli_converts_bench_model(tmp_path):
    if not BENCH_S.exists():
        pytest.skip("bench model missing")
    cli = eu.ROOT / "tools" / "convert.py"
    proc = subprocess.run([sys.executable, str(cli), "--model", str(BENCH_S), "--env", "mps2_an385",
                           "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "MACs            359584" in out and "params          7637" in out
    assert "arena bytes     2048" in out and "tflite_micro    9816 B" in out
    assert "fits mps2_an385" in out
    for f in codegen.GENERATED_FILES:
        assert (tmp_path / "o" / f).is_file()
