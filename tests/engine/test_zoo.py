"""The zoo (tinyecg.zoo): the five MLPerf Tiny architectures, trained briefly
and their hot variants. On the host, with the portable and the emulated-DSP
kernels, every output and every probed feature map equals tflite_micro; the
architectures have the published MAC counts; the hot variants really reach
the limits the requantization shortcuts are proven to (TNN_F_FAST bound,
left shifts, right shifts beyond SMMLAR's 22, zero multipliers) and one layer
per network goes past the bound and is lowered to the reference kernels."""

import numpy as np
import pytest

import engine_util as eu
from tinyecg import codegen, tflite_import, zoo

PUBLISHED_OPS = {
    "fc_ae": {"FULLY_CONNECTED"},
    "ds_cnn": {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"},
    "resnet8": {"CONV_2D", "ADD", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"},
    "mobilenet": {"CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"},
    "str_ww": {"CONV_2D", "DEPTHWISE_CONV_2D", "RESHAPE", "FULLY_CONNECTED", "SOFTMAX"},
}


@pytest.fixture(scope="session")
def zoo_dir():
    """The zoo built (or found cached) in build/zoo."""
    for name in zoo.names():
        zoo.build(name)
    return zoo.DEFAULT_DIR


def _lower(zoo_dir, name):
    return codegen.lower(tflite_import.load(zoo_dir / f"{name}.tflite"))


@pytest.mark.parametrize("name", zoo.names(hot=False))
def test_architecture(name, zoo_dir):
    prog = _lower(zoo_dir, name)
    net = zoo.NETWORKS[name]
    assert prog.macs == net.macs
    assert {op.kind for op in prog.graph.ops} <= PUBLISHED_OPS[name] | {"QUANTIZE"}
    assert prog.input_bytes == int(np.prod(net.input_shape))
    # every convolution and fully connected layer takes a SIMD kernel, none the reference
    kernels = {layer.op.kind: set() for layer in prog.steps}
    for layer in prog.steps:
        kernels[layer.op.kind].add(layer.kernel)
    assert kernels.get("FULLY_CONNECTED", {"tnn_fc_s8"}) == {"tnn_fc_s8"}
    assert kernels.get("CONV_2D", set()) <= {"tnn_conv2d_s8", "tnn_conv1d_s8"}
    # flash: weights + channel tables <= 1.1 x the .tflite's weight + bias bytes
    assert prog.weight_bytes <= 1.1 * prog.src_weight_bytes
    # memory: never above the layer-by-layer floor (whole tensors live at one operator),
    # below it where the graph allows (MobileNet: depthwise + pointwise row by row, in-place depthwise)
    assert 0 < prog.arena_bytes <= prog.floor_bytes
    if name == "mobilenet":
        assert prog.arena_bytes < 0.7 * prog.floor_bytes


@pytest.mark.parametrize("name", zoo.names())
def test_host_parity(name, zoo_dir, tmp_path, kernel_variants):
    """Outputs and probed feature maps (inputs of pooling, FC, softmax, ADD)
    equal tflite_micro on random, in-distribution and constant inputs."""
    data = zoo.with_probes((zoo_dir / f"{name}.tflite").read_bytes())
    graph = tflite_import.parse(data, name)
    width = sum(graph.tensors[i].size for i in graph.inputs)
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.integers(-128, 128, (16, width), dtype=np.int8), zoo.sample_inputs(name, graph, 16),
                        np.full((1, width), -128, np.int8), np.full((1, width), 127, np.int8),
                        np.full((1, width), graph.tensors[graph.inputs[0]].qparams()[1], np.int8)])
    graph, ref, got = eu.parity(data, tmp_path, inputs=x, kernel_objs=kernel_variants)
    assert len(graph.outputs) > 1  # the probes are there
    for variant, out in got.items():
        bad = int((out != ref).any(axis=1).sum())
        assert bad == 0, f"{variant}: {bad} of {len(x)} inputs differ from tflite_micro"
    assert len({bytes(r) for r in ref}) >= len(x) - 3  # the probed maps tell the inputs apart


@pytest.mark.parametrize("name", zoo.names(hot=True))
def test_hot_variant_reaches_the_limits(name, zoo_dir):
    prog = _lower(zoo_dir, name)
    weighted = [layer for layer in prog.layers if layer.requant]
    fast = [layer for layer in weighted if ("flags", "TNN_F_FAST") in layer.fields]
    assert fast, "no layer takes the fast kernels"
    # every fast layer is within its proof ...
    assert all(layer.requant["fast_ratio"] < 1.0 for layer in fast)
    # ... and one comes within a millionth of the TNN_F_FAST bound
    assert max(layer.requant["fast_ratio"] for layer in fast) > 0.999999
    # left shifts (multipliers > 1) on fast layers, as far as 6
    assert max(layer.requant["max_lshift"] for layer in fast) >= 6
    # right shifts beyond SMMLAR's 22 and zero multipliers
    assert max(layer.requant["max_rshift"] for layer in weighted) > 22
    assert sum(layer.requant["zero_multipliers"] for layer in weighted) > 0
    # one layer past the bound: lowered to the reference kernels
    over = [layer for layer in weighted if layer.requant["fast_ratio"] >= 1.0]
    assert over and all(layer.kernel in ("tnn_conv_s8", "tnn_depthwise_conv_s8") for layer in over)
