"""A zoo of the standard TinyML reference architectures, built here.

Five networks written after the published architectures of the MLPerf Tiny
inference benchmark (its training code is public; these definitions are our
own), each trained briefly on seeded synthetic data and converted full-int8
(int8 in, int8 out, per-channel weights) with a representative set:

=============  ==============================================  ===========
name           architecture                                    MACs
=============  ==============================================  ===========
``fc_ae``      anomaly detection: FC autoencoder 640 -> 128x4   264,192
               -> 8 -> 128x4 -> 640
``ds_cnn``     keyword spotting: DS-CNN on 49x10x1 MFCCs       2,656,768
``resnet8``    image classification: ResNet-8, CIFAR-10        12,501,632
``mobilenet``  visual wake words: MobileNetV1 0.25, 96x96x3    7,489,664
``str_ww``     streaming wake word: DS-TCN on 30x1x40          826,368
=============  ==============================================  ===========

``hot`` variants (``<name>_hot``) take the trained int8 model and push the
integer ranges the way real trained weights can, and random weights do not,
to the limits the kernels' requantization shortcuts rely on (docs/engine.md):
per layer, channels whose weights saturate to +-127 (the largest sum |w|),
biases at the largest value the TNN_F_FAST bound allows for the channel's
left shift (|bias| + 128 sum|w|) * 2^(lshift+1) < 2^31, per-channel weight
scales giving multipliers above 1 (left shifts 1..7: the depthwise halfword
taps hold lshift <= 6), "dead" channels whose multiplier needs a right shift
beyond 22 (the SMMLAR path's limit) or is 0, one channel per network one past
the bound (its layer must take the reference kernels), and ADDs whose input
scales differ by 2^12. The model stays a valid TFLite model: tflite_micro is
still the judge of every output.

``build(name, out_dir)`` writes ``<out_dir>/<name>.tflite`` and returns its
path; a manifest beside it records the hash of everything that determines the
bytes (this file, the TF version, the seed), so a second call is free.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .convert import quiet_fd2
from .errors import TinyEcgError
from .quantize import full_int8

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "build" / "zoo"
SEED = 20250
HOT_SUFFIX = "_hot"
# Keras layers' BatchNormalization momentum for the brief training: the
# moving statistics settle in a few dozen steps (the architecture is unchanged).
BN_MOMENTUM = 0.9


# --------------------------------------------------------------------------
# Keras definitions
# --------------------------------------------------------------------------


def _keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    return keras


def _bn_relu(x, keras):
    x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    return keras.layers.Activation("relu")(x)


def fc_autoencoder(keras):
    """MLPerf Tiny anomaly detection: 640 -> 4 x (Dense 128, BN, ReLU) -> Dense 8
    (BN, ReLU) -> 4 x (Dense 128, BN, ReLU) -> Dense 640 (linear)."""
    inp = keras.Input(shape=(640,))
    x = inp
    for units in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        x = _bn_relu(keras.layers.Dense(units)(x), keras)
    out = keras.layers.Dense(640)(x)
    return keras.Model(inp, out, name="fc_ae")


def ds_cnn(keras):
    """MLPerf Tiny keyword spotting (DS-CNN): 10x4 conv stride 2 (64 filters) on
    49x10 MFCCs, four depthwise-separable blocks (3x3 depthwise, 1x1 64), each
    conv followed by BN + ReLU, average pool over the 25x5 map, Dense 12."""
    inp = keras.Input(shape=(49, 10, 1))
    x = keras.layers.Conv2D(64, (10, 4), strides=(2, 2), padding="same")(inp)
    x = _bn_relu(x, keras)
    for _ in range(4):
        x = _bn_relu(keras.layers.DepthwiseConv2D((3, 3), padding="same")(x), keras)
        x = _bn_relu(keras.layers.Conv2D(64, (1, 1), padding="same")(x), keras)
    x = keras.layers.AveragePooling2D(pool_size=(25, 5))(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(12, activation="softmax")(x)
    return keras.Model(inp, out, name="ds_cnn")


def resnet8(keras):
    """MLPerf Tiny image classification (ResNet-8 on CIFAR-10): 3x3 conv 16, then
    three residual stacks (16, 32 stride 2, 64 stride 2) of two 3x3 convs with
    an identity or 1x1 stride-2 projection shortcut, ReLU after the ADD;
    average pool 8x8, Dense 10."""
    inp = keras.Input(shape=(32, 32, 3))
    x = _bn_relu(keras.layers.Conv2D(16, 3, padding="same")(inp), keras)
    for filters, stride in ((16, 1), (32, 2), (64, 2)):
        y = _bn_relu(keras.layers.Conv2D(filters, 3, strides=stride, padding="same")(x), keras)
        y = keras.layers.BatchNormalization(momentum=BN_MOMENTUM)(keras.layers.Conv2D(filters, 3, padding="same")(y))
        if stride != 1:
            x = keras.layers.Conv2D(filters, 1, strides=stride, padding="same")(x)
        x = keras.layers.Activation("relu")(keras.layers.Add()([x, y]))
    x = keras.layers.AveragePooling2D(pool_size=8)(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(10, activation="softmax")(x)
    return keras.Model(inp, out, name="resnet8")


def mobilenet_v1_025(keras):
    """MLPerf Tiny visual wake words (MobileNetV1, width 0.25, 96x96x3): 3x3 conv
    stride 2 (8 filters), 13 depthwise-separable blocks (3x3 depthwise + BN +
    ReLU, 1x1 conv + BN + ReLU), average pool 3x3, Dense 2."""
    inp = keras.Input(shape=(96, 96, 3))
    x = _bn_relu(keras.layers.Conv2D(8, 3, strides=2, padding="same")(inp), keras)
    # (pointwise filters, depthwise stride) of the 13 blocks
    blocks = [(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2)] + [(128, 1)] * 5 + [(256, 2), (256, 1)]
    for filters, stride in blocks:
        x = _bn_relu(keras.layers.DepthwiseConv2D(3, strides=stride, padding="same")(x), keras)
        x = _bn_relu(keras.layers.Conv2D(filters, 1, padding="same")(x), keras)
    x = keras.layers.AveragePooling2D(pool_size=3)(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(2, activation="softmax")(x)
    return keras.Model(inp, out, name="mobilenet")


def str_ww(keras):
    """MLPerf Tiny streaming wake word (DS-TCN): on 30 frames x 40 features laid
    out as 30x1x40, four blocks of a VALID kx1 depthwise conv along time
    (k = 3, 5, 10, 15; no bias) and a 1x1 conv (128, 128, 128, 32; no bias)
    with BN + ReLU; the time axis ends at 1; Dense 3 with softmax."""
    inp = keras.Input(shape=(30, 1, 40))
    x = inp
    for k, filters in ((3, 128), (5, 128), (10, 128), (15, 32)):
        x = keras.layers.DepthwiseConv2D((k, 1), padding="valid", use_bias=False)(x)
        x = _bn_relu(keras.layers.Conv2D(filters, 1, use_bias=False)(x), keras)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(3, activation="softmax")(x)
    return keras.Model(inp, out, name="str_ww")


# --------------------------------------------------------------------------
# Synthetic data (seeded): inputs with structure the brief training can learn
# --------------------------------------------------------------------------


def _smooth(rng, shape, axes, width: int = 5) -> np.ndarray:
    """Gaussian noise smoothed with a box filter along the given axes."""
    x = rng.standard_normal(shape).astype(np.float32)
    for ax in axes:
        k = np.ones(width, np.float32) / width
        x = np.apply_along_axis(lambda v: np.convolve(v, k, mode="same"), ax, x)
    return x


def _class_data(rng, shape, classes, n, axes, noise=0.6):
    """n inputs of `classes` smooth prototypes plus noise; one-hot labels."""
    protos = np.stack([_smooth(rng, shape, axes) * 2.0 for _ in range(classes)])
    y = rng.integers(0, classes, n)
    x = protos[y] + noise * rng.standard_normal((n, *shape)).astype(np.float32)
    return x.astype(np.float32), np.eye(classes, dtype=np.float32)[y]


def _ae_data(rng, n):
    """Log-mel-like frames: 5 frames x 128 bins of smooth curves with a shared
    offset per sample."""
    base = _smooth(rng, (n, 128), axes=(1,), width=9) * 3.0
    frames = base[:, None, :] + 0.3 * rng.standard_normal((n, 5, 128)).astype(np.float32)
    x = (frames + rng.normal(0, 1, (n, 1, 1)).astype(np.float32)).reshape(n, 640)
    return x.astype(np.float32), x.astype(np.float32)


@dataclass(frozen=True)
class Network:
    name: str
    title: str
    build: Callable
    input_shape: tuple[int, ...]
    macs: int  # as the published architecture counts them
    data: Callable  # (rng, n) -> (x, y)
    loss: str
    tflm_cmsis_nn: int  # TFLM + CMSIS-NN instructions on mps2_an386 (issue 10, /work/shared/NOTES.md)
    tflm_arena: int  # TFLM arena with CMSIS-NN, bytes


NETWORKS: dict[str, Network] = {n.name: n for n in (
    Network("fc_ae", "FC autoencoder 640-128x4-8-128x4-640", fc_autoencoder, (640,), 264_192,
            _ae_data, "mse", 582_948, 2_580),
    Network("ds_cnn", "DS-CNN keyword spotting 49x10x1", ds_cnn, (49, 10, 1), 2_656_768,
            lambda rng, n: _class_data(rng, (49, 10, 1), 12, n, axes=(0, 1)), "categorical_crossentropy",
            7_698_148, 22_820),
    Network("resnet8", "ResNet-8 CIFAR-10 32x32x3", resnet8, (32, 32, 3), 12_501_632,
            lambda rng, n: _class_data(rng, (32, 32, 3), 10, n, axes=(0, 1)), "categorical_crossentropy",
            29_863_452, 54_996),
    Network("mobilenet", "MobileNetV1 0.25 visual wake words 96x96x3", mobilenet_v1_025, (96, 96, 3), 7_489_664,
            lambda rng, n: _class_data(rng, (96, 96, 3), 2, n, axes=(0, 1)), "categorical_crossentropy",
            24_101_908, 100_708),
    Network("str_ww", "streaming wake word DS-TCN 30x1x40", str_ww, (30, 1, 40), 826_368,
            lambda rng, n: _class_data(rng, (30, 1, 40), 3, n, axes=(0, 2)), "categorical_crossentropy",
            2_227_280, 16_596),
)}
TRAIN_SAMPLES, EPOCHS, BATCH, REP_SAMPLES, LEARNING_RATE = 384, 2, 32, 64, 0.02


def names(hot: bool | None = None) -> list[str]:
    """Zoo model names: the trained networks, their hot variants, or both (None)."""
    base = list(NETWORKS)
    hots = [n + HOT_SUFFIX for n in base]
    return base if hot is False else hots if hot else base + hots


def network_of(name: str) -> Network:
    base = name[: -len(HOT_SUFFIX)] if name.endswith(HOT_SUFFIX) else name
    if base not in NETWORKS:
        raise TinyEcgError(f"unknown zoo model '{name}' (known: {', '.join(names())})")
    return NETWORKS[base]


# --------------------------------------------------------------------------
# Training and conversion
# --------------------------------------------------------------------------


def train_and_convert(net: Network, seed: int = SEED) -> bytes:
    """Train briefly on synthetic data (seeded, deterministic ops) and convert
    full-int8 with a representative set from the same distribution."""
    keras = _keras()
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    rng = np.random.default_rng(seed)
    model = net.build(keras)
    x, y = net.data(rng, TRAIN_SAMPLES)
    # plain SGD, no XLA: tracing Adam's per-variable update ops costs more than
    # the whole brief training on these networks
    model.compile(optimizer=keras.optimizers.SGD(LEARNING_RATE), loss=net.loss, jit_compile=False)
    model.fit(x, y, epochs=EPOCHS, batch_size=BATCH, shuffle=True, verbose=0)
    rep, _ = net.data(np.random.default_rng(seed + 1), REP_SAMPLES)

    inp = keras.Input(batch_shape=(1, *net.input_shape))
    fixed = keras.Model(inp, model(inp))

    def representative():
        for i in range(len(rep)):
            yield [rep[i : i + 1]]

    # the converter prints pages of SavedModel and MLIR chatter (Python and C)
    with contextlib.redirect_stdout(io.StringIO()), quiet_fd2():
        return full_int8(fixed, representative)


def sample_inputs(name: str, graph, n: int, seed: int = 1) -> np.ndarray:
    """n in-distribution int8 inputs of a zoo model: its synthetic data
    quantized with the model's input scale and zero point, one row each."""
    net = network_of(name)
    x, _ = net.data(np.random.default_rng(SEED + 100 + seed), n)
    scale, zp = graph.tensors[graph.inputs[0]].qparams()
    return np.clip(np.round(x.reshape(n, -1) / scale) + zp, -128, 127).astype(np.int8)


