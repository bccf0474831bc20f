"""Build and run the libFuzzer targets in tests/fuzz (the device's C on the host).

Each target is one ``tests/fuzz/fuzz_<name>.c`` plus the firmware sources it
exercises and the host shim of ``board.h`` (``tests/fuzz/board_host.c``),
compiled by clang with ``-fsanitize=fuzzer,address,undefined``.  Seed inputs,
and every input that once found a bug, live in ``tests/fuzz/corpus/<name>/``
and are replayed by every run.

    build(name, out_dir)             -> the fuzzer executable
    replay(exe, corpus_dir)          -> runs each corpus file once
    fuzz(exe, work_corpus, seeds, seconds=N | runs=N)  -> FuzzResult
    coverage(name, corpus_dirs, out) -> line/branch coverage of the firmware sources
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import TinyEcgError
from ..firmware import ROOT

FUZZ_DIR = ROOT / "tests" / "fuzz"
CORPUS_DIR = FUZZ_DIR / "corpus"
FW = ROOT / "firmware"
SRC = FW / "src"
ECGDSP = FW / "lib" / "ecgdsp"
TINYNN = FW / "lib" / "tinynn"
MODEL = FW / "model"

#: The largest input a target is given: a few maximum-size frames.
MAX_LEN = 4200
#: A single input running longer than this is reported as a hang (libFuzzer -timeout).
HANG_SECONDS = 25

# The source lists are globbed when a target is built, not at import: a long run
# (tools/fuzz.py: 30 min per target, then coverage) must build against the tree as
# it is then -- a kernel file added meanwhile once left the coverage build with
# an undefined symbol.
def _ecgdsp() -> list[Path]:
    return sorted((ECGDSP / "src").glob("*.c"))


def _device() -> list[Path]:
    return [SRC / "protocol.c", SRC / "commands.c", SRC / "cmd_model.c", SRC / "stream.c", *_ecgdsp()]


def plain() -> list[Path]:
    """Compiled -O2 without sanitizers or coverage feedback: the generated model and
    its kernels run on well-formed inputs only here (their own parity and
    sanitizer tests are in tests/engine); instrumenting them would make the
    stream target ~5x slower and steer the fuzzer into the kernels' loops."""
    return [*sorted(MODEL.glob("*.c")), *sorted((TINYNN / "src").glob("*.c"))]


#: target name -> the firmware sources linked with tests/fuzz/fuzz_<name>.c and the board shim
TARGETS = {
    "frame": lambda: [SRC / "protocol.c"],
    "commands": lambda: _device() + plain(),
    "stream": lambda: _device() + plain(),
    "delta8": _device,
    "ecgdsp": _ecgdsp,
}

CLANG = "clang"
CFLAGS = ["-std=c99", "-D_GNU_SOURCE", "-g", "-O1", "-Wall", "-Wextra", "-Werror",
          "-fno-omit-frame-pointer", "-DTNN_PORTABLE"]
SANITIZE = ["-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all"]
COVERAGE = ["-fsanitize=fuzzer", "-fprofile-instr-generate", "-fcoverage-mapping"]
# What the PlatformIO builder defines for a board (firmware/platform/builder/main.py).
DEFINES = ['-DTINYECG_BOARD="host"', '-DTINYECG_CPU="host"', "-DTINYECG_CLOCK_HZ=25000000",
           "-DTINYECG_COUNTER_IS_CYCLES=0", '-DTINYECG_BUILD_ID="0000000000000000"']
INCLUDES = [FUZZ_DIR, SRC, FW / "include", ECGDSP / "include", TINYNN / "include", MODEL]


def require_clang() -> str:
    for tool in (CLANG, "llvm-profdata", "llvm-cov"):
        if shutil.which(tool) is None:
            raise TinyEcgError(f"{tool} not found: run `make setup` (Debian packages clang, "
                               "libclang-rt-14-dev, llvm)")
    return CLANG


def sources(name: str) -> list[Path]:
    if name not in TARGETS:
        raise TinyEcgError(f"unknown fuzz target '{name}': choose one of {', '.join(TARGETS)}")
    return [FUZZ_DIR / f"fuzz_{name}.c", FUZZ_DIR / "board_host.c", *TARGETS[name]()]


