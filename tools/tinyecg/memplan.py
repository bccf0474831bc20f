"""The memory planner: every tensor a kernel call writes gets a range of one
static arena, chosen from lifetimes at generation time.

* Constants stay in flash; graph inputs are read in place from the caller's
  buffer (views of them too).
* A tensor's storage is its *root*: a view's output shares its input's root.
* A root lives from the call that writes it to the last call that reads it or
  any view of it (by operator index; a fused call counts at its first
  operator); graph outputs live to the end (they are copied out). Indices are
  inclusive, so an operator's output never overlaps its inputs.
* Roots with overlapping lifetimes get disjoint 4-byte-aligned ranges: first
  fit over several deterministic orders; the smallest arena wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tflite_import import VIEW_OPS, Graph

ARENA_ALIGN = 4


@dataclass
class Buffer:
    root: int
    size: int
    first: int
    last: int
    offset: int = -1


def aligned(n: int) -> int:
    return (n + ARENA_ALIGN - 1) // ARENA_ALIGN * ARENA_ALIGN


def roots(graph: Graph) -> dict[int, int]:
    """Map every tensor to the tensor whose storage it uses (views alias)."""
    root = {i: i for i in range(len(graph.tensors))}
    for op in graph.ops:
        if op.kind in VIEW_OPS:
            root[op.outputs[0]] = root[op.inputs[0]]
    return root


def floor_bytes(bufs: dict[int, Buffer]) -> int:
    """The layer-by-layer floor: the most bytes live at one operator when every
    tensor is whole (the planner's lifetimes, 4-byte aligned). A plan of whole
    tensors cannot go below it; only computing a layer in parts can."""
    points = {b.first for b in bufs.values()} | {b.last for b in bufs.values()}
    return max((sum(aligned(b.size) for b in bufs.values() if b.first <= i <= b.last) for i in points), default=0)


def plan_memory(graph: Graph, root_of: dict[int, int], layers=None) -> tuple[dict[int, Buffer], int]:
    """Arena placement of the tensors the kernel calls write (layers: the
    lowered program, whose fused calls write only their last operator's
    output; None plans the graph's operators as they are).

    Tensors inside a fused call are never written, so they get no memory.
    """
    end = len(graph.ops)
    inputs = {root_of[i] for i in graph.inputs}
    if layers is None:
        steps = [(op.index, list(op.inputs), list(op.outputs)) for op in graph.ops if op.kind not in VIEW_OPS]
    else:
        steps = [(l.op.index, l.reads, l.writes) for l in layers if l.kernel and not l.fused_into]
    bufs: dict[int, Buffer] = {}
    for index, _, writes in steps:
        for t in writes:
            r = root_of[t]
            if r in inputs or graph.tensors[r].is_const:
                continue
            bufs.setdefault(r, Buffer(root=r, size=graph.tensors[r].nbytes, first=index, last=index))
    for index, reads, _ in steps:
        for t in reads:
            if t >= 0 and root_of[t] in bufs:
                b = bufs[root_of[t]]
                b.last = max(b.last, index)
    for t in graph.outputs:
        if root_of[t] in bufs:
            bufs[root_of[t]].last = end

    def place(order: list[Buffer]) -> dict[int, int]:
        """First fit: each buffer at the lowest offset free for its whole lifetime."""
        placed: list[tuple[Buffer, int]] = []
        offsets = {}
        for b in order:
            live = sorted(((off, p) for p, off in placed if not (p.last < b.first or b.last < p.first)),
                          key=lambda t: (t[0], t[1].root))
            offset = 0
            for off, p in live:
                if offset + aligned(b.size) <= off:
                    break
                offset = max(offset, off + aligned(p.size))
            offsets[b.root] = offset
            placed.append((b, offset))
        return offsets

    # Several deterministic orders (TFLM's greedy-by-size among them); keep the
    # smallest arena, the first one on ties.
    orders = [
        sorted(bufs.values(), key=lambda b: (-aligned(b.size), b.first, b.root)),
        sorted(bufs.values(), key=lambda b: (-aligned(b.size), -b.first, b.root)),
        sorted(bufs.values(), key=lambda b: (-(b.last - b.first), -aligned(b.size), b.root)),
        sorted(bufs.values(), key=lambda b: (-aligned(b.size) * (b.last - b.first + 1), b.root)),
    ]
    # plus seeded random orders: first fit over permutations finds tighter
    # packings the fixed heuristics miss (deterministic: fixed seed)
    base = orders[0]
    rng = np.random.default_rng(0)
    trials = 300 if len(base) <= 64 else 40
    for _ in range(trials if len(base) > 2 else 0):
        orders.append([base[i] for i in rng.permutation(len(base))])
    best, arena = {}, None
    for order in orders:
        offsets = place(order)
        size = max((offsets[b.root] + aligned(b.size) for b in order), default=0)
        if arena is None or size < arena:
            best, arena = offsets, size
    for b in bufs.values():
        b.offset = best[b.root]
    arena = arena or 0
    return bufs, arena
