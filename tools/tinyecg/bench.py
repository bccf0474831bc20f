"""Benchmark a model on a firmware env: convert, build, run it on QEMU (or a
flashed board) over the chunked tensor commands (TENSOR_WRITE, INVOKE,
TENSOR_READ), compare every output with the tflite_micro runtime.

Library side of ``tools/bench.py``; ``tests/hil/test_infer.py`` uses it too.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import codegen, convert, firmware, qemu
from .device import Device
from .errors import TinyEcgError
from .protocol import Msg
from .tflite_import import Graph

ROOT = firmware.ROOT


def reference_outputs(model_bytes: bytes, graph: Graph, inputs: np.ndarray) -> np.ndarray:
    """tflite_micro Python interpreter outputs, one invoke per row (inputs and
    outputs concatenated in subgraph order, as model_invoke takes them)."""
    from tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model_bytes)
    in_t = [graph.tensors[i] for i in graph.inputs]
    rows = []
    for row in np.asarray(inputs, dtype=np.int8):
        off = 0
        for k, t in enumerate(in_t):
            interp.set_input(row[off : off + t.size].reshape(t.shape), k)
            off += t.size
        interp.invoke()
        rows.append(np.concatenate(
            [np.asarray(interp.get_output(k), dtype=np.int8).reshape(-1) for k in range(len(graph.outputs))]))
    return np.stack(rows)


def vectors_for(model: Path, graph: Graph, n_random: int = 64, seed: int = 0) -> tuple[np.ndarray, str]:
    """Bench models bring their inputs (<stem>_input_int8.npy beside them);
    other models get seeded random int8."""
    width = sum(graph.tensors[i].size for i in graph.inputs)
    npy = model.with_name(f"{model.stem}_input_int8.npy")
    if npy.exists():
        x = np.load(npy).astype(np.int8).reshape(-1, width)
        return x, npy.name
    rng = np.random.default_rng(seed)
    return rng.integers(-128, 128, size=(n_random, width), dtype=np.int8), f"random int8 (seed {seed})"


@dataclass
class BenchResult:
    data: dict

    def table(self) -> str:
        d = self.data
        rows = [
            ("model", d["model"]), ("env", d["env"]), ("vectors", f"{d['vectors']} ({d['vector_source']})"),
            ("mismatches", d["mismatches"]),
            (f"{d['counter']}/inference", f"{d['instructions_per_inference']:.0f} "
                                          f"(min {d['instructions_min']}, max {d['instructions_max']})"),
            ("MACs", d["macs"]), (f"{d['counter']}/MAC", f"{d['instructions_per_mac']:.2f}"),
            ("flash bytes", f"{d['flash_bytes']} (firmware text+data)"),
            ("engine code bytes", f"{d['engine_code_bytes']} (tinynn) + {d['model_code_bytes']} (model.c)"),
            ("model flash bytes", f"{d['model_flash_bytes']} (weights, channel tables, layer params) = "
                                  f"{d['model_flash_ratio']:.3f} x {d['src_weight_bytes']} weight+bias bytes"),
            ("ram bytes", f"{d['ram_bytes']} (data+bss)"),
            ("arena bytes", f"{d['arena_bytes']} (layer-by-layer floor {d.get('floor_bytes', '-')}; "
                            f"tflite_micro x86-64: {d['tflm_arena_bytes']})"),
            ("stack peak bytes", d["stack_peak_bytes"]),
        ]
        w = max(len(k) for k, _ in rows)
        text = "\n".join(f"{k:<{w}}  {v}" for k, v in rows)
        if d.get("profile"):
            unit = d["counter"]
            lines = [f"{'layer':<12} {'operators':<34} {'MACs':>8} {unit:>14} {unit + '/MAC':>18}"]
            for p in d["profile"]:
                per = f"{p['instructions_per_mac']:.2f}" if p["instructions_per_mac"] else "-"
                lines.append(f"{p['layer']:<12} {p['ops']:<34} {p['macs']:>8} {p['instructions']:>14.0f} {per:>18}")
            tot = sum(p["instructions"] for p in d["profile"])
            lines.append(f"{'total':<12} {'(kernel calls)':<34} {d['macs']:>8} {tot:>14.0f} {tot / d['macs']:>18.2f}")
            text += "\n\n" + "\n".join(lines)
        return text


def io_sizes(graph: Graph) -> tuple[list[int], list[int]]:
    """Bytes of each input and of each output, in subgraph order."""
    return ([graph.tensors[i].nbytes for i in graph.inputs], [graph.tensors[i].nbytes for i in graph.outputs])


def run_vectors(dev: Device, x: np.ndarray, graph: Graph) -> tuple[np.ndarray, list[int]]:
    """Each row of x (all inputs concatenated) through the device on the
    chunked path (TENSOR_WRITE, INVOKE, TENSOR_READ): the outputs
    concatenated per row and the counter units of each invoke."""
    in_sizes, out_sizes = io_sizes(graph)
    cuts = np.cumsum(in_sizes)[:-1]
    outs, counts = [], []
    for row in np.asarray(x, dtype=np.int8):
        got, units = dev.run_model([part.tobytes() for part in np.split(row, cuts)], out_sizes, timeout=30)
        outs.append(np.frombuffer(b"".join(got), dtype=np.int8))
        counts.append(units)
    return np.stack(outs), counts


def build_for(model: Path, env: str, work: Path, class_names=None, profile: bool = False):
    """Generate C for a model into work/model and build env into work/build
    (profile: model_invoke records the counter after each kernel call)."""
    data, graph = convert.load_model(model, work)
    prog = codegen.lower(graph, class_names)
    codegen.write(codegen.render(prog, profile=profile), work / "model")
    # linked even if too big, to say why (when it fits: the same ELF as a plain build)
    elf = firmware.build(env, model_dir=work / "model", base=work / "build", measure_only=True)
    fit = convert.measure_fit(prog, env, elf)
    if not fit.ok:
        raise TinyEcgError(fit.refusal(model.name, prog))
    return data, prog, elf


def bench(model: str | Path, env: str, port: str | None = None, work: Path | None = None,
          n_random: int = 64, baud: int = 115200, profile: bool = False) -> BenchResult:
    model = Path(model)
    work = Path(work or ROOT / ".pio" / "bench" / f"{model.stem}-{env}{'-profile' if profile else ''}")
    data, prog, elf = build_for(model, env, work, profile=profile)
    graph = prog.graph
    x, source = vectors_for(model, graph, n_random)
    ref = reference_outputs(data, graph, x)

    board = None
    if port:
        dev = Device(port, baud=baud)
        dev.sync()
    else:
        board = qemu.boot(env, elf)
        dev = board.start()
    try:
        if board is not None:
            dev.wait_for(Msg.BOOT, timeout=10)
        info = dev.request(Msg.MODEL_INFO).kv()
        if info.get("model") != graph.model_id:
            raise TinyEcgError(
                f"device runs model {info.get('model')}, not {graph.model_id}: flash {elf} "
                f"(pio run -e {env} -t upload with TINYECG_MODEL_DIR={work / 'model'})")
        got, counts = run_vectors(dev, x, graph)
        info = dev.request(Msg.MODEL_INFO).kv()
        layers = []
        if profile:  # per-layer counts, averaged over the vectors (one MODEL_INFO after each invoke)
            sums = None
            for row in x:
                run_vectors(dev, row[None], graph)
                vals = [int(v) for v in dev.request(Msg.MODEL_INFO).kv()["profile"].split(",")]
                sums = vals if sums is None else [a + b for a, b in zip(sums, vals)]
            steps = prog.steps
            names = info.get("profile_layers", "").split(",")
            if names != [s.name for s in steps]:
                raise TinyEcgError(f"device profiles layers {names}, expected {[s.name for s in steps]}")
            for step, tot in zip(steps, sums):
                mean_n = tot / len(x)
                fused = [l for l in prog.layers if l.fused_into == step.name]
                kinds = [step.op.kind] + [l.op.kind for l in fused]
                macs = step.macs + sum(l.macs for l in fused)  # a fused pointwise conv does its MACs in this call
                layers.append({"layer": step.name, "ops": "+".join(kinds), "macs": macs,
                               "instructions": mean_n,
                               "instructions_per_mac": mean_n / macs if macs else None})
    finally:
        if board is not None:
            board.close()
        else:
            dev.close()

    size = firmware.image_size(elf)
    maps = firmware.map_sizes(elf.with_name("firmware.map"))
    mism = int((got != ref).any(axis=1).sum())
    mean = float(np.mean(counts))
    res = {
        "model": model.name,
        "model_id": graph.model_id,
        "env": env,
        "vectors": int(len(x)),
        "vector_source": source,
        "mismatches": mism,
        "counter": info.get("counter", "instructions"),
        "instructions_per_inference": mean,
        "instructions_min": int(min(counts)),
        "instructions_max": int(max(counts)),
        "macs": prog.macs,
        "instructions_per_mac": mean / prog.macs if prog.macs else None,
        "flash_bytes": size["flash_bytes"],
        "engine_code_bytes": maps["engine_code_bytes"],
        "model_code_bytes": maps["model_code_bytes"],
        "model_flash_bytes": maps["model_const_bytes"],
        "ram_bytes": size["ram_bytes"],
        "arena_bytes": prog.arena_bytes,
        "floor_bytes": prog.floor_bytes,
        "tflm_arena_bytes": convert.tflm_min_arena(data),
        "stack_peak_bytes": int(info.get("stack_peak", 0)),
        "src_weight_bytes": prog.src_weight_bytes,
        "model_flash_ratio": maps["model_const_bytes"] / prog.src_weight_bytes if prog.src_weight_bytes else None,
    }
    if profile:
        res["profile"] = layers
    return BenchResult(res)


def arm_size_of(elf: Path) -> str:  # pragma: no cover - debugging helper
    return subprocess.run(["arm-none-eabi-size", str(elf)], capture_output=True, text=True).stdout
