"""Models on the device over the serial protocol: both bench models and a
two-input, two-output convolution model whose tensors exceed one frame
(tests/engine/tf_models.py:io_model), on the three QEMU boards (M4F, M7, M3).
Every output equals tflite_micro byte for byte on the chunked path
(TENSOR_WRITE, INVOKE, TENSOR_READ) that tools/bench.py uses, and on INFER
where the tensors fit one frame; every misuse of the chunked commands gets the
ERROR that names it (tests/tensor_checks.py).

With ``--port`` (a real board) only the model the board was flashed with is
checked; without it each (model, env) firmware is built into its own build
dir with the model generated into a temp dir, and booted in QEMU.
"""

from pathlib import Path

import numpy as np
import pytest

import tensor_checks as tc
from tinyecg import bench, qemu
from tinyecg.protocol import Msg

BENCH = Path(__file__).resolve().parents[2].parent / "shared" / "bench"
MODELS = ["ecg_s", "ecg_m"]
ENVS = ["mps2_an386", "mps2_an500", "mps2_an385"]  # with the default --env: one of each CPU


def pytest_generate_tests(metafunc):
    """Default run: the three MPS2 CPUs; `--env X` (another board): X only."""
    if "env" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--env")
        metafunc.parametrize("env", ENVS if chosen == "mps2_an386" else [chosen])


def on_device(model: Path, env: str, request, tmp_path, check):
    """check(dev, prog, data) on the board flashed with `model` (--port; skipped
    if it runs another model) or on `env` built with it and booted in QEMU."""
    port = request.config.getoption("--port")
    if port:
        from tinyecg.device import Device

        data, graph = bench.convert.load_model(model)
        prog = bench.codegen.lower(graph)
        with Device(port, baud=request.config.getoption("--baud")) as dev:
            dev.sync()
            if dev.model_info().get("model") != graph.model_id:
                pytest.skip(f"board is not flashed with {model.name}")
            return check(dev, prog, data)
    data, prog, elf = bench.build_for(model, env, tmp_path)
    board = qemu.boot(env, elf)
    try:
        dev = board.start()
        dev.wait_for(Msg.BOOT, timeout=10)
        return check(dev, prog, data)
    finally:
        board.close()


def _check_bench_model(dev, name, prog, data, record_property):
    x = np.load(BENCH / f"{name}_input_int8.npy")
    expected = np.load(BENCH / f"{name}_expected_int8.npy")
    info = dev.model_info()
    assert info["model"] == prog.graph.model_id
    assert info["input_shapes"] == "1x256x1" and info["output_shapes"] == "1x5"
    assert int(info["input_bytes"]) == 256 and int(info["output_bytes"]) == 5
    assert int(info["arena_bytes"]) == prog.arena_bytes and int(info["macs"]) == prog.macs
    assert info["input_zero_points"] == "-23" and info["output_zero_points"] == "-128"

    got, counts = bench.run_vectors(dev, x, prog.graph)
    ref = bench.reference_outputs(data, prog.graph, x)
    assert np.array_equal(ref, expected)  # the reference itself agrees with the bench file
    bad = int((got != ref).any(axis=1).sum())
    assert bad == 0, f"{bad} of {len(x)} outputs differ from tflite_micro"
    assert min(counts) > prog.macs  # the counter really measured the inference

    # INFER (one frame each way) gives the same; wrong lengths get an ERROR naming the size
    tc.check_infer(dev, tc.Model(data))
    assert int(dev.model_info()["stack_peak"]) > 0
    record_target(dev, record_property, len(x) + 2)
    return counts


def record_target(dev, record_property, vectors: int) -> None:
    """What the verification report lists for this parity test: vectors judged, on which CPU."""
    info = dev.info()
    record_property("vectors", vectors)
    record_property("target", f"{info.get('board')} ({info.get('cpu')}, {info.get('counter')})")


@pytest.mark.parametrize("name", MODELS)
def test_infer_bench_model(name, env, request, tmp_path, record_property):
    model = BENCH / f"{name}.tflite"
    if not model.exists():
        pytest.skip(f"bench model {model} not present")
    counts = on_device(model, env, request, tmp_path,
                       lambda dev, prog, data: _check_bench_model(dev, name, prog, data, record_property))
    if request.config.getoption("--port"):
        return
    # -icount shift=0: deterministic per input. Limits: the SIMD kernels on the
    # M4F board (the targets: ecg_s 900,000, ecg_m 1,350,000), and on
    # the M3 (portable kernels) no slower than the first engine's portable
    # kernels.
    limit = {("ecg_s", "mps2_an386"): 900_000, ("ecg_m", "mps2_an386"): 1_350_000,
             ("ecg_s", "mps2_an385"): 2_896_159, ("ecg_m", "mps2_an385"): 4_839_382}.get((name, env))
    if limit:
        assert np.mean(counts) <= limit


@pytest.fixture(scope="module")
def io_model(tmp_path_factory):
    """Inputs 32x32x3 (3,072 B) and 1,100 B, outputs 32x32x4 (4,096 B) and 4 B."""
    from engine import tf_models

    path = tmp_path_factory.mktemp("io_model") / "io_model.tflite"
    path.write_bytes(tf_models.io_model())
    return path


def test_tensors_larger_than_a_frame(io_model, env, request, tmp_path, record_property):
    """Multi-input, multi-output, tensors of several frames: bit-exact, and every
    misuse of the chunked commands gets its ERROR and changes nothing."""

    def check(dev, prog, data):
        m = tc.Model(data)
        assert m.in_sizes == [3072, 1100] and m.out_sizes == [4096, 4]
        info = dev.model_info()
        assert (info["input_shapes"], info["output_shapes"]) == ("1x32x32x3;1x1100", "1x32x32x4;1x4")
        counts = tc.check_parity(dev, m, 8, seed=3)
        assert min(counts) > prog.macs
        record_target(dev, record_property, len(counts))
        tc.check_write_errors(dev, m)
        tc.check_invoke_errors(dev, m)
        tc.check_read_errors(dev, m)
        tc.check_infer(dev, m)

    on_device(io_model, env, request, tmp_path, check)
