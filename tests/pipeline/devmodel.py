"""A stand-in beat classifier for pipeline tests: a small two-input Keras CNN of
the pipeline's shape (beat and beat-minus-template 128x2 + 16 features -> 4 class softmax) with
random weights, converted to full int8 with a representative set from one DS1
record.  Never shipped: it gives the firmware a model of the pipeline's input
shapes so the stream path can be exercised before, or independently of, the
trained model.  Self-contained (TensorFlow only), so it does not depend on the
training code.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def make_dev_model(out: Path, seed: int = 7, rep_record: int = 101) -> Path:
    """Write a random-weight int8 .tflite of the pipeline's shape to `out`."""
    import keras
    import tensorflow as tf
    from keras import layers

    from tinyecg import features as F
    from tinyecg import preprocess as P
    from tinyecg.calibrate import reference_beats

    keras.utils.set_random_seed(seed)
    wave = keras.Input(batch_shape=(1, P.WIN, F.WAVE_CHANNELS), name="wave")
    rr = keras.Input(batch_shape=(1, F.N_FEAT), name="rr")
    x = wave
    for b, f in enumerate((8, 16, 32, 32)):
        x = layers.Conv1D(f, 7 if b == 0 else 5, padding="same", activation="relu")(x)
        x = layers.MaxPooling1D(2)(x)
    x = layers.GlobalAveragePooling1D()(x)
    r = layers.Dense(16, activation="relu")(rr)
    h = layers.Dense(32, activation="relu")(layers.Concatenate()([x, r]))
    model = keras.Model([wave, rr], layers.Dense(4, activation="softmax")(h))

    b, _ = reference_beats(rep_record)
    xw, xf = F.to_float(*F.inputs(b, slice(0, 300)))

    def rep():
        for i in range(len(xw)):
            yield [xw[i:i + 1], xf[i:i + 1]]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    blob = conv.convert()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(blob)
    return out




if __name__ == "__main__":
    import sys
    print(make_dev_model(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tinyecg-dev/dev_model.tflite")))
