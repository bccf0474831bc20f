"""The memory planner: every tensor a kernel call writes gets a range of one
static arena, chosen from lifetimes at generation time.

* Constants stay in flash; graph inputs are read in place from the caller's
  buffer (views of them too); graph outputs are written in place into the
  caller's output buffer where ``output_slots`` allows (else copied out).
* A tensor's storage is its *root*: a view's output shares its input's root.
* A root lives from the call that writes it to the last call that reads it or
  any view of it (by operator index; a fused call counts at its first
  operator); graph outputs live to the end (they are copied out). Indices are
  inclusive, so an operator's output never overlaps its inputs.
* Roots with overlapping lifetimes get disjoint 4-byte-aligned ranges: first
  fit over several deterministic orders; the smallest arena wins.
* Except a call's output and one input that the lowering lets share a block
  (Layer.overlap, lowering/fusion.py: in-place depthwise, depthwise +
  pointwise row by row): the two are placed as one block, the output at its
  start and the input at a proven offset in it.
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


def shared_blocks(root_of: dict[int, int], layers) -> list[tuple[int, int, int, int]]:
    """(output root, input root, delta, block bytes) of each call whose output
    shares a block with an input (Layer.overlap)."""
    out = []
    for l in layers or []:
        if l.kernel and not l.fused_into and l.overlap:
            x, delta, size = l.overlap
            out.append((root_of[l.writes[0]], root_of[x], delta, size))
    return out


def output_slots(graph: Graph, root_of: dict[int, int]) -> dict[int, int]:
    """Roots the kernels write straight into the caller's output buffer
    (root -> byte offset in it), so a graph output is neither kept in the
    arena nor copied out: a root that only one graph output uses, of the
    output's size, not a graph input or constant, at a 4-byte-aligned offset
    (word stores). Other outputs are copied from the arena."""
    inputs = {root_of[i] for i in graph.inputs}
    uses: dict[int, int] = {}
    for o in graph.outputs:
        uses[root_of[o]] = uses.get(root_of[o], 0) + 1
    slots, acc = {}, 0
    for o in graph.outputs:
        r = root_of[o]
        t = graph.tensors[o]
        if (uses[r] == 1 and r not in inputs and not graph.tensors[r].is_const
                and graph.tensors[r].nbytes == t.nbytes and acc % ARENA_ALIGN == 0):
            slots[r] = acc
        acc += t.nbytes
    return slots


def lifetimes(graph: Graph, root_of: dict[int, int], layers=None) -> dict[int, Buffer]:
    """The arena-resident roots and their lifetimes (see the module docstring)."""
    end = len(graph.ops)
    inputs = {root_of[i] for i in graph.inputs} | set(output_slots(graph, root_of))
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
    return bufs


def groups(bufs: dict[int, Buffer], root_of: dict[int, int], layers) -> tuple[dict[int, Buffer], dict]:
    """Placement items: single buffers, and groups of buffers that share
    blocks (a chain of calls each overlapping its input, Layer.overlap) as one
    item spanning the members' lifetimes; members: item key -> [(root,
    offset in the item)]."""
    group: dict[int, tuple[int, int]] = {r: (r, 0) for r in bufs}  # root -> (group key, offset in it)
    extent: dict[int, int] = {r: b.size for r, b in bufs.items()}  # bytes a member reserves
    for y, x, delta, size in shared_blocks(root_of, layers):
        if y not in bufs or x not in bufs or group[y][0] != y or bufs[x].last != bufs[y].first:
            continue  # not an arena pair whose lifetimes meet at the call: plan them apart
        if any(g == y for r, (g, _) in group.items() if r != y):
            continue  # y already heads a group
        gx, ox = group[x]
        rel = ox - delta
        if rel < 0:  # shift the group so the new member starts at >= 0
            for r, (g, o) in list(group.items()):
                if g == gx:
                    group[r] = (g, o - rel)
            rel = 0
        group[y] = (gx, rel)
        extent[y] = max(size, bufs[y].size)
    members: dict[int, list[tuple[int, int]]] = {}
    for r, (g, o) in group.items():
        members.setdefault(g, []).append((r, o))
    items: dict[int, Item] = {}
    for g, mem in members.items():
        rects = [(o, aligned(extent[r]), bufs[r].first, bufs[r].last) for r, o in mem]
        items[g] = Item(root=g, rects=rects)
    return items, members


@dataclass
class Item:
    """What the planner places: one buffer, or a group sharing blocks, as
    rectangles (offset in the item, bytes, first, last operator)."""

    root: int
    rects: list[tuple[int, int, int, int]]

    @property
    def size(self) -> int:
        return max(o + n for o, n, _, _ in self.rects)

    @property
    def first(self) -> int:
        return min(f for _, _, f, _ in self.rects)

    @property
    def last(self) -> int:
        return max(l for _, _, _, l in self.rects)

    def span_at(self, i: int) -> int:
        """Bytes the item occupies at operator i (its live rectangles' span)."""
        live = [(o, n) for o, n, f, l in self.rects if f <= i <= l]
        return max(o + n for o, n in live) - min(o for o, _ in live) if live else 0


def peak(graph: Graph, root_of: dict[int, int], layers) -> tuple[int, int]:
    """(operator index, bytes) where the most arena bytes are live, shared
    blocks counted once: no placement can go below it."""
    items, _ = groups(lifetimes(graph, root_of, layers), root_of, layers)
    points = sorted({f for it in items.values() for _, _, f, _ in it.rects} |
                    {l for it in items.values() for _, _, _, l in it.rects})
    best = (-1, 0)
    for i in points:
        tot = sum(it.span_at(i) for it in items.values())
        if tot > best[1]:
            best = (i, tot)
    return best


def plan_memory(graph: Graph, root_of: dict[int, int], layers=None) -> tuple[dict[int, Buffer], int]:
    """Arena placement of the tensors the kernel calls write (layers: the
    lowered program, whose fused calls write only their last operator's
    output; None plans the graph's operators as they are).

    Tensors inside a fused call are never written, so they get no memory.
    """
    bufs = lifetimes(graph, root_of, layers)
    items, members = groups(bufs, root_of, layers)

    def place(order: list[Item]) -> dict[int, int]:
        """First fit: each item at the lowest offset where none of its
        rectangles meets a placed one in both time and address."""
        placed: list[tuple[int, int, int, int]] = []  # absolute (offset, bytes, first, last)
        offsets = {}
        for it in order:
            # per rectangle of the item, the placed ones alive at the same time
            near = [(o, n, [(po, pn) for po, pn, pf, pl in placed if pf <= l and f <= pl])
                    for o, n, f, l in it.rects]
            cands = sorted({0} | {po + pn - o for o, _, ps in near for po, pn in ps if po + pn >= o})
            for base in cands:
                if not any(base + o < po + pn and po < base + o + n for o, n, ps in near for po, pn in ps):
                    break
            offsets[it.root] = base
            placed += [(base + o, n, f, l) for o, n, f, l in it.rects]
        return offsets

    # Several deterministic orders (TFLM's greedy-by-size among them); keep the
    # smallest arena, the first one on ties.
    orders = [
        sorted(items.values(), key=lambda b: (-aligned(b.size), b.first, b.root)),
        sorted(items.values(), key=lambda b: (-aligned(b.size), -b.first, b.root)),
        sorted(items.values(), key=lambda b: (-(b.last - b.first), -aligned(b.size), b.root)),
        sorted(items.values(), key=lambda b: (-aligned(b.size) * (b.last - b.first + 1), b.root)),
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
        size = max((offsets[b.root] + b.size for b in order), default=0)
        if arena is None or size < arena:
            best, arena = offsets, size
    for r, mem in members.items():
        for root, rel in mem:
            bufs[root].offset = best[r] + rel
    arena = arena or 0
    return bufs, arena
