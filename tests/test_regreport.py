"""The performance and traceability report (tools/report.py, tinyecg.regreport).

One quick report is built per session: three MIT-BIH DS2 records, streamed as
excerpts of their first 6 minutes through the QEMU board (the report says
so on its page), every env built, the model profiled on the device.  The
tests check it against independent sources: tools/stream.py run again on the
same records, a strict HTML5 parser, Debian's headless Chromium, hand-made
JUnit XML, and model files changed by one byte.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tinyecg.errors import TinyEcgError
from tinyecg.regreport import compare, equivalence, identify, soup, streams, trace
from tinyecg.regreport.evidence import Evidence

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
RECORDS = ("100", "200", "232")       # N only / many V / many S (and long pauses)
EXCERPT_S = 360                       # the learning period (300 s) + one scored minute
#: The nine sections the issue asks for, as a reader looks for them.
HEADINGS = ("Identification", "Intended use and limitations", "SOUP", "Data", "EC57 results", "Equivalence",
            "Resources", "Verification traceability", "Change from a previous report")


def _run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=1800, **kw)


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """tools/report.py on three record excerpts, with the JUnit XML of a small real test run."""
    tmp = tmp_path_factory.mktemp("report")
    junit = tmp / "junit" / "tests.xml"
    p = _run([PY, "-m", "pytest", "tests/test_data.py", "-q", "-k", "aami or split", f"--junitxml={junit}",
              "-p", "no:cacheprovider"])
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    out = tmp / "out"
    p = _run([PY, "tools/report.py", "--records", ",".join(RECORDS), "--excerpt", str(EXCERPT_S), "--out", str(out),
              "--junit", str(junit), "--no-progress"])
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "wrote" in p.stdout and "index.html" in p.stdout
    rep = json.loads((out / "report.json").read_text())
    return {"out": out, "rep": rep, "html": (out / "index.html").read_text(encoding="utf-8"), "junit": junit}


# ------------------------------------------------------------ figures are the tools'
def _cell_value(text: str):
    t = text.strip().replace(",", "")
    if t in ("\u2013", ""):
        return None
    t = re.sub(r"\s*\(\d+\)$", "", t)
    return float(t)


def _html_tables(html_text: str):
    import html5lib
    doc = html5lib.parse(html_text, namespaceHTMLElements=False)
    return doc, doc.findall(".//table")


def _text(el) -> str:
    return "".join(el.itertext())


def test_record_table_is_the_stream_tool_json(quick, tmp_path):
    """tools/stream.py, run again on the same (excerpt) records, writes the report's rows figure for figure."""
    out, rep = quick["out"], quick["rep"]

    def stream(rec):
        js = tmp_path / f"{rec}.json"
        p = _run([PY, "tools/stream.py", "--record", str(out / "excerpts" / rec), "--json", str(js),
                  "--no-build", "--no-progress"])
        assert p.returncode == 0, p.stderr[-2000:]
        return json.loads(js.read_text())

    with ThreadPoolExecutor(2) as pool:
        again = dict(zip(RECORDS, pool.map(stream, RECORDS)))
    rows = {r["record"]: r for r in rep["ec57"]["records"]}
    assert sorted(rows) == sorted(RECORDS)
    for rec in RECORDS:
        assert streams.comparable(rows[rec]) == streams.comparable(again[rec]), rec
        # counter units include UART interrupts arriving during a beat: equal to a fraction of a percent
        a, b = rows[rec]["device_instructions_per_beat"], again[rec]["device_instructions_per_beat"]
        assert abs(a - b) <= 0.005 * b, (rec, a, b)

    # the HTML table shows those figures (Se/+P of QRS, VEB, SVEB; counts), one row per record
    _, tables = _html_tables(quick["html"])
    ec = next(t for t in tables if t.get("class") == "ec57")
    head = [_text(th) for th in ec.findall("./thead/tr/th")]
    body = {(_text(tr[0])): [_text(td) for td in tr] for tr in ec.findall("./tbody/tr")}
    col = {h: i for i, h in enumerate(head)}
    for rec in RECORDS:
        js, cells = again[rec], body[rec]
        assert _cell_value(cells[col["reference beats"]]) == js["beats_reference"]
        assert _cell_value(cells[col["events"]]) == js["events_received"]
        assert _cell_value(cells[col["mismatches"]]) == js["host_device_mismatches"] == 0
        assert _cell_value(cells[col["lost"]]) == js["lost_events"] == 0
        for g, name in (("qrs", "QRS"), ("veb", "VEB"), ("sveb", "SVEB")):
            for k, label in (("se", "Se"), ("ppv", "+P")):
                assert _cell_value(cells[col[f"{name} {label}"]]) == js[g][k], (rec, g, k)
    assert "gross" in body and any(k.startswith("average") for k in body)


