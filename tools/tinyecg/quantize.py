"""Full-int8 post-training quantization (int8 in, int8 out) of the Keras beat model.

``quantize_keras(model, representative_data, out_path)`` is the one entry
point; tools/convert.py calls it for .keras inputs.  The representative set
must come from DS1 (training patients) -- see :func:`representative_from_ds1`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import TinyEcgError
from .preprocess import N_FEAT, WIN


def _load_keras(model_or_path):
    if isinstance(model_or_path, (str, os.PathLike)):
        import keras
        p = Path(model_or_path)
        if not p.is_file():
            raise TinyEcgError(f"{p}: no such Keras model file")
        try:
            return keras.models.load_model(p, compile=False)
        except Exception as exc:
            raise TinyEcgError(f"{p}: not a loadable Keras model ({type(exc).__name__}: {exc})") from None
    return model_or_path


def quantize_keras(keras_path_or_model, representative_data, out_path=None, n_samples: int = 1000,
                   seed: int = 0) -> bytes:
    """Convert to a full-int8 .tflite with batch 1; write it to out_path if given.

    representative_data: (waves (n,128,1) float32, feats (n,8) float32) -- the
    float model inputs (preprocess.to_float of chain outputs) -- or a callable
    yielding [wave (1,128,1), rr (1,8)] lists.  At most n_samples are used,
    drawn with a fixed seed.
    """
    model = _load_keras(keras_path_or_model)
    if len(model.inputs) != 2:
        raise TinyEcgError("model must have two inputs (waveform, RR features)")

    import keras
    # a batch-1 wrapper: static shapes everywhere, as the static-memory engine wants
    wave = keras.Input(batch_shape=(1, WIN, 1), name="wave")
    rr = keras.Input(batch_shape=(1, N_FEAT), name="rr")
    fixed = keras.Model([wave, rr], model([wave, rr]), name="tinyecg_batch1")

    if callable(representative_data):
        gen = representative_data
    else:
        waves, feats = representative_data
        waves = np.asarray(waves, dtype=np.float32)
        feats = np.asarray(feats, dtype=np.float32)
        if waves.shape[1:] != (WIN, 1) or feats.shape[1:] != (N_FEAT,) or len(waves) != len(feats):
            raise TinyEcgError(f"representative data must be (n,{WIN},1) and (n,{N_FEAT}) arrays")
        rng = np.random.default_rng(seed)
        idx = rng.permutation(len(waves))[:n_samples]

        def gen():
            for i in idx:
                yield [waves[i:i + 1], feats[i:i + 1]]

    blob = full_int8(fixed, gen)
    if out_path is not None:
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        Path(out_path).write_bytes(blob)
    return bytes(blob)


def full_int8(model, representative) -> bytes:
    """Full-int8 conversion of a Keras model with static shapes: int8 weights
    (per-channel), activations, inputs and outputs, calibrated on
    representative() (a generator of input lists)."""
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    try:
        return bytes(conv.convert())
    except Exception as exc:
        raise TinyEcgError(f"TFLite conversion failed: {type(exc).__name__}: {str(exc).splitlines()[0]}") from None


def tflite_ops(blob: bytes) -> list[str]:
    """Builtin operator names used by a .tflite (in operator-code table order)."""
    import tensorflow as tf
    from tensorflow.lite.python import schema_py_generated as schema
    m = schema.Model.GetRootAsModel(blob, 0)
    code_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    ops = []
    for i in range(m.OperatorCodesLength()):
        oc = m.OperatorCodes(i)
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        ops.append(code_names.get(code, str(code)))
    return ops


def representative_from_ds1(records=None, data_dir=None, n: int = 1000, seed: int = 1):
    """Float inputs of n beats drawn from DS1 records (class-stratified, as training does).

    With records=None (the default training records) and the default seed this is
    exactly the calibration set tools/train.py used, so quantize_keras(model.keras,
    representative_from_ds1()) reproduces the shipped model_int8.tflite.
    """
    from .data import DS2
    from .preprocess import to_float
    from .train import TrainConfig, _rep_subset, build_dataset
    if records is None:
        records = TrainConfig().train_records
    if set(int(r) for r in records) & set(DS2):
        raise TinyEcgError("representative set must not use DS2 (test) records")
    ds = build_dataset(records, data_dir)
    return to_float(*_rep_subset(ds, seed, n))


def float_tflite(keras_path_or_model) -> bytes:
    """The same model as a float32 .tflite (batch 1): the size the int8 model is compared with."""
    import keras
    import tensorflow as tf
    model = _load_keras(keras_path_or_model)
    wave = keras.Input(batch_shape=(1, WIN, 1), name="wave")
    rr = keras.Input(batch_shape=(1, N_FEAT), name="rr")
    fixed = keras.Model([wave, rr], model([wave, rr]), name="tinyecg_batch1_float")
    return bytes(tf.lite.TFLiteConverter.from_keras_model(fixed).convert())


def min_arena_bytes(blob: bytes, lo: int = 1024, hi: int = 256 * 1024, step: int = 256) -> int:
    """Smallest tflite_micro arena (rounded up to `step`) in which the model allocates and runs."""
    from tflite_micro import runtime

    def ok(n):
        try:
            it = runtime.Interpreter.from_bytes(bytes(blob), arena_size=n)
            it.invoke()
            return True
        except Exception:
            return False
    import sys
    sys.stderr.flush()
    saved = os.dup(2)                       # the runtime logs failed allocations on C stderr
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        if not ok(hi):
            raise TinyEcgError(f"model does not fit a {hi} B arena")
        while hi - lo > step:
            mid = (lo + hi) // 2
            if ok(mid):
                hi = mid
            else:
                lo = mid
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    return hi