def _commands(name: str, exe: Path, coverage: bool) -> list[list[str]]:
    """clang invocations: the plain objects (if any), then the instrumented link."""
    srcs = sources(name)
    defs = DEFINES + (["-DTINYECG_HAVE_MODEL=1"] if (MODEL / "model.c") in srcs else [])
    inc = [f"-I{d}" for d in INCLUDES]
    uninstrumented = plain()
    plain_srcs = [p for p in srcs if p in uninstrumented]
    obj = exe.with_name(exe.name + "_plain.o")
    cmds = []
    if plain_srcs:
        # one translation unit per source, into one relocatable object
        objs = [exe.with_name(f"{exe.name}_{p.stem}.o") for p in plain_srcs]
        cmds += [[require_clang(), *CFLAGS, "-O2", *defs, *inc, "-c", str(p), "-o", str(o)]
                 for p, o in zip(plain_srcs, objs)]
        cmds.append(["ld", "-r", *map(str, objs), "-o", str(obj)])
    link = [require_clang(), *CFLAGS, *(COVERAGE if coverage else SANITIZE), *defs, *inc,
            *(str(p) for p in srcs if p not in uninstrumented), *([str(obj)] if plain_srcs else []), "-o", str(exe)]
    return cmds + [link]


def build(name: str, out_dir: Path, coverage: bool = False) -> Path:
    """Compile a target (cached: rebuilt only when a source or flag changes)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    exe = out_dir / (f"fuzz_{name}" + ("_cov" if coverage else ""))
    cmds = _commands(name, exe, coverage)
    h = hashlib.sha256("\0".join("\0".join(c) for c in cmds).encode())
    headers = sorted(p for d in INCLUDES for p in Path(d).glob("*.h"))
    for p in sources(name) + headers:
        h.update(p.read_bytes())
    stamp = exe.with_name(exe.name + ".sha256")
    if exe.exists() and stamp.exists() and stamp.read_text() == h.hexdigest():
        return exe
    for cmd in cmds:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise TinyEcgError(f"building fuzz target {name} failed:\n{proc.stderr[-4000:]}")
    stamp.write_text(h.hexdigest())
    return exe


@dataclass
class FuzzResult:
    name: str
    returncode: int
    executions: int = 0
    edges: int = 0          # libFuzzer "cov": coverage counters (edges) hit
    features: int = 0       # libFuzzer "ft"
    corpus: int = 0
    new_units: int = 0
    seconds: int = 0
    artifacts: list = field(default_factory=list)
    log_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.artifacts


_DONE = re.compile(r"#(\d+)\s+DONE\s+cov: (\d+) ft: (\d+) corp: (\d+)")
_STAT = re.compile(r"stat::(\w+):\s+(\d+)")


def _parse(name: str, proc: subprocess.CompletedProcess, artifacts: list[Path]) -> FuzzResult:
    log = proc.stderr
    res = FuzzResult(name, proc.returncode, artifacts=[str(a) for a in artifacts],
                     log_tail="\n".join(log.splitlines()[-40:]))
    stats = dict((k, int(v)) for k, v in _STAT.findall(log))
    res.executions = stats.get("number_of_executed_units", 0)
    res.new_units = stats.get("new_units_added", 0)
    res.seconds = stats.get("average_exec_per_sec", 0) and round(res.executions / stats["average_exec_per_sec"])
    m = _DONE.findall(log)
    if m:
        _, cov, ft, corp = m[-1]
        res.edges, res.features, res.corpus = int(cov), int(ft), int(corp)
    return res


def _flags(artifact_dir: Path) -> list[str]:
    return [f"-max_len={MAX_LEN}", f"-timeout={HANG_SECONDS}", "-rss_limit_mb=2048", "-print_final_stats=1",
            f"-artifact_prefix={artifact_dir}/"]


def fuzz(exe: Path, work_corpus: Path, seeds: Path | None = None, seconds: int | None = None,
         runs: int | None = None, seed: int = 0, artifact_dir: Path | None = None, nice: int = 0) -> FuzzResult:
    """Run a target for `seconds` or `runs` executions (both: whichever comes first), growing `work_corpus`
    (seeded from `seeds`). A crash, leak, hang or out-of-memory leaves its
    input in `artifact_dir` and makes the result not ok."""
    name = Path(exe).name.removeprefix("fuzz_")
    work_corpus = Path(work_corpus)
    work_corpus.mkdir(parents=True, exist_ok=True)
    artifact_dir = Path(artifact_dir or work_corpus.parent / f"{name}_artifacts")
    artifact_dir.mkdir(parents=True, exist_ok=True)
    before = set(artifact_dir.iterdir())
    limit = ([f"-max_total_time={seconds}"] if seconds is not None else []) + ([f"-runs={runs}"] if runs else [])
    cmd = [str(exe), *_flags(artifact_dir), *limit, f"-seed={seed}", str(work_corpus)]
    if seeds is not None and Path(seeds).is_dir():
        cmd.append(str(seeds))
    if nice:
        cmd = ["nice", "-n", str(nice), *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    new = sorted(set(artifact_dir.iterdir()) - before)
    return _parse(name, proc, new)


def replay(exe: Path, corpus: Path) -> FuzzResult:
    """Run every input of a corpus directory once (regression inputs included)."""
    name = Path(exe).name.removeprefix("fuzz_")
    files = sorted(p for p in Path(corpus).iterdir() if p.is_file())
    if not files:
        raise TinyEcgError(f"fuzz corpus {corpus} is empty")
    art = Path(exe).parent / f"{name}_replay_artifacts"
    art.mkdir(exist_ok=True)
    proc = subprocess.run([str(exe), *_flags(art), *map(str, files)], capture_output=True, text=True,
                          errors="replace")
    res = _parse(name, proc, [])
    res.executions = len(re.findall(r"^Executed ", proc.stderr, re.M)) if proc.returncode == 0 else res.executions
    return res


#: What each target's coverage figure is about: whole files, or file:function.
FOCUS: dict[str, list[str]] = {
    "frame": ["protocol.c"],
    "commands": ["commands.c", "cmd_model.c"],
    "stream": ["stream.c"],
    "delta8": ["stream.c:stream_delta8_decode"],
    "ecgdsp": ["ecg_preprocess.c", "ecg_qrs.c"],
}


def _cover_row(cells: list[str]) -> dict:
    # Regions Miss Cover Functions Miss Executed | Lines Miss Cover Branches Miss Cover (last six)
    lines, lmiss, _, br, bmiss, _ = cells[-6:]
    return {"lines": int(lines), "lines_hit": int(lines) - int(lmiss),
            "branches": int(br), "branches_hit": int(br) - int(bmiss)}


def coverage(name: str, corpus_dirs: list[Path], out_dir: Path) -> dict[str, dict]:
    """Line and branch coverage of the target's firmware code (FOCUS) when it
    runs the given corpora once (clang source-based coverage, llvm-cov)."""
    out_dir = Path(out_dir)
    exe = build(name, out_dir, coverage=True)
    files = [p for d in corpus_dirs if Path(d).is_dir() for p in sorted(Path(d).iterdir()) if p.is_file()]
    profiles = []
    for i in range(0, len(files), 500):  # in batches: a command line has a length limit
        prof = out_dir / f"{name}.{i}.profraw"
        subprocess.run([str(exe), *map(str, files[i:i + 500])], capture_output=True,
                       env={"LLVM_PROFILE_FILE": str(prof), "PATH": "/usr/bin:/bin"})
        profiles.append(prof)
    data = out_dir / f"{name}.profdata"
    subprocess.run(["llvm-profdata", "merge", "-sparse", *map(str, profiles), "-o", str(data)], check=True)
    for prof in profiles:
        prof.unlink(missing_ok=True)
    by_name = {p.name: p for p in TARGETS[name]()}
    out = {}
    for spec in FOCUS[name]:
        fname, _, func = spec.partition(":")
        cmd = ["llvm-cov", "report", str(exe), f"-instr-profile={data}", str(by_name[fname])]
        rep = subprocess.run(cmd + (["-show-functions"] if func else []), capture_output=True, text=True,
                             check=True).stdout
        for line in rep.splitlines():
            cells = line.split()
            if cells and cells[0] == (func or "TOTAL") or (not func and cells and cells[0].endswith(fname)):
                out[spec] = _cover_row(cells)
                break
    return out
