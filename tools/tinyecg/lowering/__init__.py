"""Lowering: each TFLite operator to a tinynn kernel call with a ``const``
parameter struct, one module per operator family (as TFLM keeps a file per
kernel):

==================  =============================================
module              operators
==================  =============================================
``conv``            CONV_2D
``depthwise``       DEPTHWISE_CONV_2D
``fully_connected`` FULLY_CONNECTED
``pooling``         MAX_POOL_2D, AVERAGE_POOL_2D
``reduce``          MEAN
``softmax``         SOFTMAX
``elementwise``     ADD, QUANTIZE
``shape``           RESHAPE, EXPAND_DIMS, SQUEEZE (views), CONCATENATION, PAD
==================  =============================================

Shared homes: ``quant`` (TFLM's quantization arithmetic), ``layout``
(channel tables, filter orders, the TNN_F_FAST proof), ``base`` (the layer
record and operand checks), ``fusion`` (folding a consumer into its producer's
call, and sharing arena blocks below the layer-by-layer floor). The memory planner is ``tinyecg.memplan``; ``tinyecg.codegen`` drives
lowering, fusion and planning and renders the C.
"""

from __future__ import annotations

from ..errors import TinyEcgError
from ..tflite_import import Op
from . import conv, depthwise, elementwise, fully_connected, pooling, reduce, shape, softmax
from .base import CArray, Context, Layer
from .fusion import fuse, fuse_for_memory

LOWERINGS = {
    "CONV_2D": conv.lower_conv_2d,
    "DEPTHWISE_CONV_2D": depthwise.lower_depthwise_conv_2d,
    "FULLY_CONNECTED": fully_connected.lower_fully_connected,
    "MAX_POOL_2D": pooling.lower_max_pool_2d,
    "AVERAGE_POOL_2D": pooling.lower_average_pool_2d,
    "MEAN": reduce.lower_mean,
    "SOFTMAX": softmax.lower_softmax,
    "ADD": elementwise.lower_add,
    "QUANTIZE": elementwise.lower_quantize,
    "CONCATENATION": shape.lower_concatenation,
    "PAD": shape.lower_pad,
    "RESHAPE": shape.lower_view,
    "EXPAND_DIMS": shape.lower_view,
    "SQUEEZE": shape.lower_view,
}

_SHORT = (("_2d", ""), ("depthwise_conv", "dwconv"), ("fully_connected", "fc"), ("concatenation", "concat"),
          ("average_pool", "avgpool"), ("max_pool", "maxpool"))


def layer_name(op: Op, n: int) -> str:
    """C identifier prefix of the n-th kernel call, e.g. l03_dwconv."""
    short = op.kind.lower()
    for a, b in _SHORT:
        short = short.replace(a, b)
    return f"l{n:02d}_{short}"


def lower_op(cx: Context, op: Op, n: int) -> Layer:
    fn = LOWERINGS.get(op.kind)
    if fn is None:
        raise cx.fail(op, f"unsupported operator {op.kind}")
    try:
        return fn(cx, op, layer_name(op, n))
    except TinyEcgError as e:
        # quant.py's helpers know a number, not the operator: name both
        if str(e).startswith(f"{cx.src}:"):
            raise
        raise cx.fail(op, str(e)) from None


__all__ = ["CArray", "Context", "Layer", "LOWERINGS", "fuse", "fuse_for_memory", "layer_name", "lower_op"]
