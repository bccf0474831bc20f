"""Small TF functions converted to full-int8 .tflite, one operator (plus the
views the converter adds) each, for the engine parity tests."""

from __future__ import annotations

import numpy as np


def _tf():
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    return tf


def convert(fn, input_shapes, seed=0, per_channel=True, ranges=None, n_rep=24):
    """Full-int8 conversion of a tf.function taking float inputs of the given shapes."""
    tf = _tf()
    rng = np.random.default_rng(seed)
    ranges = ranges or [1.0] * len(input_shapes)
    specs = [tf.TensorSpec(s, tf.float32, name=f"x{k}") for k, s in enumerate(input_shapes)]
    concrete = tf.function(fn, input_signature=specs).get_concrete_function()

    def rep():
        for _ in range(n_rep):
            yield [(rng.standard_normal(s) * r).astype(np.float32) for s, r in zip(input_shapes, ranges)]

    conv = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    if not per_channel:
        conv._experimental_disable_per_channel = True
        conv._experimental_disable_per_channel_quantization_for_dense_layers = True
    return conv.convert()


def act(tf, name):
    return {"NONE": lambda x: x, "RELU": tf.nn.relu, "RELU6": tf.nn.relu6}[name]


def conv2d(seed, h, w, cin, cout, kh, kw, stride, dilation, padding, activation, per_channel=True):
    tf = _tf()
    rng = np.random.default_rng(seed)
    k = tf.constant(rng.standard_normal((kh, kw, cin, cout)).astype(np.float32) * 0.5)
    b = tf.constant(rng.standard_normal(cout).astype(np.float32) * 0.3)
    a = act(tf, activation)

    def fn(x):
        y = tf.nn.conv2d(x, k, strides=[1, stride[0], stride[1], 1], padding=padding,
                         dilations=[1, dilation[0], dilation[1], 1])
        return a(y + b)

    return convert(fn, [(1, h, w, cin)], seed, per_channel)


def depthwise(seed, h, w, cin, mult, kh, kw, stride, dilation, padding, activation):
    tf = _tf()
    rng = np.random.default_rng(seed)
    k = tf.constant(rng.standard_normal((kh, kw, cin, mult)).astype(np.float32) * 0.5)
    b = tf.constant(rng.standard_normal(cin * mult).astype(np.float32) * 0.3)
    a = act(tf, activation)

    def fn(x):
        y = tf.nn.depthwise_conv2d(x, k, strides=[1, stride[0], stride[1], 1], padding=padding,
                                   dilations=list(dilation))
        return a(y + b)

    return convert(fn, [(1, h, w, cin)], seed)


def dense(seed, shape, units, activation, per_channel=True):
    tf = _tf()
    rng = np.random.default_rng(seed)
    wt = tf.constant(rng.standard_normal((shape[-1], units)).astype(np.float32) * 0.4)
    b = tf.constant(rng.standard_normal(units).astype(np.float32) * 0.2)
    a = act(tf, activation)

    def fn(x):
        flat = tf.reshape(x, (-1, shape[-1]))
        return a(tf.matmul(flat, wt) + b)

    return convert(fn, [shape], seed, per_channel)


def pool(seed, kind, h, w, c, kh, kw, stride, padding, activation="NONE"):
    tf = _tf()
    op = tf.nn.max_pool2d if kind == "max" else tf.nn.avg_pool2d
    a = act(tf, activation)

    def fn(x):
        return a(op(x, ksize=[kh, kw], strides=list(stride), padding=padding))

    return convert(fn, [(1, h, w, c)], seed)


def mean(seed, shape, axes, keepdims):
    tf = _tf()

    def fn(x):
        return tf.reduce_mean(x, axis=axes, keepdims=keepdims)

    return convert(fn, [shape], seed)


def softmax(seed, shape, scale):
    tf = _tf()

    def fn(x):
        return tf.nn.softmax(x)

    return convert(fn, [shape], seed, ranges=[scale])


def add(seed, shape1, shape2, activation, ranges=(1.0, 1.0)):
    tf = _tf()
    a = act(tf, activation)

    def fn(x, y):
        return a(x + y)

    return convert(fn, [shape1, shape2], seed, ranges=list(ranges))


def concat(seed, shapes, axis, ranges):
    tf = _tf()

    def fn(*xs):
        return tf.concat(list(xs), axis=axis)

    return convert(fn, list(shapes), seed, ranges=list(ranges))


def pad(seed, shape, paddings):
    tf = _tf()

    def fn(x):
        return tf.pad(x, paddings) * 1.0

    return convert(fn, [shape], seed)


def views(seed, shape):
    """EXPAND_DIMS -> CONV_2D -> SQUEEZE -> RESHAPE -> FULLY_CONNECTED."""
    tf = _tf()
    rng = np.random.default_rng(seed)
    k = tf.constant(rng.standard_normal((1, 3, shape[-1], 4)).astype(np.float32) * 0.5)
    wt = tf.constant(rng.standard_normal((shape[1] * 4, 3)).astype(np.float32) * 0.3)

    def fn(x):
        y = tf.nn.conv2d(tf.expand_dims(x, 1), k, strides=1, padding="SAME")
        y = tf.squeeze(tf.nn.relu(y), axis=1)
        return tf.matmul(tf.reshape(y, (1, -1)), wt)

    return convert(fn, [shape], seed)


def float_model():
    tf = _tf()

    def fn(x):
        return tf.nn.relu(x * 2.0 + 1.0)

    spec = tf.TensorSpec((1, 8), tf.float32)
    concrete = tf.function(fn, input_signature=[spec]).get_concrete_function()
    return tf.lite.TFLiteConverter.from_concrete_functions([concrete]).convert()


def unsupported_op_model(seed=0):
    """TANH is not an engine operator."""
    tf = _tf()

    def fn(x):
        return tf.math.tanh(x)

    return convert(fn, [(1, 8)], seed)


def io_model(seed=0):
    """Two inputs and two outputs, the larger of each over one protocol frame:
    x0 [1,32,32,3] (3,072 B) -> 3x3 conv, 4 channels, ReLU -> y0 [1,32,32,4]
    (4,096 B); x1 [1,1100] -> dense 4 + the mean of y0 over H, W -> y1 [1,4]."""
    tf = _tf()
    rng = np.random.default_rng(seed)
    k = tf.constant(rng.standard_normal((3, 3, 3, 4)).astype(np.float32) * 0.5)
    b = tf.constant(rng.standard_normal(4).astype(np.float32) * 0.3)
    wt = tf.constant(rng.standard_normal((1100, 4)).astype(np.float32) * 0.05)

    def fn(x0, x1):
        y0 = tf.nn.relu(tf.nn.conv2d(x0, k, strides=1, padding="SAME") + b)
        y1 = tf.matmul(x1, wt) + tf.reduce_mean(y0, axis=[1, 2])
        return y0, y1

    return convert(fn, [(1, 32, 32, 3), (1, 1100)], seed)
