"""The report, end to end: identify, build, stream, score, measure, trace, render.

Order matters for the reviewer's trust: everything that can refuse (a
firmware generated from another model, a board running another build, a
stream with a host/device mismatch or a lost event) refuses before a page
is written, and a previous page in the output directory is removed first,
so that a refused run never leaves a clean-looking report behind.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import data as D
from .. import firmware, qemu
from ..device import Device
from ..errors import TinyEcgError
from . import compare, dataset, equivalence, identify, render, resources, soup, streams, trace
from .evidence import Evidence

ROOT = firmware.ROOT
TITLE = "tinyecg: performance and traceability report"
INTENDED_USE = ROOT / "docs" / "intended_use.md"
METRICS = ROOT / "models" / "arrhythmia" / "metrics.json"


@dataclass
class Options:
    out: Path
    env: str = firmware.DEFAULT_ENV
    port: str | None = None
    baud: int = 115200
    records: str = "DS2"
    excerpt_seconds: float | None = None
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    model: Path = ROOT / "models" / "arrhythmia" / "model_int8.tflite"
    keras: Path | None = None
    previous: Path | None = None
    junit: list[Path] | None = None
    envs: list[str] | None = None
    data_dir: str | None = None
    progress: bool = True
    argv: list[str] = field(default_factory=list)


def _say(opts: Options, msg: str) -> None:
    if opts.progress:
        print(f"report: {msg}", file=sys.stderr, flush=True)


def device_info(env: str, port: str | None, baud: int, elf: Path | None) -> dict:
    """What the device says about itself (INFO): the board that will run the streams."""
    if port:
        with Device(port, baud=baud) as dev:
            dev.sync()
            return dev.info()
    board = qemu.boot(env, elf)
    try:
        dev = board.start()
        dev.sync()
        return dev.info()
    finally:
        board.close()


def build_report(opts: Options) -> dict:
    t0 = time.monotonic()
    out = Path(opts.out)
    out.mkdir(parents=True, exist_ok=True)
    for stale in ("index.html", "report.json"):
        (out / stale).unlink(missing_ok=True)
    env, port = opts.env, opts.port
    firmware.board_of(env)
    if not port:
        firmware.qemu_machine(env)            # a real board env without --port: one line
    ddir = D.resolve_data_dir(opts.data_dir)
    ev = Evidence(ddir)
    records = [str(r) for r in D.parse_records(opts.records)]

    # 1. identification (refuses a firmware generated from another model)
    model = Path(opts.model)
    keras = Path(opts.keras) if opts.keras else model.with_name("model.keras")
    model_id = identify.model_identity(ev, model, keras)
    git = identify.git_state()

    # 2. the image, and what the device says it is
    elf = None
    with ev.run(f"build env {env}", ["pio", "run", "-e", env]):
        elf = firmware.build(env)
    image = identify.image_identity(ev, env, elf)
    _say(opts, f"asking the device who it is ({'port ' + port if port else 'QEMU ' + env})")
    with ev.run("device INFO", None):
        info = device_info(env, port, opts.baud, elf)
    if info.get("model") != model_id["tflite"]["model_id"]:
        raise TinyEcgError(f"the device runs model {info.get('model')}, not {model_id['tflite']['model_id']} "
                           f"({model.name}): build and flash the firmware from it")
    if port and info.get("build", "").encode() not in elf.read_bytes():
        raise TinyEcgError(f"the board runs firmware build {info.get('build')}, not the image built here for {env}: "
                           f"flash it (pio run -e {env} -t upload) so that the report identifies what ran")
    board = identify.board_identity(env, port, info)

    # 3. streams through the device, EC57 from tinyecg.ec57
    paths = {}
    if opts.excerpt_seconds:
        with ev.run(f"write {opts.excerpt_seconds:g} s excerpts of {len(records)} records", None):
            for r in records:
                p = streams.write_excerpt(r, ddir, out / "excerpts", opts.excerpt_seconds)
                for ext in ("hea", "dat", "atr"):
                    ev.note_file(p.with_suffix(f".{ext}"), f"excerpt of record {r} streamed in this invocation")
                paths[r] = p
    else:
        paths = {r: ddir / r for r in records}
    _say(opts, f"streaming {len(records)} records through the device, {1 if port else opts.jobs} at a time")
    reports = streams.run_streams(ev, [paths[r] for r in records], out / "streams", env, port, model, opts.jobs,
                                  ddir, opts.baud, progress=opts.progress)
    streams.check_device(reports, model_id["tflite"]["model_id"], info.get("board"))
    _say(opts, "scoring (tinyecg.ec57), per-beat views and ECG strips")
    ec = streams.ec57_section(ev, reports, {r: paths[r] for r in records}, out, ddir, progress=opts.progress)
    if not port and D._sha256(elf) != ev.sha256(elf):
        raise TinyEcgError(f"{elf} changed while the report ran: the streams ran another image than the one listed")

    # 4. resources: every env's image, the model's per-layer cost (QEMU)
    _say(opts, "building every env and profiling the model on the device")
    envs = opts.envs or list(firmware.envs())
    res = {"envs": resources.env_sizes(ev, envs, opts.progress), "streams": resources.stream_costs(reports)}
    bench_res = None
    if port:
        res["model_note"] = ("per-layer figures, arena and stack peak need a profiling image on the board "
                             "(tools/bench.py --port after flashing it); not measured in this report")
    else:
        bench_res = resources.model_bench(ev, model, env, out / "work" / f"bench-{env}")
        res["model"] = bench_res

    # 5. SOUP, data, traceability, equivalence
    _say(opts, "SOUP, data, traceability")
    soup_sec = soup.soup(ev, elf.with_name("firmware.map"))
    data_sec = dataset.dataset(ev, ddir, METRICS, records, opts.excerpt_seconds, opts.progress)
    junit_files = opts.junit if opts.junit is not None else trace.default_junit_files()
    runs = [trace.read_junit(ev, Path(p)) for p in junit_files if Path(p).is_file()]
    trace_sec = trace.traceability(ev, runs, git.get("commit"))
    eq = {"device_vs_host": equivalence.device_vs_host(reports), "infer": equivalence.infer_parity(bench_res),
          "suite": equivalence.suite_parity(runs)}
    intended = {"source": "docs/intended_use.md",
                "text": ev.read_text(INTENDED_USE, "intended use, limitations, IEC 62304 class (versioned text)")}
    intended["sha256"] = ev.sha256(INTENDED_USE)
    versions = identify.tool_versions()

    rep = {
        "schema": 1, "title": TITLE, "generated": identify.now_utc(),
        "invocation": {"command": shlex.join(["tools/report.py"] + list(opts.argv)), "records": records,
                       "excerpt_seconds": opts.excerpt_seconds, "jobs": 1 if port else opts.jobs},
        "identification": {"tinyecg_version": versions["tinyecg"]["version"], "git": git,
                           "board": board, "model": model_id, "versions": versions,
                           "firmware": {"build_id": info.get("build"), "firmware": info.get("firmware"),
                                        "model_id": info.get("model"), "image_sha256": image, "env": env}},
        "intended_use": intended, "soup": soup_sec, "data": data_sec, "ec57": ec, "equivalence": eq,
        "resources": res, "traceability": trace_sec,
    }
    rep["headline"] = compare.headline(rep)
    rep["change"] = compare.change_section(ev, opts.previous, rep["headline"])
    rep["invocation"]["seconds"] = round(time.monotonic() - t0, 1)
    rep["evidence"] = ev.to_json()

    images = render.images_for(rep, out)
    (out / "report.json").write_text(json.dumps(rep, indent=1) + "\n")
    (out / "index.html").write_text(render.render(rep, images), encoding="utf-8")
    return rep
