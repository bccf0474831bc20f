"""Hand-built .tflite flatbuffers (schema object API from the tflite_micro
wheel) for operators/options the TF converter rarely emits: QUANTIZE int8->int8,
SQUEEZE, EXPAND_DIMS, MEAN with equal input/output quantization, and for
refusal cases (int16 activations, unsupported fused activation)."""

from __future__ import annotations

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as S

_TYPES = {"int8": S.TensorType.INT8, "int16": S.TensorType.INT16, "int32": S.TensorType.INT32,
          "float32": S.TensorType.FLOAT32}


class ModelBuilder:
    def __init__(self):
        self.tensors, self.buffers, self.ops, self.codes = [], [S.BufferT()], [], []

    def tensor(self, shape, dtype="int8", scale=None, zp=0, data=None, name=None):
        t = S.TensorT()
        t.shape = list(shape)
        t.type = _TYPES[dtype]
        t.name = (name or f"t{len(self.tensors)}").encode()
        b = S.BufferT()
        if data is not None:
            b.data = list(np.asarray(data, dtype=dtype).tobytes())
        self.buffers.append(b)
        t.buffer = len(self.buffers) - 1
        if scale is not None:
            q = S.QuantizationParametersT()
            q.scale = [float(s) for s in np.atleast_1d(scale)]
            q.zeroPoint = [int(z) for z in np.atleast_1d(zp)]
            t.quantization = q
        self.tensors.append(t)
        return len(self.tensors) - 1

    def op(self, builtin, inputs, outputs, options_type=0, options=None):
        if builtin not in self.codes:
            self.codes.append(builtin)
        o = S.OperatorT()
        o.opcodeIndex = self.codes.index(builtin)
        o.inputs, o.outputs = list(inputs), list(outputs)
        o.builtinOptionsType = options_type
        o.builtinOptions = options
        self.ops.append(o)

    def build(self, inputs, outputs) -> bytes:
        sg = S.SubGraphT()
        sg.tensors, sg.operators = self.tensors, self.ops
        sg.inputs, sg.outputs = list(inputs), list(outputs)
        m = S.ModelT()
        m.version = 3
        m.subgraphs = [sg]
        m.buffers = self.buffers
        codes = []
        for c in self.codes:
            oc = S.OperatorCodeT()
            oc.builtinCode = c
            oc.deprecatedBuiltinCode = min(c, 127)
            oc.version = 1
            codes.append(oc)
        m.operatorCodes = codes
        m.description = b"tinyecg test model"
        b = flatbuffers.Builder(1024)
        b.Finish(m.Pack(b), file_identifier=b"TFL3")
        return bytes(b.Output())


def quantize_model(shape, s_in, zp_in, s_out, zp_out) -> bytes:
    mb = ModelBuilder()
    x = mb.tensor(shape, scale=s_in, zp=zp_in)
    y = mb.tensor(shape, scale=s_out, zp=zp_out)
    mb.op(S.BuiltinOperator.QUANTIZE, [x], [y], S.BuiltinOptions.QuantizeOptions, S.QuantizeOptionsT())
    return mb.build([x], [y])


def view_chain_model(shape, s=0.05, zp=3) -> bytes:
    """x[1,N,C] -EXPAND_DIMS(1)-> [1,1,N,C] -MAX_POOL 1x2-> [1,1,N/2,C] -SQUEEZE(1)-> [1,N/2,C]."""
    n, c = shape[1], shape[2]
    mb = ModelBuilder()
    x = mb.tensor(shape, scale=s, zp=zp)
    axis = mb.tensor([], "int32", data=np.int32(1))
    e = mb.tensor([1, 1, n, c], scale=s, zp=zp)
    p = mb.tensor([1, 1, n // 2, c], scale=s, zp=zp)
    y = mb.tensor([1, n // 2, c], scale=s, zp=zp)
    mb.op(S.BuiltinOperator.EXPAND_DIMS, [x, axis], [e], S.BuiltinOptions.ExpandDimsOptions, S.ExpandDimsOptionsT())
    po = S.Pool2DOptionsT()
    po.padding, po.strideW, po.strideH, po.filterWidth, po.filterHeight = S.Padding.VALID, 2, 1, 2, 1
    mb.op(S.BuiltinOperator.MAX_POOL_2D, [e], [p], S.BuiltinOptions.Pool2DOptions, po)
    so = S.SqueezeOptionsT()
    so.squeezeDims = [1]
    mb.op(S.BuiltinOperator.SQUEEZE, [p], [y], S.BuiltinOptions.SqueezeOptions, so)
    return mb.build([x], [y])


def mean_model(shape, axes, keep_dims, s_in, zp_in, s_out, zp_out) -> bytes:
    mb = ModelBuilder()
    x = mb.tensor(shape, scale=s_in, zp=zp_in)
    ax = mb.tensor([len(axes)], "int32", data=np.array(axes, np.int32))
    out_shape = [1 if i in axes else d for i, d in enumerate(shape)] if keep_dims else \
        [d for i, d in enumerate(shape) if i not in axes]
    y = mb.tensor(out_shape, scale=s_out, zp=zp_out)
    ro = S.ReducerOptionsT()
    ro.keepDims = keep_dims
    mb.op(S.BuiltinOperator.MEAN, [x, ax], [y], S.BuiltinOptions.ReducerOptions, ro)
    return mb.build([x], [y])


def int16_model() -> bytes:
    mb = ModelBuilder()
    x = mb.tensor([1, 8], "int16", scale=0.01, zp=0)
    y = mb.tensor([1, 8], "int16", scale=0.01, zp=0)
    mb.op(S.BuiltinOperator.SOFTMAX, [x], [y], S.BuiltinOptions.SoftmaxOptions, S.SoftmaxOptionsT())
    return mb.build([x], [y])


def tanh_activation_add_model() -> bytes:
    mb = ModelBuilder()
    a = mb.tensor([1, 8], scale=0.1, zp=0)
    b = mb.tensor([1, 8], scale=0.1, zp=0)
    y = mb.tensor([1, 8], scale=0.2, zp=0)
    ao = S.AddOptionsT()
    ao.fusedActivationFunction = S.ActivationFunctionType.TANH
    mb.op(S.BuiltinOperator.ADD, [a, b], [y], S.BuiltinOptions.AddOptions, ao)
    return mb.build([a, b], [y])
