"""Bench models: generated C (host gcc) == tflite_micro, byte for byte, on the
bench vectors and on >= 1000 random inputs; arena within the TFLM figures."""

import re

import numpy as np
import pytest

import engine_util as eu
from tinyecg import codegen, tflite_import

BENCH = {"ecg_s": 7924, "ecg_m": 14468}  # TFLM arena_used_bytes on Cortex-M4 (CMSIS-NN)


def _bench(name):
    path = eu.BENCH / f"{name}.tflite"
    if not path.exists():
        pytest.skip(f"bench model {path} not present")
    return path


@pytest.mark.parametrize("variant", sorted(eu.VARIANTS))
@pytest.mark.parametrize("name", sorted(BENCH))
def test_bench_vectors_and_random_inputs(name, variant, tmp_path, kernel_variants, record_property):
    path = _bench(name)
    graph = tflite_import.load(path)
    prog = codegen.generate(graph, tmp_path / "gen")
    exe = eu.build_host(tmp_path / "gen", tmp_path / "host", kernel_variants[variant])

    x = np.load(eu.BENCH / f"{name}_input_int8.npy")
    expected = np.load(eu.BENCH / f"{name}_expected_int8.npy")
    got = eu.run_host(exe, x, 5)
    assert x.shape == (64, 256)
    assert np.array_equal(got, expected), f"{int((got != expected).any(axis=1).sum())} of 64 bench vectors differ"

    rng = np.random.default_rng(1234)
    # uniform int8 noise saturates the models; beats plus random noise reach
    # every class: use both, plus constant extremes and the zero point
    uniform = rng.integers(-128, 128, size=(500, 256), dtype=np.int8)
    base = x[rng.integers(0, len(x), size=600)].astype(np.int16)
    noisy = np.clip(base + rng.integers(-12, 13, size=base.shape), -128, 127).astype(np.int8)
    xr = np.concatenate([uniform, noisy, np.full((3, 256), -128, np.int8), np.full((3, 256), 127, np.int8),
                         np.full((3, 256), -23, np.int8)])
    ref = eu.run_tflm(path.read_bytes(), graph, xr)
    got = eu.run_host(exe, xr, 5)
    assert len(xr) >= 1000
    mism = int((got != ref).any(axis=1).sum())
    assert mism == 0, f"{mism} of {len(xr)} random inputs differ from tflite_micro"
    # the report's equivalence section reads these from the JUnit XML
    record_property("vectors", len(x) + len(xr))
    record_property("target", "host x86-64 (gcc)")
    record_property("kernels", variant)
    # the outputs are not trivially constant (a broken model could still "agree" on nothing)
    assert len({bytes(r) for r in ref}) > 50

    assert prog.arena_bytes <= BENCH[name]


@pytest.mark.parametrize("name", sorted(BENCH))
def test_generation_is_deterministic_and_views_are_free(name, tmp_path):
    path = _bench(name)
    a = codegen.render(codegen.lower(tflite_import.load(path), ["N", "S", "V", "F", "Q"]))
    b = codegen.render(codegen.lower(tflite_import.load(path), ["N", "S", "V", "F", "Q"]))
    assert a == b
    codegen.write(a, tmp_path / "one")
    codegen.write(b, tmp_path / "two")
    for f in codegen.GENERATED_FILES:
        assert (tmp_path / "one" / f).read_bytes() == (tmp_path / "two" / f).read_bytes()

    prog = codegen.lower(tflite_import.load(path))
    g = prog.graph
    views = [op for op in g.ops if op.kind in ("RESHAPE", "EXPAND_DIMS", "SQUEEZE")]
    assert views, "bench models use views"
    for op in views:  # a view shares its input's storage and gets no buffer, no call
        assert prog.root_of[op.outputs[0]] == prog.root_of[op.inputs[0]]
        assert op.outputs[0] not in prog.buffers
    model_c = a["model.c"]
    calls = re.findall(r"rc \|= (tnn_\w+)\(", model_c)
    fused = [layer for layer in prog.layers if layer.fused_into]
    assert len(calls) == len(g.ops) - len(views) - len(fused) == len(prog.steps)
    # every MAX_POOL_2D and the MEAN of the bench models fold into the conv before them
    assert sorted({layer.op.kind for layer in fused}) == ["MAX_POOL_2D", "MEAN"]
    assert not [op for op in g.ops if op.kind == "MAX_POOL_2D" and op.index not in {f.op.index for f in fused}]
    for layer in fused:  # the fused-away intermediate tensors get no memory
        conv = next(c for c in prog.layers if c.name == layer.fused_into)
        assert prog.root_of[layer.op.inputs[0]] not in prog.buffers
        assert conv.writes == layer.writes
    assert "memcpy(" not in model_c  # the output is written in place into the caller's buffer
    assert "float" not in a["model.c"] and "double" not in a["model.c"]
    # arena: live tensors never overlap
    bufs = list(prog.buffers.values())
    for i, p in enumerate(bufs):
        for q in bufs[i + 1:]:
            if not (p.last < q.first or q.last < p.first):
                assert p.offset + p.size <= q.offset or q.offset + q.size <= p.offset
    assert prog.arena_bytes == max(b.offset + ((b.size + 3) // 4) * 4 for b in bufs)


def test_committed_firmware_model_matches_generator(tmp_path):
    """firmware/model is what the generator produces now for the model it names."""
    cfg = (eu.ROOT / "firmware" / "model" / "model_config.h").read_text()
    model_id = re.search(r'#define MODEL_ID "(\w+)"', cfg).group(1)
    classes = re.search(r'#define MODEL_CLASS_LIST "([^"]*)"', cfg)
    candidates = list(eu.BENCH.glob("*.tflite")) + list((eu.ROOT / "models").rglob("*.tflite"))
    for path in candidates:
        graph = tflite_import.load(path)
        if graph.model_id == model_id:
            names = classes.group(1).split(",") if classes else None
            files = codegen.render(codegen.lower(graph, names))
            for f, text in files.items():
                assert (eu.ROOT / "firmware" / "model" / f).read_text() == text, f"firmware/model/{f} is stale"
            return
    pytest.skip(f"the .tflite of firmware/model (id {model_id}) is not available here")
