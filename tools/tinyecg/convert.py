"""Model conversion: .keras/.tflite -> generated C for one firmware env.

Library side of ``tools/convert.py``: load (quantizing a .keras model with the
training package's quantizer), lower, check the result fits the env's board,
measure what the tflite_micro runtime would need, write the C.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import codegen, firmware, tflite_import
from .errors import TinyEcgError

# Where the fit check links its images: one build dir per env, kept, so that
# after the first model only the sources that include the model recompile.
FIT_DIR = firmware.ROOT / ".pio" / "fit"
BIGGEST = 3  # tensors / weights a refusal names


@dataclass
class Fit:
    """The linked image of a model for one env, against the board's memory.

    flash = the firmware's own code and constants (protocol, pipeline, board
    support, the engine kernels the model calls) + the model's (model.c code,
    weights, channel tables, layer parameters); RAM = the firmware's static
    data and stack reserve + the arena + the engine's input and output
    buffers. Every figure is measured from the linked ELF and its map."""

    env: str
    flash_max: int
    ram_max: int
    firmware_flash: int
    model_flash: int
    firmware_ram: int
    arena_ram: int   # the model's static RAM: the planned arena plus the kernels' scratch buffer
    io_ram: int

    @property
    def flash_needed(self) -> int:
        return self.firmware_flash + self.model_flash

    @property
    def ram_needed(self) -> int:
        return self.firmware_ram + self.arena_ram + self.io_ram

    @property
    def flash_ok(self) -> bool:
        return self.flash_needed <= self.flash_max

    @property
    def ram_ok(self) -> bool:
        return self.ram_needed <= self.ram_max

    @property
    def ok(self) -> bool:
        return self.flash_ok and self.ram_ok

    def flash_text(self) -> str:
        return (f"flash {self.flash_needed:,} B of {self.flash_max:,} B "
                f"(firmware {self.firmware_flash:,} B + model {self.model_flash:,} B)")

    def ram_text(self) -> str:
        return (f"RAM {self.ram_needed:,} B of {self.ram_max:,} B (firmware {self.firmware_ram:,} B + arena and scratch "
                f"{self.arena_ram:,} B + inputs/outputs {self.io_ram:,} B)")

    def refusal(self, model_name: str, prog: codegen.Program) -> str:
        """One line: what does not fit, by how much, and the biggest items to blame."""
        needs, biggest = [], []
        if not self.flash_ok:
            needs.append(self.flash_text())
            biggest += biggest_weights(prog)
        if not self.ram_ok:
            needs.append(self.ram_text())
            biggest += biggest_tensors(prog)
        return f"{model_name} does not fit {self.env}: needs {' and '.join(needs)}; biggest: {', '.join(biggest)}"


def biggest_tensors(prog: codegen.Program, n: int = BIGGEST) -> list[str]:
    """The largest tensors in RAM: arena-resident ones, inputs, outputs."""
    g = prog.graph
    sizes = {b.root: b.size for b in prog.buffers.values()}
    sizes.update({i: g.tensors[i].nbytes for i in list(g.inputs) + list(g.outputs)})
    top = sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [f"tensor '{g.tensors[i].name}' {size:,} B" for i, size in top]


def biggest_weights(prog: codegen.Program, n: int = BIGGEST) -> list[str]:
    """The layers with the most constant bytes (weights and channel tables)."""
    sizes = [(sum(a.nbytes for a in layer.data_arrays), layer) for layer in prog.layers if layer.data_arrays]
    top = sorted(sizes, key=lambda t: (-t[0], t[1].op.index))[:n]
    return [f"weights of {layer.name} ({layer.op.kind} #{layer.op.index}) {size:,} B" for size, layer in top]


def measure_fit(prog: codegen.Program, env: str, elf: Path) -> Fit:
    """Fit of an image linked with this model's C (firmware.build(measure_only=True)
    links it even when it overflows the board)."""
    upload = firmware.board_config(env).get("upload", {})
    size = firmware.image_size(elf)
    maps = firmware.map_sizes(elf.with_name("firmware.map"))
    model_flash = maps["model_code_bytes"] + maps["model_const_bytes"]
    io = prog.input_bytes + prog.output_bytes  # cmd_model.c's static tensor buffers
    ram = size["ram_bytes"] + size["stack_reserve_bytes"]
    return Fit(env=env, flash_max=int(upload.get("maximum_size", 0)), ram_max=int(upload.get("maximum_ram_size", 0)),
               firmware_flash=size["flash_bytes"] - model_flash, model_flash=model_flash,
               firmware_ram=ram - maps["model_ram_bytes"] - io, arena_ram=maps["model_ram_bytes"], io_ram=io)


_ARRAY_VALUES = re.compile(r"\] = \{\n(?:    [^\n]*\n)*\};")


def zero_weights(files: dict[str, str]) -> dict[str, str]:
    """The generated C with model_data.c's arrays zero-filled ("= {0}"): the
    same declarations, sizes and sections (an image's layout depends on its
    arrays' sizes, never their values), which gcc compiles at once however
    big the weights (a 4 MB array of numbers takes it over a minute)."""
    return {**files, "model_data.c": _ARRAY_VALUES.sub("] = {0};", files["model_data.c"])}


@contextlib.contextmanager
def _locked(path: Path):
    """One fit build per env dir at a time (a second convert waits)."""
    path.mkdir(parents=True, exist_ok=True)
    with open(path / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def check_fit(prog: codegen.Program, env: str, files: dict[str, str] | None = None) -> Fit:
    """Link the image this model makes for env and measure it.

    Exact: the firmware as the linker lays it out with this model, the engine
    kernels it calls and its buffers, not a fixed reserve. Cheap: the weights
    are compiled zero-filled (zero_weights) and the build dir (FIT_DIR/env)
    is kept, so a model costs one incremental build (~3 s)."""
    files = files if files is not None else codegen.render(prog)
    work = FIT_DIR / env
    with _locked(work):
        codegen.write(zero_weights(files), work / "model")
        elf = firmware.build(env, model_dir=work / "model", base=work / "build", measure_only=True)
        return measure_fit(prog, env, elf)


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
        lines.append(f"fits {env}: {fit.flash_text()}, {fit.ram_text()} (measured: the linked image)")
    return lines


def convert(model: str | Path, env: str, out_dir: str | Path, class_names: list[str] | None = None,
            measure_tflm: bool = True, data_dir: str | Path | None = None) -> tuple[codegen.Program, Fit, int | None]:
    firmware.board_of(env)  # unknown env: one-line error before any work
    data, graph = load_model(model, data_dir=data_dir)
    prog = codegen.lower(graph, class_names)
    files = codegen.render(prog)
    fit = check_fit(prog, env, files)
    if not fit.ok:
        raise TinyEcgError(fit.refusal(Path(model).name, prog))
    codegen.write(files, out_dir)
    tflm = tflm_min_arena(data) if measure_tflm else None
    return prog, fit, tflm
