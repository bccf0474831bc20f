"""The beat classifiers: the int8 student that ships, and the float teacher it learns from.

Both read the same inputs (:func:`tinyecg.features.inputs`): the beat window
with the beat-minus-template channel (128 x 2) and 16 integer features.

**Student** (:func:`build_model`): a small 1D CNN made only of layers the int8
engine supports after TFLite conversion: Conv1D (-> EXPAND_DIMS + CONV_2D +
RESHAPE), MaxPool1D (-> EXPAND_DIMS + MAX_POOL_2D + RESHAPE),
GlobalAveragePooling1D (-> MEAN), Dense (FULLY_CONNECTED), Concatenate, ReLU
fused into the producing op, Softmax. Dropout disappears at conversion; no
BatchNorm, no Flatten, no recurrent layers. :data:`ALLOWED_TFLITE_OPS` is the
contract with the engine; a test converts the default model and checks its op
list against it. The last Dense layer (``logits``) is separate from the
Softmax so that a calibration temperature can be folded into its weights
(:func:`fold_temperature`).

**Teacher** (:func:`build_teacher`): float only, never converted: residual
blocks of two convolutions with batch normalisation, wider and deeper, and a
wider network on the features. The shipped teacher is an ensemble of these
(one per cross-validation fold, :mod:`tinyecg.train`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .data import CLASSES
from .features import N_FEAT, WAVE_CHANNELS
from .preprocess import WIN

ALLOWED_TFLITE_OPS = frozenset({
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D", "AVERAGE_POOL_2D",
    "MEAN", "CONCATENATION", "ADD", "SOFTMAX", "RESHAPE", "EXPAND_DIMS",
    "QUANTIZE", "DEQUANTIZE",
})


@dataclass
class ModelConfig:
    """The student (int8, on the device)."""
    width: int = 8          # filters of the first conv; doubles per block up to 4*width
    depth: int = 4          # conv blocks (each conv + relu + maxpool 2)
    kernel: int = 7         # first conv kernel; later ones use 5
    rr_units: int = 32      # dense layer on the features
    dense: int = 32         # dense layer after the concatenation
    dropout: float = 0.2
    wave_channels: int = WAVE_CHANNELS
    n_feat: int = N_FEAT

    def to_dict(self):
        return asdict(self)


@dataclass
class TeacherConfig:
    """The float teacher (one ensemble member)."""
    width: int = 32         # filters of the first block; doubles per block up to 4*width
    depth: int = 4          # residual blocks (conv-BN-ReLU-conv-BN + skip, ReLU, maxpool 2)
    kernel: int = 7
    rr_units: int = 64      # two dense layers on the features
    dense: int = 128
    dropout: float = 0.3
    wave_channels: int = WAVE_CHANNELS
    n_feat: int = N_FEAT

    def to_dict(self):
        return asdict(self)


def _inputs(cfg, batch_size=None):
    import keras
    wave = keras.Input((WIN, cfg.wave_channels), batch_size=batch_size, name="wave")
    rr = keras.Input((cfg.n_feat,), batch_size=batch_size, name="rr")
    return wave, rr


def _head(h, cfg, n_classes):
    from keras import layers
    if cfg.dropout:
        h = layers.Dropout(cfg.dropout, name="dropout")(h)
    logits = layers.Dense(n_classes, name="logits")(h)
    return layers.Softmax(name="probs")(logits)


def build_model(cfg: ModelConfig | None = None, n_classes: int = len(CLASSES)):
    """The student."""
    import keras
    from keras import layers

    cfg = cfg or ModelConfig()
    wave, rr = _inputs(cfg)
    x = wave
    for b in range(cfg.depth):
        filters = cfg.width * min(2 ** b, 4)
        k = cfg.kernel if b == 0 else 5
        x = layers.Conv1D(filters, k, padding="same", activation="relu", name=f"conv{b}")(x)
        x = layers.MaxPooling1D(2, name=f"pool{b}")(x)
    x = layers.GlobalAveragePooling1D(name="gap")(x)
    r = layers.Dense(cfg.rr_units, activation="relu", name="rr_dense")(rr)
    h = layers.Concatenate(name="concat")([x, r])
    h = layers.Dense(cfg.dense, activation="relu", name="dense")(h)
    return keras.Model([wave, rr], _head(h, cfg, n_classes), name="tinyecg_student")


def build_teacher(cfg: TeacherConfig | None = None, n_classes: int = len(CLASSES)):
    """One teacher network (float only)."""
    import keras
    from keras import layers

    cfg = cfg or TeacherConfig()
    wave, rr = _inputs(cfg)
    x = wave
    for b in range(cfg.depth):
        filters = cfg.width * min(2 ** b, 4)
        k = cfg.kernel if b == 0 else 5
        skip = layers.Conv1D(filters, 1, use_bias=False, name=f"t{b}_skip")(x)
        h = layers.Conv1D(filters, k, padding="same", use_bias=False, name=f"t{b}_conv1")(x)
        h = layers.ReLU(name=f"t{b}_relu1")(layers.BatchNormalization(name=f"t{b}_bn1")(h))
        h = layers.Conv1D(filters, 5, padding="same", use_bias=False, name=f"t{b}_conv2")(h)
        h = layers.BatchNormalization(name=f"t{b}_bn2")(h)
        x = layers.ReLU(name=f"t{b}_relu2")(layers.Add(name=f"t{b}_add")([h, skip]))
        x = layers.MaxPooling1D(2, name=f"t{b}_pool")(x)
    x = layers.Concatenate(name="t_pools")([layers.GlobalAveragePooling1D(name="t_gap")(x),
                                             layers.GlobalMaxPooling1D(name="t_gmp")(x)])
    r = layers.Dense(cfg.rr_units, activation="relu", name="t_rr1")(rr)
    r = layers.Dense(cfg.rr_units, activation="relu", name="t_rr2")(r)
    h = layers.Concatenate(name="t_concat")([x, r])
    h = layers.Dense(cfg.dense, activation="relu", name="t_dense")(h)
    return keras.Model([wave, rr], _head(h, cfg, n_classes), name="tinyecg_teacher")


#: The first layer on the features, in the student and in the teacher.
FEATURE_LAYERS = ("rr_dense", "t_rr1")


def mask_feature_weights(model, mask) -> None:
    """Zero the weights from the features whose mask is 0 (TrainConfig.features): the network
    then reads only the chosen features, and its inputs -- what the device sends -- stay the same."""
    import numpy as np
    mask = np.asarray(mask, dtype=np.float32)
    if mask.all():
        return
    for name in FEATURE_LAYERS:
        try:
            layer = model.get_layer(name)
        except ValueError:
            continue
        kernel, *rest = layer.get_weights()
        layer.set_weights([kernel * mask[:, None], *rest])


def logits_model(model):
    """The same network up to its ``logits`` layer (shares the weights)."""
    import keras
    return keras.Model(model.inputs, model.get_layer("logits").output)


def fold_temperature(model, temperature: float) -> None:
    """softmax(logits / T) in place: the ``logits`` layer's kernel and bias are divided by T,
    so the int8 model's softmax scores are the calibrated probabilities."""
    layer = model.get_layer("logits")
    kernel, bias = layer.get_weights()
    layer.set_weights([kernel / temperature, bias / temperature])


def count_macs(model) -> int:
    """Multiply-accumulates per beat (conv + dense layers; pooling/softmax excluded)."""
    from keras import layers
    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv1D):
            _, length, cout = layer.output.shape
            cin = layer.input.shape[-1]
            total += int(length) * int(cout) * int(cin) * int(layer.kernel_size[0])
        elif isinstance(layer, layers.Dense):
            total += int(layer.input.shape[-1]) * int(layer.units)
    return total
