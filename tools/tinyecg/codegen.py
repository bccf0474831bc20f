"""Ahead-of-time C code generation for int8 TFLite models.

``generate(graph, out_dir)`` lowers each operator of a :class:`tflite_import.Graph`
to a call of a tinynn kernel (firmware/lib/tinynn) with a ``const`` parameter
struct (``tinyecg.lowering``: one module per operator family, TFLM's
quantization arithmetic in ``lowering.quant``), folds consumers into their
producers' calls (``lowering.fusion``), places every written tensor in one
static arena (``tinyecg.memplan``) and renders the C.

Output (all from jinja templates in ``templates/``, byte-identical run to run):
``model_data.c`` (weights and folded biases, const), ``model.c`` + ``model.h``
(``int model_invoke(const int8_t *in, int8_t *out)``) and ``model_config.h``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import jinja2

from .errors import TinyEcgError
from . import lowering
from .lowering import CArray, Context, Layer, lower_op
from .memplan import ARENA_ALIGN, Buffer, floor_bytes, output_slots, plan_memory, roots
from .tflite_import import VIEW_OPS, Graph

TEMPLATE_DIR = Path(__file__).parent / "templates"
GENERATED_FILES = ("model_data.c", "model.c", "model.h", "model_config.h")


@dataclass
class Program:
    graph: Graph
    layers: list[Layer]
    buffers: dict[int, Buffer]  # arena-resident roots
    root_of: dict[int, int]
    arena_bytes: int
    class_names: list[str] | None

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)

    @property
    def weight_bytes(self) -> int:
        """Bytes of model_data.c: weights and channel tables (bias, multiplier, shift)."""
        return sum(a.nbytes for layer in self.layers for a in layer.data_arrays)

    @property
    def src_weight_bytes(self) -> int:
        """Weight + bias bytes as the .tflite stores them (int8 weights, int32 biases)."""
        return sum(layer.src_bytes for layer in self.layers)

    @property
    def scratch_bytes(self) -> int:
        """The kernels' shared scratch (one layer runs at a time), outside the arena."""
        return max([layer.scratch[1] for layer in self.steps if layer.scratch] + [0])

    @property
    def steps(self) -> list[Layer]:
        """Layers that emit a kernel call, in order."""
        return [layer for layer in self.layers if layer.kernel and not layer.fused_into]

    @property
    def floor_bytes(self) -> int:
        """The layer-by-layer floor of this program's arena (memplan.floor_bytes)."""
        return floor_bytes(self.buffers)

    @property
    def quant_bytes(self) -> int:
        return sum(a.nbytes for layer in self.layers for a in layer.local_arrays)

    @property
    def input_bytes(self) -> int:
        return sum(self.graph.tensors[i].nbytes for i in self.graph.inputs)

    @property
    def output_bytes(self) -> int:
        return sum(self.graph.tensors[i].nbytes for i in self.graph.outputs)


def lower(graph: Graph, class_names: list[str] | None = None, fuse: bool = True) -> Program:
    cx = Context(graph)
    layers = []
    n = 0
    for op in graph.ops:
        if op.kind not in VIEW_OPS:
            n += 1
        layer = lower_op(cx, op, n)
        layer.reads = list(op.inputs)
        layer.writes = list(op.outputs)
        layers.append(layer)
    root_of = roots(graph)
    for o in graph.outputs:
        if graph.tensors[root_of[o]].is_const:
            raise TinyEcgError(f"{graph.source}: output '{graph.tensors[o].name}' is a constant")
    if fuse:
        lowering.fuse(graph, layers, root_of)
        lowering.fuse_for_memory(graph, layers, root_of)
    bufs, arena = plan_memory(graph, root_of, layers)
    if class_names is not None:
        n_out = graph.tensors[graph.outputs[0]].shape[-1] if graph.tensors[graph.outputs[0]].shape else 1
        if len(class_names) != n_out:
            raise TinyEcgError(
                f"{len(class_names)} class names given for a model with {n_out} outputs"
            )
    return Program(graph=graph, layers=layers, buffers=bufs, root_of=root_of, arena_bytes=arena,
                   class_names=class_names)


def _c_string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _safe_comment(s: str) -> str:
    """Text from the model file inside a C comment: it cannot end it (*/) nor
    open a nested one (/*, a -Wcomment warning)."""
    return s.replace("*/", "* /").replace("/*", "/ *").replace("\n", " ")


