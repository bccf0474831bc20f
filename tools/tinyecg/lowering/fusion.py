"""Fusion: fold an operator into the kernel call that produces its input when
that saves a pass over memory and computes exactly what the separate calls
would."""

from __future__ import annotations

import copy

import numpy as np

from .. import memplan
from ..tflite_import import Graph
from .base import Layer


def fuse(graph: Graph, layers: list[Layer], root_of: dict[int, int]) -> None:
    """Fold MAX_POOL_2D 1x2/2 VALID and MEAN over the width into the 1-D
    convolution that produces their input, when that convolution's output
    (through views) has no other reader and is not a graph output. The fused
    call computes exactly what the separate calls would (max and the clamp to
    the activation range commute; MEAN sums the same int8 values)."""
    out_roots = {root_of[t] for t in graph.outputs}
    changed = True
    while changed:
        changed = False
        live = [l for l in layers if l.kernel and not l.fused_into]
        for conv in live:
            if not conv.fusable or "mean" in conv.fused_kinds:
                continue
            r = root_of[conv.writes[0]]
            if r in out_roots:
                continue
            readers = [l for l in live if l is not conv and any(t >= 0 and root_of[t] == r for t in l.reads)]
            if len(readers) != 1:
                continue
            nxt = readers[0]
            kinds = conv.fused_kinds
            if nxt.op.kind == "MAX_POOL_2D" and not kinds:
                f = dict(nxt.fields)
                lo = max(conv.get_field("act_min"), f["act_min"])
                hi = min(conv.get_field("act_max"), f["act_max"])
                if (f["filter_h"], f["filter_w"], f["stride_h"], f["stride_w"], f["pad_top"], f["pad_left"]) != \
                        (1, 2, 1, 2, 0, 0) or nxt.op.options["padding"] != "VALID" or lo > hi:
                    continue
                if f["input"] != "{" + f"1, {conv.get_field('rows')}, {conv.get_field('out_w')}, " \
                        f"{conv.get_field('out_c')}" + "}" or conv.get_field("in_w") == 1:
                    continue
                conv.set_field("pool", 2)
                conv.set_field("act_min", lo)
                conv.set_field("act_max", hi)
                kinds.append("pool")
            elif nxt.op.kind == "MEAN" and conv.get_field("rows") == 1 and conv.get_field("in_w") > 1:
                f = dict(nxt.fields)
                out_c = conv.get_field("out_c")
                out_wp = conv.get_field("out_w") // conv.get_field("pool")
                dims = [int(d) for d in f["dims"].strip("{}").split(",")]
                red = [int(d) for d in f["reduce"].strip("{}").split(",")]
                kept = [d for d, rr in zip(dims, red) if not rr]
                if dims[3] != out_c or red[3] or int(np.prod(kept)) != out_c or f["count"] != out_wp:
                    continue
                conv.extra_structs = [("tnn_mean_fuse", f"{conv.name}_mean", [
                    ("multiplier", f["multiplier"]), ("shift", f["shift"]),
                    ("output_zero_point", f["output_zero_point"])])]
                kinds.append("mean")
            else:
                continue
            conv.writes = list(nxt.writes)
            nxt.fused_into = conv.name
            conv.comment.append(f"  + fused operator #{nxt.op.index} {nxt.op.kind} ({nxt.name})")
            nxt.comment.append(f"  fused into {conv.name} (operator #{conv.op.index})")
            changed = True
            break


def _field(layer: Layer, key: str) -> int:
    return int(layer.get_field(key))


BAND_BYTES = 1536  # depthwise rows per fused call: as many as fit this


def _dims(v: str) -> list[int]:
    return [int(d) for d in str(v).strip("{}").split(",")]


def _dw_pw_pair(layers: list[Layer], pw: Layer, root_of, out_roots, bufs) -> Layer | None:
    """The tnn_dwconv2d_s8 layer whose output only this 1x1 tnn_conv2d_s8
    layer reads, when the two can run row by row (tnn_dwconv2d_pw_s8)."""
    if pw.kernel != "tnn_conv2d_s8" or pw.fused_kinds or pw.fused_into:
        return None
    f = dict(pw.fields)
    if (int(f["kernel_h"]), int(f["kernel_w"]), int(f["stride_h"]), int(f["stride_w"]),
            int(f["pad_top"]), int(f["pad_left"])) != (1, 1, 1, 1, 0, 0):
        return None
    x = root_of[pw.reads[0]]
    live = [l for l in layers if l.kernel and not l.fused_into]
    dws = [l for l in live if l.writes and root_of[l.writes[0]] == x]
    readers = [l for l in live if any(t >= 0 and root_of[t] == x for t in l.reads)]
    if len(dws) != 1 or readers != [pw] or x in out_roots:
        return None
    dw = dws[0]
    if dw.kernel != "tnn_dwconv2d_s8" or dw.overlap or _field(dw, "batches") != 1 or dw.reads[0] < 0:
        return None
    if root_of[dw.reads[0]] not in bufs:
        return None  # a graph input: not in the arena, nothing to share
    if _dims(f["input"]) != [1, _field(dw, "out_h"), _field(dw, "out_w"), _field(dw, "channels")]:
        return None
    return dw