def test_excerpts_are_stated_and_hashed(quick):
    rep = quick["rep"]
    assert rep["invocation"]["excerpt_seconds"] == EXCERPT_S
    assert f"first {EXCERPT_S} s" in quick["html"]
    files = {f["path"]: f["sha256"] for f in rep["evidence"]["files"]}
    for rec in RECORDS:
        assert any(p.endswith(f"excerpts/{rec}.dat") for p in files), rec


def test_every_streamed_figure_is_backed_by_a_listed_file(quick):
    rep = quick["rep"]
    files = {Path(f["path"]).name: f for f in rep["evidence"]["files"]}
    for rec in RECORDS:
        js = quick["out"] / "streams" / f"{rec}.json"
        assert files[js.name]["sha256"] == identify_sha(js)
    runs = [r["what"] for r in rep["evidence"]["runs"]]
    assert sum(r.startswith("stream record") for r in runs) == len(RECORDS)
    assert any(r.startswith("bench the model") for r in runs)


def identify_sha(path: Path) -> str:
    import hashlib
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------ refusals
def test_refuses_a_stream_with_a_mismatch_or_a_lost_event(quick):
    reports = quick["rep"]["ec57"]["records"]
    streams.refuse_disagreement(reports)              # the real ones pass
    for key in ("host_device_mismatches", "lost_events"):
        bad = json.loads(json.dumps(reports))
        bad[1][key] = 1
        with pytest.raises(TinyEcgError) as e:
            streams.ec57_section(Evidence(), bad, {}, quick["out"])
        msg = str(e.value)
        assert "\n" not in msg and f"record {bad[1]['record']}" in msg and "refusing" in msg


def test_changed_model_changes_hashes_and_ids(tmp_path):
    src = ROOT / "models" / "arrhythmia"
    a = identify.model_identity(Evidence(), src / "model_int8.tflite", src / "model.keras")
    for name in ("model_int8.tflite", "model.keras"):
        shutil.copy(src / name, tmp_path / name)
    for name in ("model_int8.tflite", "model.keras"):
        blob = bytearray((tmp_path / name).read_bytes())
        blob[len(blob) // 2] ^= 0x01
        (tmp_path / name).write_bytes(bytes(blob))
    b = identify.model_identity(Evidence(), tmp_path / "model_int8.tflite", tmp_path / "model.keras",
                                fw_model_dir=tmp_path / "no-firmware-model")
    assert a["tflite"]["sha256"] != b["tflite"]["sha256"]
    assert a["tflite"]["model_id"] != b["tflite"]["model_id"]
    assert a["keras"]["sha256"] != b["keras"]["sha256"]
    assert a["firmware_model_id"] == a["tflite"]["model_id"]


def test_report_refuses_a_firmware_of_another_model(tmp_path):
    """One line, exit 2, and a page left from an earlier run is gone (never a stale clean-looking report)."""
    model = tmp_path / "model_int8.tflite"
    blob = bytearray((ROOT / "models" / "arrhythmia" / "model_int8.tflite").read_bytes())
    blob[-100] ^= 0x01
    model.write_bytes(bytes(blob))
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("<p>an old report</p>")
    p = _run([PY, "tools/report.py", "--model", str(model), "--out", str(out), "--no-progress", "--records", "100"])
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: firmware/model was generated from model")
    assert identify_sha(model)[:16] in lines[0]
    assert not (out / "index.html").exists()


def test_bad_options_are_one_line(tmp_path):
    for args, needle in ((["--records", "102"], "paced"), (["--excerpt", "60"], "learning period"),
                         (["--previous", str(tmp_path / "nope.json")], "no such file"),
                         (["--env", "nucleo_l432kc"], "give --port")):
        p = _run([PY, "tools/report.py", "--out", str(tmp_path / "o"), "--no-progress", *args])
        assert p.returncode == 2, (args, p.stderr)
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], (args, lines)