# --------------------------------------------------------------------------
# Hot variants: flatbuffer surgery on the trained int8 model
# --------------------------------------------------------------------------

FAST_LIMIT = 1 << 31  # TNN_F_FAST: bound * 2^(lshift + 1) < 2^31


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as S

    return S


def _buf_array(m, t, dtype) -> np.ndarray:
    return np.frombuffer(bytes(bytearray(m.buffers[t.buffer].data)), dtype=dtype).copy()


def _set_buf(m, t, arr) -> None:
    m.buffers[t.buffer].data = np.frombuffer(np.ascontiguousarray(arr).tobytes(), dtype=np.uint8)


def _own_tensor(m, sg, t: int, owned: set, pristine) -> int:
    """Tensor t if no layer changed it or its buffer yet, else a copy with its
    own buffer (the converter shares equal constants, e.g. zero biases, as one
    tensor or as one buffer); pristine: the model as converted."""
    import copy

    S = _schema()
    tensor = sg.tensors[t]
    if ("t", t) in owned:
        tensor = copy.deepcopy(tensor)
        sg.tensors.append(tensor)
        t = len(sg.tensors) - 1
    if ("b", tensor.buffer) in owned:
        buf = S.BufferT()
        buf.data = np.array(pristine.buffers[tensor.buffer].data, dtype=np.uint8)  # as converted
        m.buffers.append(buf)
        tensor.buffer = len(m.buffers) - 1
    owned |= {("t", t), ("b", tensor.buffer)}
    return t


