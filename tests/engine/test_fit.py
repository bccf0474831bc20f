"""The fit check (tinyecg.convert.check_fit) measures the image it would
build: on a small board (nucleo_l432kc: 256 KB flash, 64 KB RAM) a model
that fits gets the exact figures of the image `pio run` builds with it, and
models too big for its RAM or its flash are refused with one line that says
by how much, split into firmware and model, and names the biggest tensors or
weights; nothing is written for a refused model."""

import re
import subprocess
import sys

import pytest

import engine_util as eu
from tinyecg import codegen, convert, firmware, tflite_import
from tinyecg.errors import TinyEcgError

tfm = pytest.importorskip("tf_models")
ENV = "nucleo_l432kc"
BENCH_S = eu.BENCH / "ecg_s.tflite"


@pytest.fixture(scope="module")
def too_big_for_ram(tmp_path_factory):
    """3x3 conv 64x64x3 -> 64x64x16: a 65,536-byte output (arena + output buffer) on a 64 KB board."""
    path = tmp_path_factory.mktemp("ram") / "wide_conv.tflite"
    path.write_bytes(tfm.conv2d(5, 64, 64, 3, 16, 3, 3, (1, 1), (1, 1), "SAME", "RELU"))
    return path


@pytest.fixture(scope="module")
def too_big_for_flash(tmp_path_factory):
    """A 1024 -> 300 dense layer: 307,200 weight bytes on a 256 KB board (RAM is no problem)."""
    path = tmp_path_factory.mktemp("flash") / "wide_dense.tflite"
    path.write_bytes(tfm.dense(6, (1, 1024), 300, "NONE"))
    return path


def test_a_model_that_fits_gets_the_figures_of_the_real_image(tmp_path):
    if not BENCH_S.exists():
        pytest.skip("bench model missing")
    prog = codegen.lower(tflite_import.load(BENCH_S))
    files = codegen.render(prog)
    fit = convert.check_fit(prog, ENV, files)
    assert fit.ok and (fit.flash_max, fit.ram_max) == (262_144, 65_536)
    # the image pio builds with the real weights: the same bytes of flash and of RAM (+ stack reserve)
    codegen.write(files, tmp_path / "model")
    size = firmware.image_size(firmware.build(ENV, model_dir=tmp_path / "model", base=tmp_path / "build"))
    assert fit.flash_needed == size["flash_bytes"]
    assert fit.ram_needed == size["ram_bytes"] + size["stack_reserve_bytes"]
    # the parts: the arena the planner asked for plus the kernels' scratch, the engine's tensor buffers,
    # the model's constants
    assert prog.arena_bytes == 2048
    assert fit.arena_ram == prog.arena_bytes + prog.scratch_bytes
    assert fit.io_ram == prog.input_bytes + prog.output_bytes == 256 + 5
    assert prog.weight_bytes < fit.model_flash < prog.weight_bytes + prog.quant_bytes + 1024
    assert 8 * 1024 < fit.firmware_ram < 32 * 1024 and 8 * 1024 < fit.firmware_flash < 32 * 1024


def test_too_big_for_ram_names_the_biggest_tensors(too_big_for_ram, tmp_path):
    with pytest.raises(TinyEcgError) as e:
        convert.convert(too_big_for_ram, ENV, tmp_path / "out", measure_tflm=False)
    msg = str(e.value)
    assert "\n" not in msg and not (tmp_path / "out").exists()
    m = re.fullmatch(r"wide_conv\.tflite does not fit nucleo_l432kc: needs RAM ([\d,]+) B of 65,536 B "
                     r"\(firmware ([\d,]+) B \+ arena and scratch ([\d,]+) B \+ inputs/outputs ([\d,]+) B\); "
                     r"biggest: tensor '(\w+)' 65,536 B, tensor '(\w+)' 12,288 B", msg)
    assert m, msg
    need, fw, arena, io = (int(g.replace(",", "")) for g in m.groups()[:4])
    assert need == fw + arena + io > 65_536
    # the output is written in place into the output buffer: counted once, not in the arena
    assert arena < 12_288 and io == 12_288 + 65_536
    assert m.group(5) != m.group(6)  # the output, then the input


def test_too_big_for_flash_names_the_biggest_weights(too_big_for_flash, tmp_path):
    prog = codegen.lower(tflite_import.load(too_big_for_flash))
    fit = convert.check_fit(prog, ENV)
    assert fit.ram_ok and not fit.flash_ok
    assert fit.flash_needed == fit.firmware_flash + fit.model_flash > 262_144
    assert fit.model_flash > prog.weight_bytes > 1024 * 300
    msg = fit.refusal("wide_dense.tflite", prog)
    assert msg == (f"wide_dense.tflite does not fit nucleo_l432kc: needs flash {fit.flash_needed:,} B of 262,144 B "
                   f"(firmware {fit.firmware_flash:,} B + model {fit.model_flash:,} B); "
                   f"biggest: weights of l01_fc (FULLY_CONNECTED #0) {prog.weight_bytes:,} B")


def test_cli_refusal_is_one_line(too_big_for_ram, tmp_path):
    cli = eu.ROOT / "tools" / "convert.py"
    proc = subprocess.run([sys.executable, str(cli), "--model", str(too_big_for_ram), "--env", ENV,
                           "--out", str(tmp_path / "o"), "--no-tflm"], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: wide_conv.tflite does not fit nucleo_l432kc: needs RAM")
    assert "Traceback" not in proc.stderr and not (tmp_path / "o").exists()
