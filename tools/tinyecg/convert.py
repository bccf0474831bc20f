"""Model conversion: .keras/.tflite -> generated C for one firmware env.

Library side of ``tools/convert.py``: load (quantizing a .keras model with the
training package's quantizer), lower, check the result fits the env's board,
measure what the tflite_micro runtime would need, write the C.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import codegen, firmware, tflite_import
from .errors import TinyEcgError

# What the firmware needs beside the model (measured on mps2_an386 -Os,
# rounded up): application + protocol + engine code in flash, and RAM for the
# protocol buffers plus the linker's 16 KiB stack reserve.
FIRMWARE_FLASH_RESERVE = 32 * 1024
FIRMWARE_RAM_RESERVE = 24 * 1024


@dataclass
class Fit:
    flash_needed: int
    flash_max: int
    ram_needed: int
    ram_max: int

    @property
    def ok(self) -> bool:
        return self.flash_needed <= self.flash_max and self.ram_needed <= self.ram_max


def load_model(path: str | Path, workdir: Path | None = None,
               data_dir: str | Path | None = None) -> tuple[bytes, tflite_import.Graph]:
    """Read a .tflite, or quantize a .keras model to one first."""
    path = Path(path)
    if not path.exists():
        raise TinyEcgError(f"model file {path} not found")
    if path.suffix == ".keras":
        try:
            from . import quantize  # written by the training stage
        except ImportError:
            raise TinyEcgError(
                f"{path}: .keras models need tinyecg.quantize (training stage), which is not installed; "
                "pass the int8 .tflite instead"
            ) from None
        fn = getattr(quantize, "quantize_keras", None)
        if fn is None:
            raise TinyEcgError("tinyecg.quantize has no quantize_keras(); pass the int8 .tflite instead")
        workdir = workdir or Path(tempfile.mkdtemp(prefix="tinyecg-convert-"))
        out = workdir / (path.stem + ".tflite")
        # representative set: training (DS1) beats, never the DS2 test records
        from .data import DS1

        rep = quantize.representative_from_ds1(DS1, data_dir)
        result = fn(path, rep, out)
        if isinstance(result, (bytes, bytearray)):
            data = bytes(result)
        else:
            tfl = Path(result) if result is not None else out
            if not tfl.exists():
                raise TinyEcgError(f"quantize_keras({path}) produced no .tflite")
            data = tfl.read_bytes()
        return data, tflite_import.parse(data, str(path.with_suffix(".tflite")))
    if path.suffix != ".tflite":
        raise TinyEcgError(f"{path}: expected a .tflite or .keras model")
    data = path.read_bytes() if path.is_file() else b""
    return data, tflite_import.parse(data, str(path))


def check_fit(prog: codegen.Program, env: str) -> Fit:
    board = firmware.board_config(env)
    upload = board.get("upload", {})
    flash_max = int(upload.get("maximum_size", 0))
    ram_max = int(upload.get("maximum_ram_size", 0))
    flash = prog.weight_bytes + prog.quant_bytes + FIRMWARE_FLASH_RESERVE
    ram = prog.arena_bytes + FIRMWARE_RAM_RESERVE
    return Fit(flash, flash_max, ram, ram_max)


@contextlib.contextmanager
def quiet_fd2():
    """Silence C-level stderr (TFLM prints allocation failures there)."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_ARENA_PROBE = r"""
import sys
from tflite_micro import runtime
data = sys.stdin.buffer.read()
lo, hi = int(sys.argv[1]), int(sys.argv[2])
while lo < hi:
    mid = (lo + hi) // 2
    print("try", mid, flush=True)
    try:
        runtime.Interpreter.from_bytes(data, arena_size=mid)
        ok = True
    except Exception:
        ok = False
    print("ok" if ok else "no", mid, flush=True)
    if ok:
        hi = mid
    else:
        lo = mid + 1