def heat(model_bytes: bytes, seed: int = SEED) -> bytes:
    """The hot variant of a trained int8 model (see the module docstring)."""
    import flatbuffers

    S = _schema()
    m = S.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    pristine = S.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    sg = m.subgraphs[0]
    kinds = {i: max(c.builtinCode, c.deprecatedBuiltinCode) for i, c in enumerate(m.operatorCodes)}
    name_of = {v: k for k, v in vars(S.BuiltinOperator).items() if not k.startswith("_")}
    rng = np.random.default_rng(seed)
    weighted = [op for op in sg.operators
                if name_of[kinds[op.opcodeIndex]] in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")]
    # ADD inputs 2^12 apart: scale down a conv output that only the ADD reads
    # (first, so the layer changes below see the new scale)
    readers: dict[int, list] = {}
    for op in sg.operators:
        for t in op.inputs:
            readers.setdefault(t, []).append(op)
    for op in sg.operators:
        if name_of[kinds[op.opcodeIndex]] != "ADD":
            continue
        for t in op.inputs:
            producer = next((p for p in weighted if t in p.outputs), None)
            if producer is not None and len(readers.get(t, [])) == 1 and t not in sg.outputs:
                q = sg.tensors[t].quantization
                q.scale = [float(np.float32(q.scale[0] * 2.0 ** -12))]
                break
    over = int(rng.integers(0, len(weighted)))  # the layer with one channel past the bound
    owned: set = set()
    for li, op in enumerate(weighted):
        kind = name_of[kinds[op.opcodeIndex]]
        x, y = sg.tensors[op.inputs[0]], sg.tensors[op.outputs[0]]
        for pos in (1, 2):  # the converter shares equal constants (zero biases): give this layer its own
            if pos < len(op.inputs) and op.inputs[pos] >= 0:
                op.inputs[pos] = _own_tensor(m, sg, op.inputs[pos], owned, pristine)
        w_t = sg.tensors[op.inputs[1]]
        b_t = sg.tensors[op.inputs[2]] if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
        s_in, s_out = float(x.quantization.scale[0]), float(y.quantization.scale[0])
        zp_in = int(x.quantization.zeroPoint[0])
        w = _buf_array(m, w_t, np.int8).reshape(w_t.shape).astype(np.int64)
        qdim = 3 if kind == "DEPTHWISE_CONV_2D" else 0
        wc = np.moveaxis(w, qdim, 0).reshape(w.shape[qdim], -1)  # [channel][taps] (a copy)
        oc = wc.shape[0]
        scales = np.resize(np.asarray(w_t.quantization.scale, np.float64), oc)
        bias = _buf_array(m, b_t, np.int32).astype(np.int64) if b_t is not None else np.zeros(oc, np.int64)
        max_l = 7 if kind == "DEPTHWISE_CONV_2D" else 6
        role = rng.choice(["saturate", "limit", "shifted", "dead", "plain"], size=oc,
                          p=[0.3, 0.25, 0.2, 0.1, 0.15])
        for c in range(oc):
            if role[c] in ("saturate", "limit"):
                sign = np.where(wc[c] != 0, np.sign(wc[c]), rng.choice([-1, 1], size=wc.shape[1]))
                wc[c] = sign * 127
            lshift = 0
            if role[c] in ("limit", "shifted"):
                lshift = int(rng.integers(1, max_l + 1))
            if role[c] == "dead":  # multiplier needing a right shift > 22, or 0
                target = 2.0 ** -float(rng.choice([24, 27, 31, 40]))
            else:
                target = 2.0 ** lshift * rng.uniform(0.5, 0.99) if lshift else scales[c] * s_in / s_out
            scales[c] = target * s_out / s_in
            if role[c] == "limit":  # the folded bias (bias - zp_in * sum w) at the bound
                room = FAST_LIMIT // (1 << (lshift + 1)) - 1 - 128 * int(np.abs(wc[c]).sum())
                bias[c] = zp_in * int(wc[c].sum()) + int(rng.choice([-1, 1])) * max(room, 0)
        if li == over:  # one channel one past the bound: the layer must take the reference kernels
            c = int(rng.integers(0, oc))
            wc[c] = np.where(wc[c] != 0, np.sign(wc[c]), 1) * 127
            scales[c] = 1.5 * s_out / s_in  # multiplier 0.75 * 2^1
            bias[c] = zp_in * int(wc[c].sum()) + FAST_LIMIT // 4 - 128 * int(np.abs(wc[c]).sum())
        shape_c = (w.shape[qdim],) + tuple(np.delete(w.shape, qdim))
        w_new = np.moveaxis(wc.reshape(shape_c), 0, qdim)
        _set_buf(m, w_t, w_new.astype(np.int8))
        w_t.quantization.scale = [float(np.float32(s)) for s in scales]
        w_t.quantization.zeroPoint = [0] * oc
        w_t.quantization.quantizedDimension = qdim
        if b_t is not None:
            bias = np.clip(bias, -(1 << 31), (1 << 31) - 1)
            _set_buf(m, b_t, bias.astype(np.int32))
            b_t.quantization.scale = [float(np.float32(s * s_in)) for s in scales]
            b_t.quantization.zeroPoint = [0] * oc
    b = flatbuffers.Builder(len(model_bytes) + 4096)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


# --------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------


def _key(name: str) -> str:
    """Hash of what determines a zoo model's bytes: the source of its Keras
    definition, data, training and conversion (and of the hot surgery for a
    hot variant), the training constants and the TF / tflite-micro versions."""
    import inspect
    from importlib.metadata import version

    net = network_of(name)
    parts = [net.build, net.data, _bn_relu, _smooth, _class_data, _ae_data, train_and_convert]
    if name.endswith(HOT_SUFFIX):
        parts += [heat, _own_tensor, _buf_array, _set_buf]
    h = hashlib.sha256()
    for fn in parts:
        h.update(inspect.getsource(fn).encode())
    h.update(repr((net.name, net.input_shape, net.loss, SEED, BN_MOMENTUM, TRAIN_SAMPLES, EPOCHS, BATCH,
                   REP_SAMPLES, LEARNING_RATE, FAST_LIMIT, version("tensorflow"), version("tflite-micro"))).encode())
    return h.hexdigest()[:16]


def build(name: str, out_dir: str | Path | None = None, progress: Callable[[str], None] | None = None) -> Path:
    """The zoo model's .tflite in out_dir (default build/zoo), built if absent or stale."""
    net = network_of(name)
    out = Path(out_dir or DEFAULT_DIR)
    path = out / f"{name}.tflite"
    manifest = out / f"{name}.json"
    key = _key(name)
    if path.exists() and manifest.exists():
        try:
            if json.loads(manifest.read_text()).get("key") == key:
                return path
        except (OSError, ValueError):
            pass
    out.mkdir(parents=True, exist_ok=True)
    if name.endswith(HOT_SUFFIX):
        blob = heat(build(net.name, out, progress).read_bytes())
    else:
        if progress:
            progress(f"training {name} ({net.title})")
        blob = train_and_convert(net)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(blob)
    tmp.replace(path)
    manifest.write_text(json.dumps({"key": key, "name": name, "title": net.title,
                                    "sha256": hashlib.sha256(blob).hexdigest()}, indent=1) + "\n")
    return path


# --------------------------------------------------------------------------
# Probes: the same model with its hidden feature maps as extra outputs
# --------------------------------------------------------------------------

PROBED_INPUTS_OF = ("AVERAGE_POOL_2D", "FULLY_CONNECTED", "SOFTMAX", "ADD")


def with_probes(model_bytes: bytes) -> bytes:
    """The model with the data inputs of its pooling, fully connected, softmax
    and ADD operators added to the graph outputs (after the original ones).
    A classifier's final softmax saturates on most inputs; its feature maps do
    not, so comparing them with tflite_micro tests every layer before them."""
    import flatbuffers

    S = _schema()
    m = S.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    sg = m.subgraphs[0]
    name_of = {v: k for k, v in vars(S.BuiltinOperator).items() if not k.startswith("_")}
    kinds = {i: name_of[max(c.builtinCode, c.deprecatedBuiltinCode)] for i, c in enumerate(m.operatorCodes)}
    outs = list(sg.outputs)
    consts = {i for i, t in enumerate(sg.tensors) if m.buffers[t.buffer].data is not None
              and len(m.buffers[t.buffer].data)}
    for op in sg.operators:
        if kinds[op.opcodeIndex] in PROBED_INPUTS_OF:
            for t in op.inputs:
                if t >= 0 and t not in consts and t not in sg.inputs and t not in outs:
                    outs.append(int(t))
    sg.outputs = outs
    b = flatbuffers.Builder(len(model_bytes) + 4096)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())