# ------------------------------------------------------------------- the page
def test_html_is_valid_and_self_contained(quick):
    import html5lib
    html_text = quick["html"]
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    doc = parser.parse(html_text)                  # raises on any parse error
    assert not parser.errors
    for el in doc.iter():
        for attr in ("src", "href"):
            v = el.get(attr)
            if v is not None:
                assert v.startswith("data:image/png;base64,") or v.startswith("#"), (el.tag, v[:80])
    assert len(doc.findall(".//img")) >= 3           # per-record chart, strips, per-layer chart
    ids = {el.get("id") for el in doc.iter() if el.get("id")}
    for el in doc.findall(".//a"):
        assert el.get("href")[1:] in ids


def _chromium(args: list[str]) -> subprocess.CompletedProcess:
    exe = shutil.which("chromium")
    if exe is None:
        pytest.fail("chromium not installed: run `make setup` (apt package chromium)")
    with tempfile.TemporaryDirectory(prefix="tinyecg-chromium-") as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def test_chromium_renders_every_section(quick):
    page = (quick["out"] / "index.html").resolve().as_uri()
    dom = _chromium(["--dump-dom", page])
    assert dom.returncode == 0, dom.stderr[-2000:]
    import html5lib
    doc = html5lib.parse(dom.stdout, namespaceHTMLElements=False)
    h2 = [_text(h) for h in doc.findall(".//h2")]
    for heading in HEADINGS:
        assert any(heading in h for h in h2), (heading, h2)
    shot = quick["out"] / "screenshot.png"
    p = _chromium(["--window-size=1400,2400", f"--screenshot={shot}", page])
    assert p.returncode == 0 and shot.is_file(), p.stderr[-2000:]
    import matplotlib.image
    img = matplotlib.image.imread(str(shot))[..., :3]
    assert img.shape[0] == 2400 and img.shape[1] == 1400
    not_white = (img < 0.9).any(axis=2).mean()
    colours = len(np.unique((img.reshape(-1, 3) * 255).astype(np.uint8), axis=0))
    assert not_white > 0.02 and colours > 16, (not_white, colours)
    print(f"\nscreenshot: {shot}")


# --------------------------------------------------------------- traceability
def test_every_test_named_here_exists():
    index = trace.test_index()
    doc = trace.parse_verification(trace.VERIFICATION_DOC.read_text(), index)
    assert len(doc["groups"]) >= 5
    for g in doc["groups"]:
        for row in g["rows"]:
            assert row["tests"], f"{g['title']}: '{row['claim'][:60]}' names no test"
            for t in row["tests"]:
                assert t["exists"], f"{g['title']}: {t['id']} ({t.get('problem')})"
    assert "Not verified here" in doc["sections"] and "Known anomalies" in doc["sections"]


