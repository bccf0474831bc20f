"""The shipped beat classifier (waveform + RR inputs, conv -> max-pool -> MEAN
chains, CONCATENATION into FULLY_CONNECTED): generated C == tflite_micro on
real DS1 beats and on random inputs, with the portable and the DSP kernels.

The bench models have no conv -> pool -> MEAN chain; a fusion bug there once
passed every bench and single-operator test, so the shipped model is judged
directly too."""

from pathlib import Path

import numpy as np
import pytest

import engine_util as eu
from tinyecg import codegen, tflite_import

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "arrhythmia" / "model_int8.tflite"


@pytest.mark.parametrize("variant", sorted(eu.VARIANTS))
def test_shipped_model_matches_tflite_micro(variant, tmp_path, kernel_variants, record_property):
    from tinyecg.calibrate import Int8Model, reference_beats

    model = SHIPPED.read_bytes()
    graph = tflite_import.parse(model, SHIPPED.name)
    codegen.generate(graph, tmp_path / "gen")
    exe = eu.build_host(tmp_path / "gen", tmp_path / "host", kernel_variants[variant])
    width = sum(graph.tensors[i].size for i in graph.inputs)
    out_bytes = sum(graph.tensors[i].size for i in graph.outputs)

    # real beats of a DS1 record through the device's input scaling
    beats, _ = reference_beats(119)
    m = Int8Model(model)
    qw, qf = m.inputs(beats["windows"][:300], beats["feats"][:300])
    parts = sorted([(m.quant.wave_index, qw), (m.quant.rr_index, qf)], key=lambda p: p[0])
    real = np.concatenate([p[1].reshape(len(qw), -1) for p in parts], axis=1).astype(np.int8)
    rng = np.random.default_rng(5)
    rand = rng.integers(-128, 128, size=(300, width), dtype=np.int8)
    x = np.concatenate([real, rand, np.full((1, width), -128, np.int8), np.full((1, width), 127, np.int8)])
    assert x.shape[1] == width

    ref = eu.run_tflm(model, graph, x)
    got = eu.run_host(exe, x, out_bytes)
    mism = int((got != ref).any(axis=1).sum())
    assert mism == 0, f"{mism} of {len(x)} inputs differ from tflite_micro ({variant} kernels)"
    record_property("vectors", len(x))
    record_property("target", "host x86-64 (gcc)")
    record_property("kernels", variant)
    assert len({bytes(r) for r in ref}) > 20  # not a degenerate agreement on constant outputs
