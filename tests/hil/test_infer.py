"""INFER and MODEL_INFO on the device: both bench models on the three QEMU
boards, every output byte-equal to tflite_micro (and to the bench file).

With ``--port`` (a real board) only the model the board was flashed with is
checked; without it each (model, env) firmware is built into its own build
dir with the model generated into a temp dir, and booted in QEMU.
"""

from pathlib import Path

import numpy as np
import pytest

from tinyecg import bench, qemu
from tinyecg.device import DeviceError
from tinyecg.protocol import ErrorCode, Msg

BENCH = Path(__file__).resolve().parents[2].parent / "shared" / "bench"
MODELS = ["ecg_s", "ecg_m"]
ENVS = ["mps2_an386", "mps2_an500", "mps2_an385"]  # with the default --env: one of each CPU


def pytest_generate_tests(metafunc):
    """Default run: the three MPS2 CPUs; `--env X` (another board): X only."""
    if "env" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--env")
        metafunc.parametrize("env", ENVS if chosen == "mps2_an386" else [chosen])


def _check_device(dev, name, prog, data, record_property):
    x = np.load(BENCH / f"{name}_input_int8.npy")
    expected = np.load(BENCH / f"{name}_expected_int8.npy")
    info = dev.request(Msg.MODEL_INFO).kv()
    assert info["model"] == prog.graph.model_id
    assert info["input_shapes"] == "1x256x1" and info["output_shapes"] == "1x5"
    assert int(info["input_bytes"]) == 256 and int(info["output_bytes"]) == 5
    assert int(info["arena_bytes"]) == prog.arena_bytes and int(info["macs"]) == prog.macs
    assert info["input_zero_points"] == "-23" and info["output_zero_points"] == "-128"

    got, counts = bench.run_vectors(dev, x, 5)
    ref = bench.reference_outputs(data, prog.graph, x)
    assert np.array_equal(ref, expected)  # the reference itself agrees with the bench file
    bad = int((got != ref).any(axis=1).sum())
    assert bad == 0, f"{bad} of {len(x)} outputs differ from tflite_micro"
    assert min(counts) > prog.macs  # the counter really measured the inference

    # wrong input length: an ERROR naming the expected size; the device keeps working
    for n in (0, 255, 257):
        with pytest.raises(DeviceError) as e:
            dev.request(Msg.INFER, bytes(n))
        assert e.value.code == ErrorCode.BAD_LENGTH and "256" in e.value.text
    got2, _ = bench.run_vectors(dev, x[:2], 5)
    assert np.array_equal(got2, ref[:2])
    assert int(dev.request(Msg.MODEL_INFO).kv()["stack_peak"]) > 0
    dev_info = dev.info()
    record_property("vectors", len(x) + 2)
    record_property("target", f"{dev_info.get('board')} ({dev_info.get('cpu')}, {dev_info.get('counter')})")
    return counts


@pytest.mark.parametrize("name", MODELS)
def test_infer_bench_model(name, env, request, tmp_path, record_property):
    model = BENCH / f"{name}.tflite"
    if not model.exists():
        pytest.skip(f"bench model {model} not present")
    port = request.config.getoption("--port")
    if port:
        from tinyecg.device import Device

        data, graph = bench.convert.load_model(model)
        prog = bench.codegen.lower(graph)
        with Device(port, baud=request.config.getoption("--baud")) as dev:
            dev.sync()
            if dev.request(Msg.MODEL_INFO).kv().get("model") != graph.model_id:
                pytest.skip(f"board is not flashed with {name}")
            _check_device(dev, name, prog, data, record_property)
        return
    data, prog, elf = bench.build_for(model, env, tmp_path)
    board = qemu.boot(env, elf)
    try:
        dev = board.start()
        dev.wait_for(Msg.BOOT, timeout=10)
        counts = _check_device(dev, name, prog, data, record_property)
    finally:
        board.close()
    # -icount shift=0: deterministic per input. Limits: the SIMD kernels on the
    # M4F board (the targets: ecg_s 900,000, ecg_m 1,350,000), and on
    # the M3 (portable kernels) no slower than the first engine's portable
    # kernels.
    limit = {("ecg_s", "mps2_an386"): 900_000, ("ecg_m", "mps2_an386"): 1_350_000,
             ("ecg_s", "mps2_an385"): 2_896_159, ("ecg_m", "mps2_an385"): 4_839_382}.get((name, env))
    if limit:
        assert np.mean(counts) <= limit