JUNIT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="1"
skipped="1" tests="4" time="12.5" timestamp="2026-12-01T10:00:00"><properties>
<property name="git_commit" value="deadbeef"/><property name="env" value="mps2_an386"/></properties>
<testcase classname="tests.test_data" name="test_aami_mapping_is_ec57" time="0.1"/>
<testcase classname="tests.test_data" name="test_split_is_de_chazal" time="0.1"/>
<testcase classname="tests.hil.test_stream" name="test_full_ds2_record_streams_beat_for_beat[123]" time="9">
<failure message="assert 3 == 0">trace</failure></testcase>
<testcase classname="tests.hil.test_stream" name="test_full_ds2_record_streams_beat_for_beat[117]" time="9"/>
<testcase classname="tests.test_evaluate" name="test_evaluate_cli_one_line_error" time="0"><skipped message="no data"/>
</testcase>
<testcase classname="tests.engine.test_ops" name="test_operator_parity[conv-a]" time="1"><properties>
<property name="vectors" value="152"/><property name="target" value="host x86-64 (gcc)"/>
<property name="kernels" value="dsp, portable"/></properties></testcase>
<testcase classname="tests.engine.test_ops" name="test_operator_parity[fc-b]" time="1"><properties>
<property name="vectors" value="40"/><property name="target" value="host x86-64 (gcc)"/>
<property name="kernels" value="portable"/></properties></testcase>
<testcase classname="tests.hil.test_infer" name="test_infer_bench_model[mps2_an385-ecg_s]" time="1"><properties>
<property name="vectors" value="66"/><property name="target" value="mps2_an385 (cortex-m3, instructions)"/>
</properties></testcase>
</testsuite></testsuites>"""


def test_traceability_reads_junit_outcomes(tmp_path):
    (tmp_path / "t.xml").write_text(JUNIT)
    ev = Evidence()
    run = trace.read_junit(ev, tmp_path / "t.xml")
    t = trace.traceability(ev, [run], commit="cafe")
    ids = {x["id"]: x for g in t["groups"] for r in g["rows"] for x in r["tests"]}
    # two of the file's tests passed, the others have no result: not "passed"
    assert ids["tests/test_data.py"]["verdict"] == "partly run"
    assert ids["tests/test_data.py"]["counts"] == {"passed": 2}
    assert "test_missing_and_corrupt_record" in ids["tests/test_data.py"]["not_run"]
    assert ids["tests/test_data.py::test_missing_and_corrupt_record"]["verdict"] == "not run"
    stream_id = "tests/hil/test_stream.py::test_full_ds2_record_streams_beat_for_beat"
    assert ids[stream_id]["verdict"] == "FAILED" and ids[stream_id]["counts"] == {"failure": 1, "passed": 1}
    assert ids["tests/test_evaluate.py::test_evaluate_cli_one_line_error"]["verdict"] == "skipped"
    assert ids["tests/test_protocol.py"]["verdict"] == "not run"
    assert t["results_from_other_commit"] == ["t.xml"]
    assert {p["outcome"] for p in t["not_passed_in_last_run"]} == {"failure", "skipped"}
    assert ids["tests/engine/test_ops.py"]["verdict"] == "passed"   # its one test function ran (twice)
    assert ev.files and all(len(f["sha256"]) == 64 for f in ev.files.values())


def test_equivalence_lists_parity_tests_with_their_vectors_and_targets(tmp_path):
    (tmp_path / "t.xml").write_text(JUNIT)
    run = trace.read_junit(Evidence(), tmp_path / "t.xml")
    rows = {r["test"]: r for r in equivalence.suite_parity([run])}
    ops = rows["tests/engine/test_ops.py::test_operator_parity"]
    assert (ops["cases"], ops["outcomes"], ops["vectors"]) == (2, {"passed": 2}, 192)
    assert ops["targets"] == ["host x86-64 (gcc)"] and ops["kernels"] == ["dsp", "portable"]
    infer = rows["tests/hil/test_infer.py::test_infer_bench_model"]
    assert infer["targets"] == ["mps2_an385 (cortex-m3, instructions)"] and infer["vectors"] == 66
    stream = rows["tests/hil/test_stream.py::test_full_ds2_record_streams_beat_for_beat"]
    assert stream["outcomes"] == {"failure": 1, "passed": 1}
    assert "tests/test_data.py::test_aami_mapping_is_ec57" not in rows


def test_quick_report_traces_its_junit_run(quick):
    t = quick["rep"]["traceability"]
    assert [j["file"] for j in t["junit"]] == ["tests.xml"]
    assert t["junit"][0]["properties"]["git_commit"] == quick["rep"]["identification"]["git"]["commit"]
    rows = {x["id"]: x["verdict"] for g in t["groups"] for r in g["rows"] for x in r["tests"]}
    assert rows["tests/test_data.py"] == "partly run"              # the run above (-k: two of its tests)
    assert rows["tests/hil/test_protocol_hil.py"] == "not run"     # not in that run: not assumed to pass


# ------------------------------------------------------------------ SOUP, delta
def test_soup_covers_every_dependency(quick):
    import importlib.metadata as md
    s = quick["rep"]["soup"]
    installed = {soup.norm(d.metadata["Name"]) for d in md.distributions()}
    assert {soup.norm(d["name"]) for d in s["python"]} == installed
    direct = soup.direct_dependencies((ROOT / "pyproject.toml").read_text())
    purposes = __import__("tomllib").loads((ROOT / "docs" / "soup.toml").read_text())
    for d in s["python"]:
        if soup.norm(d["name"]) in direct:
            assert d["relation"].startswith("direct") and d["purpose"] == purposes["python"][soup.norm(d["name"])]["purpose"]
    apt = soup.apt_packages((ROOT / "tools" / "setup.sh").read_text())
    assert "chromium" in apt and [d["name"] for d in s["debian"]] == apt
    assert all(d["purpose"] and d["version"] != "not installed" for d in s["debian"])
    assert s["device"], "the image links no C library member?"
    flash = next(e["flash_bytes"] for e in quick["rep"]["resources"]["envs"]
                 if e["env"] == quick["rep"]["identification"]["board"]["env"])
    assert 0 < sum(d["bytes_in_image"] for d in s["device"]) < flash
    for d in s["device"]:
        assert d["purpose"] and d["members"] and Path(d["archive"]).is_file(), d


def test_change_section_deltas():
    prev = {"headline": {"ec57.gross.qrs.se": 99.5, "identification.git.commit": "a", "gone": 1}}
    now = {"ec57.gross.qrs.se": 99.75, "identification.git.commit": "b", "new": 2}
    rows = {r["figure"]: r["change"] for r in compare.deltas(prev, now)}
    assert rows == {"ec57.gross.qrs.se": 0.25, "identification.git.commit": "changed", "new": "new",
                    "gone": "removed"}


def test_previous_report_deltas(quick, tmp_path):
    """--previous: compared with itself nothing changed; with one figure moved, exactly that one."""
    rep = quick["rep"]
    assert rep["headline"]["ec57.gross.qrs.se"] == rep["ec57"]["gross"]["qrs"]["se"]
    assert rep["headline"]["identification.model.tflite.model_id"] == rep["identification"]["model"]["tflite"]["model_id"]
    same = compare.change_section(Evidence(), quick["out"] / "report.json", rep["headline"])
    assert same["changed"] == 0 and len(same["rows"]) == len(rep["headline"])
    old = json.loads((quick["out"] / "report.json").read_text())
    old["headline"]["ec57.gross.veb.se"] = (old["headline"]["ec57.gross.veb.se"] or 0) - 1.5
    (tmp_path / "old.json").write_text(json.dumps(old))
    moved = compare.change_section(Evidence(), tmp_path / "old.json", rep["headline"])
    changed = [r for r in moved["rows"] if r["change"] not in (0, "same")]
    assert [(r["figure"], r["change"]) for r in changed] == [("ec57.gross.veb.se", 1.5)]
