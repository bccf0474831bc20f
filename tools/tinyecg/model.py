"""The beat classifier: a small Keras 1D CNN over the beat window plus the RR features.

Only layers that the int8 engine supports after TFLite conversion are used:
Conv1D (-> EXPAND_DIMS + CONV_2D + RESHAPE), MaxPool1D (-> EXPAND_DIMS +
MAX_POOL_2D + RESHAPE), GlobalAveragePooling1D (-> MEAN), Dense
(FULLY_CONNECTED), Concatenate, ReLU fused into the producing op, Softmax.
Dropout disappears at conversion; no BatchNorm, no Flatten, no recurrent layers.
:data:`ALLOWED_TFLITE_OPS` is the contract with the engine; a test converts the
default model and checks its op list against it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .data import CLASSES
from .preprocess import N_FEAT, WIN

ALLOWED_TFLITE_OPS = frozenset({
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D", "AVERAGE_POOL_2D",
    "MEAN", "CONCATENATION", "ADD", "SOFTMAX", "RESHAPE", "EXPAND_DIMS",
    "QUANTIZE", "DEQUANTIZE",
})


@dataclass
class ModelConfig:
    width: int = 8          # filters of the first conv; doubles per block up to 4*width
    depth: int = 4          # conv blocks (each conv + relu + maxpool 2)
    kernel: int = 7         # first conv kernel; later ones use 5
    rr_units: int = 16      # dense layer on the RR features
    dense: int = 32         # dense layer after the concatenation
    dropout: float = 0.2

    def to_dict(self):
        return asdict(self)


def build_model(cfg: ModelConfig | None = None, n_classes: int = len(CLASSES)):
    import keras
    from keras import layers

    cfg = cfg or ModelConfig()
    wave = keras.Input((WIN, 1), name="wave")
    rr = keras.Input((N_FEAT,), name="rr")
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
    if cfg.dropout:
        h = layers.Dropout(cfg.dropout, name="dropout")(h)
    out = layers.Dense(n_classes, activation="softmax", name="probs")(h)
    return keras.Model([wave, rr], out, name="tinyecg_beat_cnn")


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