print("min", lo, flush=True)
"""


def tflm_min_arena(model_bytes: bytes, hi: int = 1 << 20) -> int | None:
    """Smallest arena the tflite_micro Python runtime (x86-64 build) accepts,
    by bisection on Interpreter.from_bytes(arena_size=N).

    The bisection runs in a child process: the pinned runtime crashes
    (SIGSEGV) on some arenas slightly too small for a model instead of
    failing; a size it crashes on counts as too small and the search goes on
    in a new child."""
    import subprocess
    import sys

    try:
        import tflite_micro  # noqa: F401
    except ImportError:
        return None
    lo, top, seen_ok = 1, hi, False
    while lo < hi:
        try:
            proc = subprocess.run([sys.executable, "-c", _ARENA_PROBE, str(lo), str(hi)], input=model_bytes,
                                  capture_output=True, timeout=1800)
        except subprocess.TimeoutExpired:  # stuck on a hostile model: no figure, no traceback
            return None
        tried = None
        for line in proc.stdout.decode().split("\n"):
            word, _, n = line.partition(" ")
            if word == "try":
                tried = int(n)
            elif word in ("ok", "no"):
                if word == "ok":
                    hi, seen_ok = int(n), True
                else:
                    lo = int(n) + 1
                tried = None
        if proc.returncode == 0:
            break
        if tried is None:  # failed before probing: no runtime to ask
            return None
        lo = tried + 1  # crashed on this size: too small
    if not seen_ok and lo >= top:
        return None
    return lo


def summary_lines(prog: codegen.Program, tflm_arena: int | None, fit: Fit | None, env: str | None) -> list[str]:
    g = prog.graph
    lines = [f"model {Path(g.source).name}  id {g.model_id}  ({len(g.ops)} operators)"]
    lines.append(f"  {'#':>3}  {'operator':<18} {'output':<18} {'params':>8} {'MACs':>10}")
    for layer in prog.layers:
        op = layer.op
        shape = "x".join(str(d) for d in g.tensors[op.outputs[0]].shape) if op.outputs else ""
        kind = op.kind + ("*" if layer.kernel is None else "+" if layer.fused_into else "")
        lines.append(f"  {op.index:>3}  {kind:<18} {shape:<18} {layer.params:>8} {layer.macs:>10}")
    lines.append("  (* view: no code, no copy; + fused into the convolution before it)")
    lines.append(f"params          {prog.params}")
    lines.append(f"MACs            {prog.macs}")
    lines.append(f"weight bytes    {prog.weight_bytes} (weights + per-channel tables; .tflite weights+biases "
                 f"{prog.src_weight_bytes} B)")
    lines.append(f"arena bytes     {prog.arena_bytes} (static, planned from tensor lifetimes; layer-by-layer "
                 f"floor {prog.floor_bytes} B)")
    if tflm_arena is not None:
        lines.append(f"tflite_micro    {tflm_arena} B minimum arena (Python runtime, x86-64 build)")
    if fit is not None:
        lines.append(
            f"fits {env}: flash {fit.flash_needed}/{fit.flash_max} B, RAM {fit.ram_needed}/{fit.ram_max} B "
            f"(incl. {FIRMWARE_FLASH_RESERVE} B / {FIRMWARE_RAM_RESERVE} B firmware reserve)"
        )
    return lines


def convert(model: str | Path, env: str, out_dir: str | Path, class_names: list[str] | None = None,
            measure_tflm: bool = True, data_dir: str | Path | None = None) -> tuple[codegen.Program, Fit, int | None]:
    firmware.board_of(env)  # unknown env: one-line error before any work
    data, graph = load_model(model, data_dir=data_dir)
    prog = codegen.lower(graph, class_names)
    fit = check_fit(prog, env)
    if not fit.ok:
        raise TinyEcgError(
            f"{Path(model).name} does not fit env '{env}': needs flash {fit.flash_needed} B of "
            f"{fit.flash_max} B and RAM {fit.ram_needed} B of {fit.ram_max} B "
            f"(weights {prog.weight_bytes} B, arena {prog.arena_bytes} B)"
        )
    codegen.write(codegen.render(prog), out_dir)
    tflm = tflm_min_arena(data) if measure_tflm else None
    return prog, fit, tflm
