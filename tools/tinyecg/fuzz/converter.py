"""Differential fuzzing of the converter: mutated .tflite files through
``tinyecg.convert`` and, when accepted, the generated C against ``tflite_micro``.

Every mutant must be either

* refused with one line (a :class:`TinyEcgError` whose message is one line),
  never a traceback, a hang or a crash of the process; or
* converted -- and then its generated C, compiled for the host (gcc with
  AddressSanitizer and UBSan, the portable tinynn kernels), gives exactly
  ``tflite_micro``'s outputs on the same inputs, unless ``tflite_micro`` itself
  refuses the model (raises, crashes or hangs: it runs in a subprocess).

Mutants come from real models (the bench models, the shipped model, small
single-operator models) in two ways: raw bytes (overwrites, bit flips), and
flatbuffer fields through the schema's object API (shapes, ranks, strides,
padding, dilation, filter sizes, activations, axes, quantization scales, zero
points and dimensions, tensor types, tensor and buffer indices, operator
codes, buffer contents, operator order).

The converter and ``tflite_micro`` each run in a worker process (``python -m
tinyecg.fuzz.converter --worker convert|tflm``) with a memory limit, talking
over pipes; a worker that dies or stops answering is a finding (converter) or
a refusal (``tflite_micro``), and is restarted.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import random
import resource
import select
import struct
import subprocess
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import TinyEcgError
from ..firmware import ROOT

TINYNN = ROOT / "firmware" / "lib" / "tinynn"
HARNESS = ROOT / "tests" / "engine" / "harness.c"
ENV = "mps2_an386"
#: A converter answer that takes longer than this is a hang (a guard, not a speed bound:
#: conversions take well under a second).
HANG_GUARD_S = 600.0
#: tflite_micro stuck this long on one mutant counts as refusing it (it loops on
#: some hostile shapes; a small model's invokes take milliseconds).
TFLM_GUARD_S = 60.0
#: Address-space limit of a worker process: a mutant that makes the converter
#: allocate without bound fails there (a finding) instead of swapping the host.
WORKER_MEMORY = 6 << 30
GCC = ["gcc", "-std=c99", "-O1", "-g", "-Wall", "-Werror", "-Wno-unused-const-variable", "-DTNN_PORTABLE",
       "-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]

#: Outcomes that are findings (each must stay 0).
BUGS = ("traceback", "multiline", "convert_hang", "convert_crash", "build_error", "runtime_error",
        "generated_crash", "mismatch")


# --------------------------------------------------------------------- seeds
def seed_models(extra: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """The real models: ../shared/bench/*.tflite and the shipped model, plus `extra`."""
    out = {}
    bench = ROOT.parent / "shared" / "bench"
    for p in sorted(bench.glob("*.tflite")):
        out[p.stem] = p.read_bytes()
    shipped = ROOT / "models" / "arrhythmia" / "model_int8.tflite"
    if shipped.is_file():
        out["shipped"] = shipped.read_bytes()
    out.update(extra or {})
    if not out:
        raise TinyEcgError(f"no seed models: neither {bench}/*.tflite nor {shipped} exists")
    return out


def engine_test_models(cache: Path, with_tf: bool = True) -> dict[str, bytes]:
    """Small single-operator models built by tests/engine's builders (hand-built
    flatbuffers always; TF-converted ones when `with_tf`), cached in `cache`."""
    import importlib.util

    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    eng = ROOT / "tests" / "engine"

    def load(name):
        spec = importlib.util.spec_from_file_location(f"_tinyecg_fuzz_{name}", eng / f"{name}.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod

    fb = load("fb_build")
    builders = {
        "quantize": lambda: fb.quantize_model([1, 40], 0.05, 3, 0.031, -7),
        "mean_same_quant": lambda: fb.mean_model([1, 5, 7, 3], [1, 2], True, 0.05, 4, 0.05, 4),
        "views": lambda: fb.view_chain_model([1, 10, 3]),
    }
    if with_tf:
        tfm = load("tf_models")
        builders.update({
            "conv": lambda: tfm.conv2d(1, 5, 12, 3, 4, 3, 3, (1, 2), (1, 1), "SAME", "RELU"),
            "conv_dilated": lambda: tfm.conv2d(2, 4, 14, 2, 3, 2, 3, (1, 1), (1, 2), "VALID", "RELU6"),
            "depthwise": lambda: tfm.depthwise(3, 3, 12, 4, 2, 3, 3, (1, 1), (1, 1), "SAME", "RELU"),
            "depthwise_k5": lambda: tfm.depthwise(4, 1, 16, 5, 1, 1, 5, (1, 1), (1, 1), "SAME", "RELU"),
            "dense": lambda: tfm.dense(5, (1, 16), 5, "RELU"),
            "maxpool": lambda: tfm.pool(6, "max", 5, 9, 3, 3, 3, (2, 2), "SAME"),
            "avgpool": lambda: tfm.pool(7, "avg", 4, 8, 2, 2, 2, (1, 1), "VALID"),
            "mean": lambda: tfm.mean(8, (1, 5, 7, 3), [1, 2], False),
            "softmax": lambda: tfm.softmax(9, (1, 10), 1.0),
            "add_broadcast": lambda: tfm.add(10, (1, 4, 5, 3), (1, 1, 1, 3), "NONE", (1.0, 2.0)),
            "concat": lambda: tfm.concat(11, [(1, 6, 2), (1, 6, 3)], -1, (1.0, 4.0)),
            "pad": lambda: tfm.pad(12, (1, 4, 6, 2), [[0, 0], [1, 1], [0, 3], [0, 0]]),
        })
    out = {}
    for name, build in builders.items():
        p = cache / f"{name}.tflite"
        if not p.is_file():
            p.write_bytes(build())
        out[name] = p.read_bytes()
    return out


# ------------------------------------------------------------------ mutation
@dataclass
class Mutant:
    seed: str
    how: str
    data: bytes

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:16]


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as S
    return S


_INTERESTING_INT = (0, 1, 2, 3, -1, -2, 7, 8, 127, 128, 255, 256, 1000, 65535, 65536, 1 << 30, (1 << 31) - 1,
                    -(1 << 31))
_INTERESTING_BYTE = (0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE)


class Mutator:
    """Random mutants of the seed models (deterministic for a given rng)."""

    def __init__(self, seeds: dict[str, bytes], rng: random.Random):
        self.seeds, self.rng = seeds, rng
        self.names = sorted(seeds)

    def mutate(self) -> Mutant:
        name = self.rng.choice(self.names)
        data = self.seeds[name]
        if self.rng.random() < 0.5:
            return Mutant(name, *self.raw(data))
        for _ in range(5):  # a structural mutation that cannot apply to this model: try another
            try:
                return Mutant(name, *self.structured(data))
            except _NotApplicable:
                continue
        return Mutant(name, *self.raw(data))

    # -- raw bytes ---------------------------------------------------------
    def raw(self, data: bytes) -> tuple[str, bytes]:
        b = bytearray(data)
        r = self.rng
        what = []
        for _ in range(r.choice((1, 1, 1, 2, 3, 4))):
            i = r.randrange(len(b))
            kind = r.random()
            if kind < 0.4:
                b[i] = r.randrange(256)
                what.append(f"byte {i}={b[i]}")
            elif kind < 0.7:
                bit = r.randrange(8)
                b[i] ^= 1 << bit
                what.append(f"flip {i}.{bit}")
            elif kind < 0.9:
                b[i] = r.choice(_INTERESTING_BYTE)
                what.append(f"byte {i}={b[i]}")
            else:  # a little-endian 32-bit field
                i = min(i & ~3, len(b) - 4)
                v = r.choice(_INTERESTING_INT)
                b[i:i + 4] = struct.pack("<I", v & 0xFFFFFFFF)
                what.append(f"u32 {i}={v}")
        return "raw " + ", ".join(what), bytes(b)

    # -- flatbuffer fields ---------------------------------------------------
    def structured(self, data: bytes) -> tuple[str, bytes]:
        import flatbuffers

        S = _schema()
        model = S.ModelT.InitFromPackedBuf(bytearray(data), 0)
        how = self.rng.choice(_STRUCT_MUTATIONS)(self, model, S)
        b = flatbuffers.Builder(max(1024, len(data)))
        try:
            b.Finish(model.Pack(b), file_identifier=b"TFL3")
        except (TypeError, ValueError, OverflowError, struct.error):
            raise _NotApplicable from None  # a value the field's type cannot hold (e.g. -1 in a uint32)
        return how, bytes(b.Output())

    def _int(self, old) -> int:
        r = self.rng
        old = int(old)
        return r.choice((*_INTERESTING_INT, old + 1, old - 1, old * 2, old // 2, r.randint(-4, 40)))

    def _tensor(self, model):
        sg = model.subgraphs[0]
        if not sg.tensors:
            raise _NotApplicable
        i = self.rng.randrange(len(sg.tensors))
        return i, sg.tensors[i]

    def _op(self, model):
        sg = model.subgraphs[0]
        if not sg.operators:
            raise _NotApplicable
        i = self.rng.randrange(len(sg.operators))
        return i, sg.operators[i]


class _NotApplicable(Exception):
    pass


def _m_shape(m: Mutator, model, S) -> str:
    i, t = m._tensor(model)
    shape = [int(d) for d in t.shape] if t.shape is not None else []
    if not shape or m.rng.random() < 0.2:
        if shape and m.rng.random() < 0.5:
            k = m.rng.randrange(len(shape))
            del shape[k]
            t.shape = shape
            return f"tensor {i} drop dim {k}"
        shape.insert(m.rng.randrange(len(shape) + 1), m.rng.choice((1, 1, 2, 3)))
        t.shape = shape
        return f"tensor {i} rank+1 -> {shape}"
    k = m.rng.randrange(len(shape))
    shape[k] = m._int(shape[k])
    t.shape = shape
    return f"tensor {i} shape[{k}]={shape[k]}"


_OPTION_FIELDS = ("strideH", "strideW", "dilationHFactor", "dilationWFactor", "filterHeight", "filterWidth",
                  "depthMultiplier", "padding", "fusedActivationFunction", "axis", "keepDims", "keepNumDims",
                  "weightsFormat", "asymmetricQuantizeInputs", "beta", "squeezeDims", "quantizedBiasType")


def _m_option(m: Mutator, model, S) -> str:
    i, op = m._op(model)
    o = op.builtinOptions
    if o is None:
        raise _NotApplicable
    fields = [f for f in _OPTION_FIELDS if hasattr(o, f)]
    if not fields:
        raise _NotApplicable
    f = m.rng.choice(fields)
    old = getattr(o, f)
    if f == "beta":
        new = m.rng.choice((0.0, -1.0, 1e-30, 1e30, float("nan"), float("inf"), old * 2, old * 0.5))
    elif f == "squeezeDims":
        new = [m.rng.randint(-5, 5) for _ in range(m.rng.randint(0, 3))]
    elif isinstance(old, bool):
        new = not old
    else:
        new = m._int(old) if m.rng.random() < 0.7 else m.rng.randint(0, 6)
    setattr(o, f, new)
    return f"operator {i} {f}={new}"


def _m_quant(m: Mutator, model, S) -> str:
    i, t = m._tensor(model)
    q = t.quantization
    if q is None or q.scale is None or len(q.scale) == 0:
        raise _NotApplicable
    r = m.rng
    kind = r.randrange(6)
    scale = [float(s) for s in q.scale]
    zp = [int(z) for z in (q.zeroPoint if q.zeroPoint is not None else [0] * len(scale))]
    k = r.randrange(len(scale))
    if kind == 0:
        f = r.choice((0.0, -1.0, 2.0, 0.5, 1e-30, 1e30, float("nan"), float("inf"), 1.0 + 2 ** -20, 1e-6, 1e6))
        scale[k] = scale[k] * f if f not in (float("nan"), float("inf")) else f
        q.scale = scale
        return f"tensor {i} scale[{k}]={scale[k]!r}"
    if kind == 1:
        zp[k] = r.choice((-128, 127, 128, -129, zp[k] + 1, zp[k] - 1, 1000, -(1 << 40)))
        q.zeroPoint = zp
        return f"tensor {i} zero_point[{k}]={zp[k]}"
    if kind == 2:
        q.quantizedDimension = r.choice((0, 1, 2, 3, 4, -1, 7))
        return f"tensor {i} quantized_dimension={q.quantizedDimension}"
    if kind == 3:
        if len(scale) > 1 and r.random() < 0.5:
            q.scale, q.zeroPoint = scale[:-1], zp[:-1]
            return f"tensor {i} drop a channel's scale"
        q.scale, q.zeroPoint = scale + [scale[-1]], zp + [zp[-1]]
        return f"tensor {i} add a channel's scale"
    if kind == 4:
        q.zeroPoint = zp[:-1] if len(zp) > 1 else []
        return f"tensor {i} fewer zero points than scales"
    t.quantization = None
    return f"tensor {i} quantization removed"


def _m_type(m: Mutator, model, S) -> str:
    i, t = m._tensor(model)
    names = [k for k in vars(S.TensorType) if not k.startswith("_")]
    name = m.rng.choice(names)
    t.type = getattr(S.TensorType, name)
    return f"tensor {i} type={name}"


def _m_tensor_index(m: Mutator, model, S) -> str:
    sg = model.subgraphs[0]
    n = len(sg.tensors or [])
    r = m.rng
    if r.random() < 0.3:
        which = r.choice(("inputs", "outputs"))
        cur = getattr(sg, which)
        lst = [int(v) for v in cur] if cur is not None else []
        if lst and r.random() < 0.7:
            k = r.randrange(len(lst))
            lst[k] = r.randint(-2, n + 1)
        else:
            lst.append(r.randint(0, max(0, n - 1)))
        setattr(sg, which, lst)
        return f"subgraph {which}={lst}"
    i, op = m._op(model)
    which = r.choice(("inputs", "outputs"))
    cur = getattr(op, which)
    lst = [int(v) for v in cur] if cur is not None else []
    if not lst:
        raise _NotApplicable
    k = r.randrange(len(lst))
    lst[k] = r.choice((-1, r.randint(0, max(0, n - 1)), n, n + 7, lst[k] + 1, lst[k] - 1))
    setattr(op, which, lst)
    return f"operator {i} {which}[{k}]={lst[k]}"


def _m_buffer_index(m: Mutator, model, S) -> str:
    i, t = m._tensor(model)
    nb = len(model.buffers or [])
    t.buffer = m.rng.choice((0, nb, nb + 3, m.rng.randrange(max(1, nb)), t.buffer + 1, t.buffer - 1))
    return f"tensor {i} buffer={t.buffer}"


def _m_opcode(m: Mutator, model, S) -> str:
    r = m.rng
    if r.random() < 0.4 and model.subgraphs[0].operators:
        i, op = m._op(model)
        op.opcodeIndex = r.choice((0, len(model.operatorCodes or []), r.randrange(max(1, len(model.operatorCodes or []))),
                                   op.opcodeIndex + 1, -1))
        return f"operator {i} opcode_index={op.opcodeIndex}"
    codes = model.operatorCodes or []
    if not codes:
        raise _NotApplicable
    k = r.randrange(len(codes))
    names = [n for n in vars(S.BuiltinOperator) if not n.startswith("_")]
    name = r.choice(names)
    v = getattr(S.BuiltinOperator, name)
    codes[k].builtinCode = v
    codes[k].deprecatedBuiltinCode = min(v, 127) if r.random() < 0.8 else r.randrange(128)
    return f"operator code {k}={name}"


def _m_buffer_data(m: Mutator, model, S) -> str:
    bufs = [(i, b) for i, b in enumerate(model.buffers or []) if b.data is not None and len(b.data) > 0]
    if not bufs:
        raise _NotApplicable
    i, b = m.rng.choice(bufs)
    d = bytearray(np.asarray(b.data, dtype=np.uint8).tobytes())
    r = m.rng
    kind = r.randrange(3)
    if kind == 0:
        for _ in range(r.randint(1, 4)):
            d[r.randrange(len(d))] = r.choice((*_INTERESTING_BYTE, r.randrange(256)))
        how = "bytes changed"
    elif kind == 1:
        d = d[:-r.randint(1, min(4, len(d)))]
        how = "shortened"
    else:
        d += bytes(r.randint(1, 4))
        how = "lengthened"
    b.data = list(d)
    return f"buffer {i} {how}"


def _m_ops(m: Mutator, model, S) -> str:
    sg = model.subgraphs[0]
    ops = list(sg.operators or [])
    if len(ops) < 2:
        raise _NotApplicable
    r = m.rng
    kind = r.randrange(3)
    i, j = r.sample(range(len(ops)), 2)
    if kind == 0:
        del ops[i]
        how = f"operator {i} deleted"
    elif kind == 1:
        ops[i], ops[j] = ops[j], ops[i]
        how = f"operators {i} and {j} swapped"
    else:
        import copy
        ops.insert(i, copy.deepcopy(ops[j]))
        how = f"operator {j} duplicated at {i}"
    sg.operators = ops
    return how


def _m_options_type(m: Mutator, model, S) -> str:
    i, op = m._op(model)
    if m.rng.random() < 0.5:
        op.builtinOptions, op.builtinOptionsType = None, 0
        return f"operator {i} options removed"
    names = [n for n in vars(S.BuiltinOptions) if not n.startswith("_") and n != "NONE"]
    name = m.rng.choice(names)
    cls = getattr(S, f"{name}T", None)
    if cls is None:
        raise _NotApplicable
    op.builtinOptionsType, op.builtinOptions = getattr(S.BuiltinOptions, name), cls()
    return f"operator {i} options={name} (defaults)"


def _m_name(m: Mutator, model, S) -> str:
    """Hostile text where the file carries text: tensor names, the description."""
    r = m.rng
    text = r.choice((b"*/ int x; /*", b"line\nbreak", b"nul\x00inside", b'"quoted" \\ back', b"\xff\xfe\x80",
                     b"x" * 5000, bytes(r.randrange(256) for _ in range(r.randint(1, 40)))))
    if r.random() < 0.2:
        model.description = text
        return f"description={text[:20]!r}"
    i, t = m._tensor(model)
    t.name = text
    return f"tensor {i} name={text[:20]!r}"


_STRUCT_MUTATIONS = (_m_shape, _m_shape, _m_option, _m_option, _m_option, _m_quant, _m_quant, _m_type,
                     _m_tensor_index, _m_buffer_index, _m_opcode, _m_buffer_data, _m_ops, _m_options_type, _m_name)


# ---------------------------------------------------------------- workers
#: Models whose buffers pass this many bytes always get the fit check (it must
#: refuse what no board holds); the others one in FIT_EVERY (the link costs
#: ~3-5 s, more than twenty other mutants together; a long run may sample less).
FIT_ALWAYS_BYTES = 256 * 1024
FIT_EVERY = 20


def _worker_convert(req):
    """(model bytes, work dir, fit check?) -> ("refused", msg) | ("accepted", info) | ("traceback", text).

    The stages of ``convert.convert`` (load, lower, render, fit, write); the fit
    check links a firmware image (~3 s), so it runs when asked or when the
    model is big, not for every mutant."""
    from .. import codegen, convert

    data, work, fit = req
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    model = work / "mutant.tflite"
    model.write_bytes(data)
    gen = work / "gen"
    try:
        _, graph = convert.load_model(model)
        prog = codegen.lower(graph)
        files = codegen.render(prog)
        if fit or prog.input_bytes + prog.output_bytes + prog.arena_bytes > FIT_ALWAYS_BYTES:
            f = convert.check_fit(prog, ENV, files)
            if not f.ok:
                raise TinyEcgError(f.refusal(model.name, prog))
        codegen.write(files, gen)
    except TinyEcgError as exc:
        return ("refused", str(exc))
    except Exception:  # noqa: BLE001 - exactly what this fuzzer looks for
        return ("traceback", traceback.format_exc())
    g = prog.graph
    info = {"gen": str(gen), "input_shapes": [list(g.tensors[i].shape) for i in g.inputs],
            "input_bytes": prog.input_bytes, "output_bytes": prog.output_bytes,
            "n_outputs": len(g.outputs), "arena": prog.arena_bytes}
    return ("accepted", info)


def _worker_tflm(req):
    """(model bytes, input shapes, rows, arena) -> ("ok", outputs) | ("refused", msg)."""
    from tflite_micro import runtime

    data, shapes, rows, arena = req
    try:
        interp = runtime.Interpreter.from_bytes(data, arena_size=arena)
        outs = []
        for row in rows:
            off = 0
            for k, shape in enumerate(shapes):
                n = int(np.prod(shape, dtype=np.int64))
                interp.set_input(row[off:off + n].reshape(shape), k)
                off += n
            interp.invoke()
            k, out = 0, []
            while True:
                try:
                    out.append(np.asarray(interp.get_output(k), dtype=np.int8).reshape(-1))
                except (IndexError, RuntimeError, ValueError):
                    break
                k += 1
            outs.append(np.concatenate(out) if out else np.zeros(0, np.int8))
        return ("ok", outs)
    except Exception as exc:  # noqa: BLE001 - tflite_micro refusing the model is an answer
        return ("refused", f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}")


_WORKERS = {"convert": _worker_convert, "tflm": _worker_tflm}


def worker_main(kind: str) -> None:
    """Serve requests on stdin/stdout (length-prefixed pickles) until EOF."""
    fn = _WORKERS[kind]
    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))
    rx = os.fdopen(os.dup(0), "rb")
    tx = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything the libraries print goes to stderr, not into the channel
    while True:
        head = rx.read(8)
        if len(head) < 8:
            return
        req = pickle.loads(rx.read(struct.unpack("<Q", head)[0]))
        try:
            rep = fn(req)
        except MemoryError:
            rep = ("traceback", "MemoryError (worker address-space limit)\n" + traceback.format_exc())
        blob = pickle.dumps(rep)
        tx.write(struct.pack("<Q", len(blob)) + blob)
        tx.flush()


class Worker:
    """A worker process; call() returns its reply, ("hang", s) or ("crash", text)."""

    def __init__(self, kind: str, log: Path):
        self.kind, self.log = kind, Path(log)
        self.proc = None

    def _start(self):
        env = dict(os.environ, PYTHONPATH=str(ROOT / "tools") + os.pathsep + os.environ.get("PYTHONPATH", ""),
                   TF_CPP_MIN_LOG_LEVEL="3")
        self._err = open(self.log, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "tinyecg.fuzz.converter", "--worker", self.kind],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._err, env=env)

    def close(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            self._err.close()

    def call(self, req, guard: float = HANG_GUARD_S):
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        blob = pickle.dumps(req)
        try:
            self.proc.stdin.write(struct.pack("<Q", len(blob)) + blob)
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        out = self.proc.stdout
        t0 = time.monotonic()
        buf = b""
        need = 8
        while True:
            left = guard - (time.monotonic() - t0)
            if left <= 0:
                self.close()
                return ("hang", f"no answer in {guard:.0f} s")
            r, _, _ = select.select([out], [], [], min(left, 1.0))
            if not r:
                continue
            chunk = os.read(out.fileno(), need - len(buf))
            if not chunk:
                rc = self.proc.wait()
                self.proc = None
                self._err.close()
                return ("crash", f"worker exited with status {rc}")
            buf += chunk
            if len(buf) == need:
                if need == 8:
                    need = 8 + struct.unpack("<Q", buf)[0]
                else:
                    return pickle.loads(buf[8:])


# ------------------------------------------------------------- host build
def build_kernels(work: Path) -> list[Path]:
    """The portable tinynn kernels with the sanitizers, compiled once."""
    work.mkdir(parents=True, exist_ok=True)
    objs = []
    for src in sorted((TINYNN / "src").glob("*.c")):
        obj = work / (src.stem + ".o")
        proc = subprocess.run([*GCC, f"-I{TINYNN / 'include'}", "-c", str(src), "-o", str(obj)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise TinyEcgError(f"tinynn kernel {src.name} does not build for the host:\n{proc.stderr[-2000:]}")
        objs.append(obj)
    return objs


class HostModels:
    """Generated C compiled for the host, one executable per distinct source text
    (mutants the converter reads identically share one build).  Each translation
    unit -- model.c, model_data.c and the harness -- is compiled on its own and
    its object kept by the hash of its text and the generated headers, so a
    mutant that changes only weights recompiles model_data.c and links."""

    KEEP = 64
    KEEP_OBJECTS = 256

    def __init__(self, work: Path, kernels: list[Path]):
        self.dir = Path(work) / "host_models"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.kernels = kernels
        self.built: dict[str, tuple[str, object]] = {}  # source hash -> ("ok", exe) | (failure kind, text)
        self.objects: dict[str, tuple[str, object]] = {}  # unit hash -> ("ok", object) | ("build_error", text)
        self.builds = 0
        self.compiles = 0

    @staticmethod
    def _hash(*parts: bytes) -> str:
        return hashlib.sha256(b"\0".join(parts)).hexdigest()[:20]

    def _object(self, src: Path, gen: Path, headers: bytes) -> tuple[str, object]:
        h = self._hash(src.name.encode(), src.read_bytes(), headers)
        if h in self.objects:
            return self.objects[h]
        obj = self.dir / f"{src.stem}_{h}.o"
        proc = subprocess.run([*GCC, f"-I{gen}", f"-I{TINYNN / 'include'}", "-c", str(src), "-o", str(obj)],
                              capture_output=True, text=True)
        self.compiles += 1
        res = ("ok", obj) if proc.returncode == 0 else ("build_error", proc.stderr[-3000:])
        if len(self.objects) >= self.KEEP_OBJECTS:  # forget the oldest object
            kind, old = self.objects.pop(next(iter(self.objects)))
            if kind == "ok":
                Path(old).unlink(missing_ok=True)
        self.objects[h] = res
        return res

    def _build(self, gen: Path) -> tuple[str, object]:
        srcs = sorted(gen.glob("*.c")) + sorted(gen.glob("*.h"))
        h = self._hash(*(p.name.encode() + b"\0" + p.read_bytes() for p in srcs))
        if h in self.built:
            return self.built[h]
        headers = b"\0".join(p.name.encode() + b"\0" + p.read_bytes() for p in sorted(gen.glob("*.h")))
        objs = []
        res = None
        for src in [*sorted(gen.glob("*.c")), HARNESS]:
            kind, val = self._object(src, gen, headers)
            if kind != "ok":
                res = (kind, val)
                break
            objs.append(val)
        if res is None:
            exe = self.dir / f"model_{h}"
            proc = subprocess.run([*GCC, *map(str, objs), *map(str, self.kernels), "-o", str(exe)],
                                  capture_output=True, text=True)
            res = ("ok", exe) if proc.returncode == 0 else ("build_error", proc.stderr[-3000:])
        self.builds += 1
        if len(self.built) >= self.KEEP:  # forget the oldest build
            old = next(iter(self.built))
            kind, old_exe = self.built.pop(old)
            if kind == "ok":
                Path(old_exe).unlink(missing_ok=True)
        self.built[h] = res
        return res

    def run(self, gen: Path, rows: np.ndarray, out_bytes: int) -> tuple[str, object]:
        """Run the generated model on `rows`: ("ok", outputs) | ("build_error", text) |
        ("runtime_error", text) | ("generated_crash", text)."""
        kind, exe = self._build(gen)
        if kind != "ok":
            return kind, exe
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0", UBSAN_OPTIONS="print_stacktrace=1")
        try:
            res = subprocess.run([str(exe)], input=np.ascontiguousarray(rows, dtype=np.int8).tobytes(),
                                 capture_output=True, env=env, timeout=HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            return "generated_crash", f"generated model ran {HANG_GUARD_S:.0f} s (hang)"
        if res.returncode == 3:
            return "runtime_error", "model_invoke returned an error"
        if res.returncode != 0:
            return "generated_crash", res.stderr.decode(errors="replace")[-3000:]
        got = np.frombuffer(res.stdout, dtype=np.int8)
        if got.size != len(rows) * out_bytes:
            return "generated_crash", f"{got.size} output bytes for {len(rows)} rows of {out_bytes}"
        return "ok", got.reshape(len(rows), out_bytes)


# ------------------------------------------------------------------ the loop
@dataclass
class Summary:
    mutants: int = 0
    counts: Counter = field(default_factory=Counter)
    findings: list = field(default_factory=list)  # (kind, mutant file, how, detail)
    seconds: float = 0.0

    @property
    def bugs(self) -> int:
        return sum(self.counts[k] for k in BUGS)

    def line(self) -> str:
        c = self.counts
        return (f"{self.mutants} mutants: {c['refused']} refused with one line, {c['accepted']} converted "
                f"({c['equal']} equal to tflite_micro on every input, {c['tflm_refused']} refused by tflite_micro); "
                f"findings: " + ", ".join(f"{k} {c[k]}" for k in BUGS))


class ConverterFuzzer:
    def __init__(self, work: Path, seeds: dict[str, bytes], seed: int = 0, rows: int = 6,
                 fit_every: int = FIT_EVERY):
        self.work = Path(work)
        self.work.mkdir(parents=True, exist_ok=True)
        (self.work / "findings").mkdir(exist_ok=True)
        self.mutator = Mutator(seeds, random.Random(seed))
        self.rng = np.random.default_rng(seed)
        self.rows = rows
        self.host = HostModels(self.work, build_kernels(self.work / "tinynn"))
        self.convert = Worker("convert", self.work / "convert_worker.log")
        self.judged = 0
        self.fit_every = fit_every
        self.tflm = Worker("tflm", self.work / "tflm_worker.log")

    def close(self):
        self.convert.close()
        self.tflm.close()

    def _finding(self, summary: Summary, kind: str, m: Mutant, detail: str):
        summary.counts[kind] += 1
        path = self.work / "findings" / f"{kind}-{m.seed}-{m.digest}.tflite"
        path.write_bytes(m.data)
        path.with_suffix(".txt").write_text(f"seed {m.seed}\nmutation {m.how}\n\n{detail}\n")
        summary.findings.append((kind, str(path), m.how, detail.strip().splitlines()[-1] if detail.strip() else ""))

    def check(self, m: Mutant, summary: Summary) -> str:
        """Judge one mutant; returns its outcome (a key of summary.counts)."""
        slot = self.work / "current"
        self.judged += 1
        kind, val = self.convert.call((m.data, str(slot), self.judged % self.fit_every == 0))
        if kind == "refused":
            if "\n" in val or not val.strip():
                self._finding(summary, "multiline", m, val)
                return "multiline"
            summary.counts["refused"] += 1
            return "refused"
        if kind in ("traceback", "hang", "crash"):
            name = {"traceback": "traceback", "hang": "convert_hang", "crash": "convert_crash"}[kind]
            self._finding(summary, name, m, val)
            return name
        info = val
        summary.counts["accepted"] += 1
        width = info["input_bytes"]
        rows = self.rng.integers(-128, 128, size=(self.rows, width), dtype=np.int8)
        rows = np.concatenate([rows, np.full((1, width), -128, np.int8), np.full((1, width), 127, np.int8)])
        arena = int(min(64 << 20, max(10 * len(m.data), 4 * info["arena"] + (64 << 10))))
        tk, tval = self.tflm.call((m.data, info["input_shapes"], rows, arena), guard=TFLM_GUARD_S)
        if tk != "ok":
            summary.counts["tflm_refused"] += 1
            summary.counts["tflm_" + {"refused": "error"}.get(tk, tk)] += 1
            return "tflm_refused"
        ref = np.stack(tval)
        status, got = self.host.run(Path(info["gen"]), rows, info["output_bytes"])
        if status != "ok":
            self._finding(summary, status, m, got)
            return status
        if ref.shape != got.shape or not np.array_equal(ref, got):
            bad = [int(i) for i in np.nonzero((ref != got).any(axis=1))[0]] if ref.shape == got.shape else []
            self._finding(summary, "mismatch", m, f"tflite_micro {ref.shape} vs generated {got.shape}; rows differing "
                                                  f"{bad}; first ref {ref[0][:12].tolist()} got {got[0][:12].tolist()}")
            return "mismatch"
        summary.counts["equal"] += 1
        return "equal"

    def run(self, n: int, progress: bool = False, on_finding=None, checkpoint=None, every: int = 500) -> Summary:
        """Judge n mutants; `checkpoint(summary)` every `every` of them (long runs keep their figures)."""
        summary = Summary()
        t0 = time.monotonic()
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=n, unit="mutant", dynamic_ncols=True, desc="converter fuzz")
        try:
            for _ in range(n):
                m = self.mutator.mutate()
                before = summary.bugs
                self.check(m, summary)
                summary.mutants += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(acc=summary.counts["accepted"], eq=summary.counts["equal"], bugs=summary.bugs)
                if on_finding and summary.bugs > before:
                    on_finding(summary.findings[-1])
                if checkpoint and summary.mutants % every == 0:
                    summary.seconds = time.monotonic() - t0
                    checkpoint(summary)
        finally:
            if bar is not None:
                bar.close()
            summary.seconds = time.monotonic() - t0
        return summary


def replay_file(work: Path, path: Path) -> tuple[str, Summary]:
    """Judge one saved mutant (a finding, after a fix)."""
    fz = ConverterFuzzer(work, {"file": Path(path).read_bytes()})
    try:
        s = Summary()
        return fz.check(Mutant("file", "as saved", Path(path).read_bytes()), s), s
    finally:
        fz.close()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2])
    else:
        sys.exit("usage: python -m tinyecg.fuzz.converter --worker convert|tflm (tools/fuzz_convert.py runs it)")
