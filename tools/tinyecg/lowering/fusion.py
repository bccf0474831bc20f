"""Fusion: fold an operator into the kernel call that produces its input when
that saves a pass over memory and computes exactly what the separate calls
would."""

from __future__ import annotations

import numpy as np

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
