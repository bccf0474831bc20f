"""The zoo (tinyecg.zoo: the five MLPerf Tiny architectures and their hot
variants) on the device: each converted, built and run on QEMU Cortex-M4F
(mps2_an386), M7 (mps2_an500) and M3 (mps2_an385), every output byte
compared with tflite_micro on the chunked path (TENSOR_WRITE, INVOKE,
TENSOR_READ) that tools/bench.py uses.

On the MPS2 boards each model runs with its probes (zoo.with_probes: the
inputs of its pooling, FC, softmax and ADD operators as extra outputs), so
every feature map a saturated softmax would hide is compared too. Which
models run where and on which inputs: cases() and inputs() (the extremes,
all -128 and all 127, everywhere).

With ``--env netduinoplus2`` (make test's second HIL run: STM32F405, 128 KiB
RAM) MobileNet as converted runs (the fit check accepts it); ResNet-8 with
its probes (61,524 output bytes) must be refused by it, naming RAM and the
biggest tensors. With ``--port`` only the model the board was
flashed with runs (tests/hil/test_infer.py: on_device).

Cost: one firmware build per (env, model) into one build dir per env (only
the model's sources recompile) and one QEMU boot each; measured in
docs/engine.md ("The zoo on the device").
"""

from pathlib import Path

import numpy as np
import pytest

import tensor_checks as tc
from hil.test_infer import on_device, record_target
from tinyecg import bench, codegen, convert, tflite_import, zoo
from tinyecg.errors import TinyEcgError

MPS2 = ["mps2_an386", "mps2_an500", "mps2_an385"]  # with the default --env: one of each CPU
RAM_SMALL = "netduinoplus2"  # the second HIL run of make test


def cases(chosen: str) -> list[tuple[str, str]]:
    """(env, model) pairs. Default run: the ten models on the M4F (SIMD kernels)
    and the M3 (portable kernels), the five networks on the M7 (the M4F's SIMD
    code built for the M7: the hot variants' shortcuts are the same code, proven
    on the M4F), which keeps the QEMU part of make test near three minutes.
    netduinoplus2 (make test's second HIL run: the STM32 USART driver, a
    Cortex-M4F like mps2_an386): MobileNet, the network that fills its RAM the
    most (114,568 of 131,072 B) and sends the largest input (27,648 B); the
    fit check's refusal is test_fit_check_on_the_board. Any other --env: all ten."""
    if chosen == "mps2_an386":
        return [(env, name) for env in MPS2 for name in zoo.names()
                if not (env == "mps2_an500" and name.endswith(zoo.HOT_SUFFIX))]
    return [(chosen, name) for name in (["mobilenet"] if chosen == RAM_SMALL else zoo.names())]


def pytest_generate_tests(metafunc):
    if "name" in metafunc.fixturenames:
        pairs = cases(metafunc.config.getoption("--env"))
        metafunc.parametrize(("env", "name"), pairs, ids=[f"{e}-{n}" for e, n in pairs])


@pytest.fixture(scope="session")
def zoo_dir():
    """The zoo built (or found cached) in build/zoo."""
    for name in zoo.names():
        zoo.build(name)
    return zoo.DEFAULT_DIR


@pytest.fixture(scope="session")
def env_work(tmp_path_factory):
    """One work dir per env, shared by the models: each build recompiles only
    the generated model sources."""
    dirs = {}

    def get(env: str) -> Path:
        if env not in dirs:
            dirs[env] = tmp_path_factory.mktemp(f"zoo-{env}")
        return dirs[env]

    return get


def inputs(name: str, m: tc.Model, env: str) -> np.ndarray:
    """On mps2_an386: in-distribution, seeded random, all -128, all 127, all at
    the zero point. On the M7 and M3: in-distribution and the two extremes.
    On netduinoplus2: the two extremes and the zero point (the same CPU as
    mps2_an386, which ran the others)."""
    width = sum(m.in_sizes)
    zp = m.graph.tensors[m.graph.inputs[0]].qparams()[1]
    sample = zoo.sample_inputs(name, m.graph, 1)
    rnd, lo, hi = m.rows(1, seed=5)
    at_zp = np.full(width, zp, np.int8)
    rows = {"mps2_an386": [sample[0], rnd, lo, hi, at_zp], RAM_SMALL: [lo, hi, at_zp]}.get(env, [sample[0], lo, hi])
    return np.stack(rows)


def run_parity(dev, m: tc.Model, x: np.ndarray, prog) -> list[int]:
    got, counts = bench.run_vectors(dev, x, m.graph)
    ref = m.reference(x)
    bad = [i for i in range(len(x)) if not np.array_equal(got[i], ref[i])]
    assert not bad, f"inputs {bad} of {len(x)}: {int((got != ref).sum())} output bytes differ from tflite_micro"
    assert min(counts) > prog.macs // 2  # the counter measured the inference (SMLAD: two MACs an instruction)
    return counts


def test_zoo_parity(name, env, zoo_dir, env_work, request, tmp_path, record_property):
    model = tmp_path / f"{name}.tflite"
    data = (zoo_dir / f"{name}.tflite").read_bytes()
    model.write_bytes(data if env == RAM_SMALL else zoo.with_probes(data))

    def check(dev, prog, blob):
        m = tc.Model(blob)
        info = dev.model_info()
        assert info["model"] == prog.graph.model_id and int(info["macs"]) == prog.macs == zoo.network_of(name).macs
        x = inputs(name, m, env)
        run_parity(dev, m, x, prog)
        record_target(dev, record_property, len(x))

    on_device(model, env, request, env_work(env), check)


def test_fit_check_on_the_board(zoo_dir, env_work, request):
    """ResNet-8 with its probes (every ADD input an output: 61,524 output bytes):
    on the 128 KiB netduinoplus2 the fit check refuses it before anything is
    written, naming RAM and the biggest tensors; on the 4 MiB MPS2 boards it
    accepts it (and it runs: test_zoo_parity)."""
    if request.config.getoption("--port"):
        pytest.skip("the fit check is a host-side step (QEMU-only test)")
    env = request.config.getoption("--env")
    blob = zoo.with_probes((zoo_dir / "resnet8.tflite").read_bytes())
    prog = codegen.lower(tflite_import.parse(blob, "resnet8_probed.tflite"))
    fit = convert.check_fit(prog, env)
    if env != RAM_SMALL:
        assert fit.ok, fit.ram_text()
        return
    assert fit.flash_ok and not fit.ram_ok
    model = env_work(env) / "resnet8_probed.tflite"
    model.write_bytes(blob)
    with pytest.raises(TinyEcgError) as e:
        bench.build_for(model, env, env_work(env))
    msg = str(e.value)
    assert msg.startswith(f"resnet8_probed.tflite does not fit {RAM_SMALL}: needs {fit.ram_text()}; biggest: "), msg
    assert msg.count("tensor '") == 3, msg