def _fuse_dw_pw(dw: Layer, pw: Layer, graph: Graph) -> None:
    """dw computes its output a band of rows at a time into a band buffer and
    pw turns each band into its output rows: the depthwise output never
    exists whole, and pw's output may overwrite the depthwise input's rows no
    longer read. When pw has written rows 0..e-1 (e*Wy bytes from the block's
    start), the next band still reads input rows from e*stride - pad on; with
    the input at +delta, row r at delta + r*Wx, delta = max over band ends e
    of e*Wy - max(0, e*stride - pad)*Wx keeps them. The band buffer follows
    the block."""
    oh, sh, pt = _field(dw, "out_h"), _field(dw, "stride_h"), _field(dw, "pad_top")
    wx = _field(dw, "in_w") * _field(dw, "channels")
    out = _dims(pw.get_field("output"))
    wy = out[2] * out[3]
    row_bytes = _field(dw, "out_w") * _field(dw, "channels")
    # bands of rows: fewer kernel calls (each decodes its constants), a band buffer of <= BAND_BYTES
    band = max(1, min(oh, BAND_BYTES // row_bytes))
    ends = range(band, oh, band)  # rows written when the next band starts
    delta = max([0] + [e * wy - max(0, e * sh - pt) * wx for e in ends])
    delta = memplan.aligned(delta)
    x_bytes = graph.tensors[dw.reads[0]].nbytes
    y_bytes = graph.tensors[pw.writes[0]].nbytes
    buf_off = memplan.aligned(max(y_bytes, delta + x_bytes))
    band_dims = {"input": "{1, %d, %d, %d}" % (band, _field(dw, "out_w"), _field(dw, "channels")),
                 "output": "{1, %d, %d, %d}" % (band, out[2], out[3])}
    pw_fields = [(k, band_dims.get(k, v)) for k, v in pw.fields]
    dw.extra_structs.append(("tnn_conv2d_params", f"{pw.name}_band", pw_fields))
    dw.kernel = "tnn_dwconv2d_pw_s8"
    dw.pre = dw.pre + [f"int8_t *const rows = OUT0 + {buf_off}; /* {band} x {row_bytes} bytes after the block */"]
    dw.args = ["IN0", dw.args[1], dw.args[2], f"&{pw.name}_band", pw.args[1], pw.args[2], "rows", "OUT0",
               "SCRATCH"]
    dw.scratch = pw.scratch
    dw.writes = list(pw.writes)
    dw.overlap = (dw.reads[0], delta, buf_off + band * row_bytes)
    pw.fused_into = dw.name
    dw.fused_kinds.append("pointwise")
    dw.comment.append(f"  + fused operator #{pw.op.index} {pw.op.kind} ({pw.name}), {band} rows at a time; "
                      f"input at +{delta} in the output's block")
    pw.comment.append(f"  fused into {dw.name} (operator #{dw.op.index})")


def _in_place_dw(dw: Layer, root_of, out_roots, bufs, layers) -> bool:
    """tnn_dwconv2d_s8 (or tnn_dwconv1d_s8 on one row) may write its output
    over its input when no output pixel q reads an input pixel below q (flat
    NHWC indices, same channel count): every path writes a channel's (or
    four channels') pixels in raster order after reading what they need, and
    a pixel's channels only overwrite the same channels."""
    if dw.kernel not in ("tnn_dwconv2d_s8", "tnn_dwconv1d_s8") or dw.overlap or dw.fused_kinds:
        return False
    if _field(dw, "batches" if dw.kernel == "tnn_dwconv2d_s8" else "rows") != 1:
        return False
    x = root_of[dw.reads[0]]
    live = [l for l in layers if l.kernel and not l.fused_into]
    readers = [l for l in live if any(t >= 0 and root_of[t] == x for t in l.reads)]
    if x not in bufs or x in out_roots or readers != [dw]:
        return False
    if dw.kernel == "tnn_dwconv1d_s8":  # one row: tnn_dwconv1d_s8 walks it the same way
        ih, iw, oh, ow = 1, _field(dw, "in_w"), 1, _field(dw, "out_w")
        sh, sw, pt, pl = 1, _field(dw, "stride"), 0, _field(dw, "pad")
    else:
        ih, iw, oh, ow = (_field(dw, k) for k in ("in_h", "in_w", "out_h", "out_w"))
        sh, sw, pt, pl = (_field(dw, k) for k in ("stride_h", "stride_w", "pad_top", "pad_left"))
    oy, ox = np.meshgrid(np.arange(oh), np.arange(ow), indexing="ij")
    first_row = np.clip(oy * sh - pt, 0, ih - 1)
    first_col = np.clip(ox * sw - pl, 0, iw - 1)
    return bool(np.all(first_row * iw + first_col >= oy * ow + ox))


def fuse_for_memory(graph: Graph, layers: list[Layer], root_of: dict[int, int]) -> None:
    """Go below the layer-by-layer floor where the graph allows: while the
    operator where the most arena bytes are live is a 1x1 convolution reading
    a depthwise output, or a depthwise layer that can run in place, share
    their blocks (above). Stops at the first peak it cannot lower."""
    out_roots = {root_of[t] for t in graph.outputs}
    for _ in range(len(layers)):
        index, before = memplan.peak(graph, root_of, layers)
        bufs = memplan.lifetimes(graph, root_of, layers)
        at = [l for l in layers if l.kernel and not l.fused_into and l.op.index == index]
        if not at:
            return
        layer = at[0]
        dw = _dw_pw_pair(layers, layer, root_of, out_roots, bufs)
        touched = [layer] if dw is None else [dw, layer]
        saved = [(l, copy.deepcopy(l.__dict__)) for l in touched]
        if dw is not None:
            _fuse_dw_pw(dw, layer, graph)
        elif _in_place_dw(layer, root_of, out_roots, bufs, layers):
            layer.overlap = (layer.reads[0], 0, graph.tensors[layer.writes[0]].nbytes)
            layer.comment.append("  output written over its input (no output pixel reads an input pixel below it)")
        else:
            return
        if memplan.peak(graph, root_of, layers)[1] >= before:
            for l, d in saved:  # no gain: undo
                l.__dict__.update(d)
            return
