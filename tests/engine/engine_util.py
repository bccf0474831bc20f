"""Helpers for the engine parity tests: host-compile generated C, run the
tflite_micro reference interpreter, convert small TF functions to int8."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np

from tinyecg import codegen, tflite_import

ROOT = Path(__file__).resolve().parents[2]
TINYNN = ROOT / "firmware" / "lib" / "tinynn"
HARNESS = Path(__file__).with_name("harness.c")
BENCH = Path(os.environ.get("TINYECG_BENCH", ROOT.parent / "shared" / "bench"))
CFLAGS = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-Wno-unused-const-variable"]
# The kernels' two code paths on the host: the portable C ("portable", the
# judge, what Cortex-M0+/M3 run) and the Cortex-M DSP SIMD path with the ACLE
# intrinsics emulated in portable C ("dsp", tests/engine/acle_emul.h).
VARIANTS = {"portable": ["-DTNN_PORTABLE"], "dsp": ["-DTNN_EMULATE_DSP", f"-I{Path(__file__).parent}"]}


def build_kernels(workdir: Path, variant: str = "portable") -> list[Path]:
    """Compile the tinynn kernels once; returns the object files."""
    workdir.mkdir(parents=True, exist_ok=True)
    objs = []
    for src in sorted((TINYNN / "src").glob("*.c")):
        obj = workdir / (src.stem + ".o")
        proc = subprocess.run(["gcc", *CFLAGS, *VARIANTS[variant], f"-I{TINYNN / 'include'}", "-c", str(src),
                               "-o", str(obj)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise AssertionError(f"kernel build ({variant}) failed:\n{proc.stderr[-3000:]}")
        objs.append(obj)
    return objs


def build_host(gen_dir: Path, exe: Path, kernel_objs: list[Path] | None = None) -> Path:
    """Compile generated C + harness with host gcc (-Werror) and link the kernels."""
    srcs = sorted(str(p) for p in gen_dir.glob("*.c"))
    kernels = [str(o) for o in kernel_objs] if kernel_objs else sorted(str(p) for p in (TINYNN / "src").glob("*.c"))
    cmd = ["gcc", *CFLAGS, "-DTNN_PORTABLE", f"-I{gen_dir}", f"-I{TINYNN / 'include'}", *srcs, str(HARNESS), *kernels,
           "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError(f"host build failed:\n{proc.stderr[-3000:]}")
    return exe


def parity(model_bytes: bytes, workdir: Path, inputs: np.ndarray | None = None, n_random: int = 200,
           seed: int = 0, kernel_objs: list[Path] | dict[str, list[Path]] | None = None):
    """Generate C for a model, run it and tflite_micro on the same inputs.

    Returns (graph, reference outputs, generated-C outputs); with a dict of
    kernel variants the outputs are a dict variant -> outputs."""
    graph = tflite_import.parse(model_bytes, "model.tflite")
    gen = workdir / "gen"
    codegen.generate(graph, gen)
    if isinstance(kernel_objs, dict):
        exes = {v: build_host(gen, workdir / f"model_host_{v}", objs) for v, objs in kernel_objs.items()}
    else:
        exes = {None: build_host(gen, workdir / "model_host", kernel_objs)}
    width = sum(graph.tensors[i].size for i in graph.inputs)
    if inputs is None:
        rng = np.random.default_rng(seed)
        inputs = rng.integers(-128, 128, size=(n_random, width), dtype=np.int8)
        inputs = np.concatenate([inputs, np.full((1, width), -128, np.int8), np.full((1, width), 127, np.int8)])
    ref = run_tflm(model_bytes, graph, inputs)
    got = {v: run_host(exe, inputs, ref.shape[1]) for v, exe in exes.items()}
    return graph, ref, got if isinstance(kernel_objs, dict) else got[None]


def generate_and_build(model_path: Path, workdir: Path) -> tuple[codegen.Program, Path]:
    graph = tflite_import.load(model_path)
    gen = workdir / "gen"
    prog = codegen.generate(graph, gen)
    exe = build_host(gen, workdir / "model_host")
    return prog, exe


def run_host(exe: Path, inputs: np.ndarray, out_bytes: int) -> np.ndarray:
    data = np.ascontiguousarray(inputs, dtype=np.int8).tobytes()
    res = subprocess.run([str(exe)], input=data, capture_output=True, check=True)
    return np.frombuffer(res.stdout, dtype=np.int8).reshape(len(inputs), out_bytes)


def run_tflm(model_bytes: bytes, graph: tflite_import.Graph, inputs: np.ndarray) -> np.ndarray:
    """Reference: the tflite_micro Python interpreter, one invoke per row (the
    same function tools/bench.py judges the device with)."""
    from tinyecg.bench import reference_outputs

    return reference_outputs(model_bytes, graph, inputs)