@functools.lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    """One template environment per process: compiling the templates costs more
    than rendering them (the converter fuzzer renders thousands of models).  The
    loader still reloads a template whose file changed."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["c_string"] = _c_string
    env.filters["comment"] = _safe_comment
    return env


def render(prog: Program, profile: bool = False) -> dict[str, str]:
    """Render the four generated files (name -> text).

    profile: model_invoke also records tnn_profile_clock() (the firmware's
    counter) after each kernel call in model_profile[] (bench.py --profile)."""
    g = prog.graph
    in_offsets, acc = {}, 0
    for i in g.inputs:
        in_offsets[prog.root_of[i]] = acc
        acc += g.tensors[i].nbytes
    const_inputs: list[CArray] = []
    const_names: dict[int, str] = {}

    out_slots = output_slots(g, prog.root_of)

    def addr(t: int, layer: Layer) -> str:
        r = prog.root_of[t]
        if r in in_offsets:
            return f"in + {in_offsets[r]}"
        if r in out_slots:
            return f"out + {out_slots[r]}"
        if r in prog.buffers:
            return f"arena.bytes + {prog.buffers[r].offset}"
        tensor = g.tensors[r]
        if tensor.is_const:
            if r not in const_names:
                if tensor.dtype != "int8":
                    raise TinyEcgError(f"{g.source}: {layer.op.where()}: constant data input '{tensor.name}' is {tensor.dtype}")
                const_names[r] = f"t{r}_const"
                const_inputs.append(CArray(const_names[r], "int8_t", tensor.data, f"constant t{r} {list(tensor.shape)}"))
            return const_names[r]
        raise TinyEcgError(f"{g.source}: tensor '{g.tensors[t].name}' is read but never written")

    calls = []
    nstep = 0
    for layer in prog.layers:
        if layer.kernel is None or layer.fused_into:
            calls.append({"layer": layer, "stmts": []})
            continue
        used = " ".join(layer.args + layer.pre)
        subst = {f"IN{k}": addr(t, layer) for k, t in enumerate(layer.reads) if t >= 0 and f"IN{k}" in used}
        subst["OUT0"] = addr(layer.writes[0], layer)
        subst["MEAN"] = f"&{layer.extra_structs[0][1]}" if layer.extra_structs else "0"
        subst["SCRATCH"] = "scratch.bytes" if layer.scratch else "0"
        args = [subst.get(a, a) for a in layer.args]
        pre = []
        for s in layer.pre:
            for k, v in sorted(subst.items(), key=lambda kv: -len(kv[0])):
                s = s.replace(k, v)
            pre.append(s)
        stmts = pre + [f"rc |= {layer.kernel}(&{layer.name}, {', '.join(args)});"]
        nstep += 1
        if profile:
            stmts.append(f"model_profile[{nstep}] = tnn_profile_clock();")
        calls.append({"layer": layer, "stmts": stmts})

    out_copies, acc = [], 0
    for o in g.outputs:
        t = g.tensors[o]
        if prog.root_of[o] not in out_slots:  # else written there in place
            out_copies.append((acc, addr(o, prog.layers[-1]) if prog.layers else "in + 0", t.nbytes, o))
        acc += t.nbytes

    mem_rows = []
    for b in sorted(prog.buffers.values(), key=lambda b: (b.offset, b.first)):
        t = g.tensors[b.root]
        mem_rows.append(
            f"t{b.root:<4} offset {b.offset:6d}  bytes {b.size:6d}  live ops {b.first}..{b.last}  {_safe_comment(t.name)[:60]}"
        )

    io = []
    for role, idxs in (("INPUT", g.inputs), ("OUTPUT", g.outputs)):
        for k, i in enumerate(idxs):
            t = g.tensors[i]
            s, zp = t.qparams()
            io.append({"role": role, "k": k, "t": t, "scale": f"{s:.9g}", "zp": zp,
                       "dims": ", ".join(str(d) for d in t.shape), "rank": len(t.shape),
                       "xdims": "x".join(str(d) for d in t.shape)})

    env = _templates()
    ctx = {
        "prog": prog,
        "g": g,
        "source_name": Path(g.source).name,
        "layers": [layer for layer in prog.layers],
        "calls": calls,
        "const_inputs": const_inputs,
        "out_copies": out_copies,
        "mem_rows": mem_rows,
        "io": io,
        "arena_bytes": prog.arena_bytes,
        "profile": profile,
        "steps": prog.steps,
        "arena_alloc": max(prog.arena_bytes, ARENA_ALIGN),
        "scratch_bytes": prog.scratch_bytes,
    }
    return {name: env.get_template(name + ".j2").render(**ctx) for name in GENERATED_FILES}


def write(files: dict[str, str], out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TinyEcgError(f"cannot create output directory {out}: {exc.strerror or exc}") from exc
    paths = []
    for name, text in files.items():
        p = out / name
        data = text.encode("utf-8")
        if not p.exists() or p.read_bytes() != data:
            p.write_bytes(data)
        paths.append(p)
    return paths


def generate(graph: Graph, out_dir: str | Path, class_names: list[str] | None = None,
             profile: bool = False) -> Program:
    prog = lower(graph, class_names)
    write(render(prog, profile), out_dir)
    return prog
