"""report.json -> index.html: one self-contained page, a section per part of
the report, every figure from the JSON (plots embedded as PNG).

Sections render what the JSON holds: keys a later version adds to a stream
report (a ``rhythm`` section, say) or to the report's own sections appear as
generic tables without a change here.
"""

from __future__ import annotations

from pathlib import Path

from .. import ec57
from . import plots
from .html import DASH, Raw, auto_table, esc, fmt, kv_table, markdown, page, png, render_any, table, verdict

#: (anchor, heading) of every section, in order.
SECTIONS = (
    ("identification", "1. Identification"),
    ("intended-use", "2. Intended use and limitations"),
    ("soup", "3. SOUP (software of unknown provenance)"),
    ("data", "4. Data"),
    ("ec57", "5. EC57 results through the device"),
    ("equivalence", "6. Equivalence: device vs host"),
    ("resources", "7. Resources"),
    ("traceability", "8. Verification traceability"),
    ("change", "9. Change from a previous report"),
    ("evidence", "Evidence: files read and runs made"),
)
#: Stream report keys the EC57 section lays out itself; any other key gets a generic table.
KNOWN_STREAM_KEYS = {"record", "fs", "samples_sent", "beats_reference", "beats_detected", "events_received",
                     "lost_events", "uncertain", "qrs", "veb", "sveb", "classes", "host_device_mismatches",
                     "device_instructions_per_beat", "seconds", "scoring", "device", "power", "annotations",
                     "mismatch_examples"}
STAT_COLUMNS = [(g, k) for g, k in ec57.AVERAGED]
STAT_LABEL = {"qrs": "QRS", "veb": "VEB", "sveb": "SVEB", "se": "Se", "ppv": "+P", "fpr": "FPR"}


def _section(anchor: str, body: str) -> str:
    title = dict(SECTIONS)[anchor]
    return f'<section id="{anchor}"><h2>{esc(title)}</h2>{body}</section>'


def _note(text, cls: str = "note") -> str:
    return f'<div class="{cls}">{text if isinstance(text, Raw) else esc(text)}</div>'


def _hash(h) -> Raw:
    return Raw(f'<span class="hash">{esc(h)}</span>') if h else Raw(DASH)


# ------------------------------------------------------------ 1 identification
def identification(rep: dict) -> str:
    i = rep["identification"]
    g, fw, m, b = i["git"], i["firmware"], i["model"], i["board"]
    dirty = g.get("dirty")
    rows = [
        ("tinyecg version", i["tinyecg_version"]),
        ("git commit", _hash(g.get("commit") or g.get("note"))),
        ("branch, commit date", f"{g.get('branch')}, {g.get('commit_date')}" if g.get("commit") else DASH),
        ("working tree", Raw('<span class="v bad">dirty</span> ' + esc(
            f"{len(g['changed_files'])} changed, {len(g['untracked_files'])} untracked file(s)"))
         if dirty else Raw('<span class="v ok">clean</span>') if dirty is False else DASH),
        ("env / board", f"{b['env']} / {b['board_name']}"),
        ("runs on", b["runs_on"]),
        ("CPU, clock, counter", f"{b['cpu']}, {b['clock_hz'] / 1e6:g} MHz, counts {b['counter']}"),
        ("firmware build id (device INFO)", _hash(fw.get("build_id"))),
        ("firmware", fw.get("firmware")),
        *[(f"SHA-256 of {name}", _hash(h)) for name, h in fw.get("image_sha256", {}).items()],
        ("model id (device)", _hash(fw.get("model_id"))),
        ("model id (.tflite)", _hash(m["tflite"]["model_id"])),
        (f"SHA-256 of {m['tflite']['path']}", _hash(m["tflite"]["sha256"])),
        (f"SHA-256 of {m['keras'].get('path') or '.keras'}", _hash(m["keras"].get("sha256") or m["keras"].get("note"))),
        ("report generated (UTC)", rep["generated"]),
        ("report invocation", Raw(f"<code>{esc(rep['invocation']['command'])}</code>")),
        ("report build time", f"{rep['invocation']['seconds']:.0f} s"),
    ]
    out = kv_table(rows)
    if dirty:
        files = g["changed_files"] + [f"{f} (untracked)" for f in g["untracked_files"]]
        out += (f"<details><summary>{len(files)} file(s) differ from commit {esc((g['commit'] or '')[:12])}"
                f"</summary><p>{esc(', '.join(files[:200]))}</p></details>")
    if rep["invocation"].get("excerpt_seconds"):
        out += _note(Raw(f"<b>Quick report:</b> records were streamed as excerpts of their first "
                         f"{rep['invocation']['excerpt_seconds']:g} s (the excerpt files and their SHA-256 are in "
                         "the evidence list). Its figures are not the full-record EC57 figures."), "alert")
    out += "<h3>Toolchain and runtime versions</h3>" + table(
        ["component", "version", "how it was read"],
        [[k, v["version"], v["source"]] for k, v in i["versions"].items()])
    return _section("identification", out)


# ------------------------------------------------------------- 2 intended use
def intended_use(rep: dict) -> str:
    iu = rep["intended_use"]
    return _section("intended-use", _note(Raw(f"Quoted from <code>{esc(iu['source'])}</code> (SHA-256 "
                                              f"<span class='hash'>{esc(iu['sha256'])}</span>).")) +
                    markdown(iu["text"]))


# ---------------------------------------------------------------------- 3 SOUP
def soup(rep: dict) -> str:
    s = rep["soup"]
    out = [_note(Raw("Generated from " + "; ".join(f"<b>{esc(k)}</b>: {esc(v)}" for k, v in s["sources"].items())))]
    out.append("<h3>On the device (from the firmware's link map)</h3>")
    if s["device"]:
        out.append(table(["component", "version", "supplier", "purpose", "bytes in the image", "members linked"],
                         [[d["name"], d["version"], d["supplier"], d["purpose"], d["bytes_in_image"],
                           ", ".join(f"{m['member']} ({m['bytes']} B)" for m in d["members"])] for d in s["device"]]))
    else:
        out.append("<p>No third-party object is linked into the image.</p>")
    out.append("<h3>On the host: Debian packages</h3>")
    out.append(table(["package", "version", "supplier", "purpose", "where"],
                     [[d["name"], d["version"], d["supplier"], d["purpose"], d["where"]] for d in s["debian"]]))
    out.append(f"<h3>On the host: Python distributions ({len(s['python'])})</h3>")
    out.append(table(["distribution", "version", "supplier", "licence", "dependency", "purpose"],
                     [[d["name"], d["version"], d["supplier"], d["licence"], d["relation"], d["purpose"]]
                      for d in s["python"]]))
    return _section("soup", "".join(out))


# ---------------------------------------------------------------------- 4 data
def data(rep: dict) -> str:
    d = rep["data"]
    out = [kv_table({k.replace("_", " "): v for k, v in d["database"].items()})]
    pc = d["physionet_checksums"]
    out.append(_note(f"{pc['files_matching']} record files read match PhysioNet's {pc['file']} "
                     f"({pc['files_differing']} differ, {pc['files_not_listed']} not listed); every file's "
                     "SHA-256 is in the evidence list." if pc.get("file") else pc["note"]))
    out.append("<h3>Record lists</h3>" + table(["use", "records"], [[k, v] for k, v in d["splits"].items()]))
    ms = d["model_split"]
    if "train_records" in ms:
        ok = ms["consistent_with_tinyecg_data"]
        out.append(_note(Raw(f"The shipped model's <code>metrics.json</code> records training on {fmt(ms['train_records'])}, "
                             f"validation on {fmt(ms['val_records'])} and test on {fmt(ms['test_records'])}: "
                             + ("the same DS1/DS2 split." if ok else "<b>NOT the split above.</b>")),
                         "note" if ok else "alert"))
    out.append("<h3>Excluded records</h3>" + table(["record", "why"], [[e["record"], e["reason"]] for e in d["excluded"]]))
    out.append("<h3>AAMI class mapping (EC57)</h3>" + table(
        ["MIT-BIH symbol", "meaning", "AAMI class", "scored as"],
        [[m["symbol"], m["description"], m["aami_class"], m["scored_as"]] for m in d["aami_mapping"]]))
    bpc = d["beats_per_class"]
    classes = ["N", "S", "V", "F", "Q"]
    out.append("<h3>Reference beats per class and split</h3>" + table(
        ["split"] + classes + ["total"],
        [[s] + [v["total"][c] for c in classes] + [sum(v["total"].values())] for s, v in bpc.items()]))
    for s, v in bpc.items():
        out.append(f"<details><summary>{esc(s)}: beats per record</summary>" + table(
            ["record"] + classes, [[r] + [c[k] for k in classes] for r, c in v["per_record"].items()]) + "</details>")
    st = d["streamed_in_this_report"]
    out.append(_note(f"Streamed through the device in this report: {fmt(st['records'])}" +
                     (f" (first {st['excerpt_seconds']:g} s of each)" if st["excerpt_seconds"] else " (whole records)")))
    return _section("data", "".join(out))


# ---------------------------------------------------------------------- 5 EC57
def _stat(g: str, k: str) -> str:
    return f"{STAT_LABEL[g]} {STAT_LABEL[k]}"


def ec57_records_table(e: dict) -> str:
    heads = ["record", "reference beats", "events", "lost", "mismatches", "uncertain (whole stream)"] + \
        [_stat(g, k) for g, k in STAT_COLUMNS]
    rows, classes = [], []
    for r in e["records"]:
        rows.append([r["record"], r["beats_reference"], r["events_received"], r["lost_events"],
                     r["host_device_mismatches"], r["uncertain"]] + [r.get(g, {}).get(k) for g, k in STAT_COLUMNS])
        classes.append("")
    g, a = e["gross"], e["average"]
    tot = lambda key: sum(r[key] or 0 for r in e["records"])  # noqa: E731
    rows.append(["gross", tot("beats_reference"), tot("events_received"), tot("lost_events"),
                 tot("host_device_mismatches"), tot("uncertain")] + [g[x][k] for x, k in STAT_COLUMNS])
    rows.append(["average (records with the statistic defined)", "", "", "", "", ""] +
                [Raw(f"{fmt(a[x][k])} <small>({a[x][k + '_records']})</small>") for x, k in STAT_COLUMNS])
    return table(heads, rows, row_classes=classes + ["total", "avg"], cls="ec57")


def class_table(e: dict) -> str:
    heads = ["record"] + [f"{c} {s}" for c in ec57.CLASSES for s in ("Se", "+P")]
    rows = [[r["record"]] + [r["classes"][c][s] for c in ec57.CLASSES for s in ("se", "ppv")] for r in e["records"]]
    rows.append(["gross"] + [e["gross"]["classes"][c][s] for c in ec57.CLASSES for s in ("se", "ppv")])
    return table(heads, rows, row_classes=[""] * len(e["records"]) + ["total"])


def matrix_table(m, labels, caption: str) -> str:
    rows = []
    for i, lab in enumerate(labels):
        rows.append([Raw(f"<b>{esc(lab)}</b>")] + [m[i][j] if not (lab == "O" and labels[j] == "O") else None
                                                   for j in range(len(labels))])
    return table(["reference \\ device"] + list(labels), rows, cls="matrix", caption=caption)


def _extra_stream_sections(e: dict) -> str:
    """Keys of the stream reports this page has no layout for (e.g. a rhythm section): one generic table each."""
    extra = []
    for r in e["records"]:
        for k in r:
            if k not in KNOWN_STREAM_KEYS and k not in extra:
                extra.append(k)
    out = []
    for k in extra:
        rows = [{"record": r["record"], **(r[k] if isinstance(r.get(k), dict) else {k: r.get(k)})}
                for r in e["records"] if k in r]
        out.append(f"<h3>{esc(k.replace('_', ' ').capitalize())} (from the stream reports)</h3>"
                   + auto_table(rows, first="record"))
    return "".join(out)


def ec57_section(rep: dict, images: dict) -> str:
    e = rep["ec57"]
    c = e["conventions"]
    out = [_note(Raw(
        f"{esc(e['standard'])}. Every record below was streamed through the device in this invocation "
        f"({esc(rep['identification']['board']['runs_on'])}) by <code>tools/stream.py</code>; its JSON is the "
        f"table row. <b>Learning period:</b> beats in the first {c['learning_period_s'] / 60:g} minutes "
        f"({c['learning_period_s']:g} s) of each record are not scored. <b>Match window:</b> a device beat "
        f"within {c['match_window_ms']} ms of a reference beat is the same beat (one to one). Statistics in %; "
        f"{DASH} = undefined (no beats of that kind)."))]
    out.append("<h3>EC57 exceptions applied</h3><ul>" + "".join(f"<li>{esc(x)}</li>" for x in e["exceptions"]) + "</ul>")
    out.append("<h3>Record by record, gross and average</h3>" + ec57_records_table(e))
    if "per_record" in images:
        out.append(png(images["per_record"], "per-record QRS, VEB and SVEB sensitivity and positive predictivity"))
    out.append("<h3>Per class (N, S, V, F; plain confusion-matrix figures, no EC57 exception)</h3>" + class_table(e))
    g = e["gross"]
    out.append("<h3>Confusion matrices (gross, scored beats)</h3>" + _note(
        "Rows: reference (AAMI); columns: the device. O = no beat: the O column counts missed reference beats, "
        "the O row false detections."))
    out.append(matrix_table(g["matrix"], e["matrix_labels"], "gross, from the end of the learning period"))
    out.append(matrix_table(e["gross_whole_record"]["matrix"], e["matrix_labels"], "gross, whole records"))
    out.append(kv_table({"macro-F1 (N, S, V, F)": g.get("macro_f1"), "accuracy (N, S, V, F beats)": g.get("accuracy"),
                         "beats scored (N, S, V, F)": g.get("n_beats"),
                         "QRS: reference beats, missed, false": f"{g['qrs']['tp'] + g['qrs']['fn']:,}, "
                         f"{g['qrs']['fn']:,}, {g['qrs']['fp']:,}"}))
    out.append("<details><summary>Per-record comparison matrices</summary>" + "".join(
        matrix_table(r["scoring"]["matrix"], e["matrix_labels"], f"record {r['record']}")
        for r in e["records"] if r.get("scoring")) + "</details>")
    u = e["uncertain"]
    t = u["total"]
    out.append("<h3>The uncertain flag</h3>" + _note(
        f"{u['definition']}. Coverage = beats not flagged. Of {t['beats']:,} beats the device flagged {t['flagged']:,} "
        f"({fmt(t['flagged_pct'])} %); the error rate is {fmt(t['error_rate_flagged_pct'])} % among flagged and "
        f"{fmt(t['error_rate_unflagged_pct'])} % among unflagged beats; {fmt(t['errors_flagged_pct'])} % of the "
        "errors are flagged."))
    out.append(auto_table(u["records"] + [{"record": "total", **t}], first="record"))
    out.append("<h3>The worst records</h3>" + _note(
        "Ranked by disagreements in the scored part (missed and false beats, misclassified N/S/V/F beats); each "
        "strip shows the 10 seconds with the most of them: reference labels above the trace, the device's "
        "classes below (hollow with '?' = flagged uncertain)."))
    for w in e["worst"]:
        out.append(f"<h4>Record {esc(w['record'])}: {w['errors_scored']:,} disagreements; strip "
                   f"{w['strip_start_s']:g}-{w['strip_start_s'] + w['strip_seconds']:g} s holds {w['errors_in_strip']}</h4>")
        if w["strip_png"] in images:
            out.append(png(images[w["strip_png"]], f"ECG strip of record {w['record']}"))
    out.append(_extra_stream_sections(e))
    return _section("ec57", "".join(out))


# --------------------------------------------------------------- 6 equivalence
def equivalence(rep: dict) -> str:
    q = rep["equivalence"]
    dv = q["device_vs_host"]
    t = dv["total"]
    out = [_note(Raw(f"<b>{t['mismatches']:,} mismatching beats and {t['lost_events']:,} lost events</b> over "
                     f"{t['beats_compared']:,} beats compared on the device "
                     f"({esc(rep['identification']['board']['runs_on'])}). Compared: {esc(dv['compared'])}."),
                 "note")]
    out.append(auto_table(dv["records"] + [{"record": "total", **t}], first="record"))
    if q.get("infer"):
        i = q["infer"]
        out.append("<h3>INFER parity of the model on the device (this invocation)</h3>" + kv_table(
            {"model": f"{i['model']} ({i['model_id']})", "env": i["env"], "vectors": f"{i['vectors']} ({i['vector_source']})",
             "outputs differing from tflite_micro": i["mismatches"]}))
    out.append("<h3>Engine parity in the test suite (last test run)</h3>")
    if q["suite"]:
        out.append(table(["test", "compares", "run", "cases", "outcome", "vectors or beats judged", "targets",
                          "kernels"],
                         [[Raw(f"<code>{esc(r['test'])}</code>"), r["compares"], r["run"], r["cases"],
                           Raw(" ".join(f"{verdict(_VERDICT.get(k, k))} {n}" for k, n in r["outcomes"].items())),
                           r["vectors"] or None, ", ".join(r["targets"]) or None, ", ".join(r["kernels"]) or None]
                          for r in q["suite"]]))
    elif rep["traceability"]["junit"]:
        out.append(_note("The test run(s) read (section 8) hold no parity test: the suite's parity results are not "
                         "part of this report.", "alert"))
    else:
        out.append(_note("No JUnit XML of a test run was found: the suite's parity results are not part of this "
                         "report (run `make test`).", "alert"))
    return _section("equivalence", "".join(out))


# ----------------------------------------------------------------- 7 resources
def resources(rep: dict, images: dict) -> str:
    r = rep["resources"]
    out = ["<h3>Image size per env (built in this invocation)</h3>", table(
        ["env", "board", "CPU", "flash used (B)", "flash of the MCU (B)", "RAM used (B)", "stack reserve (B)",
         "RAM of the MCU (B)", "SHA-256 of firmware.bin"],
        [[e["env"], e["board"], e["cpu"], e["flash_bytes"], e["flash_max"], e["ram_bytes"], e["stack_reserve_bytes"],
          e["ram_max"], _hash(e["image_sha256"])] for e in r["envs"]])]
    m = r.get("model")
    if m:
        unit = m["counter"]
        out.append("<h3>The model on the device</h3>" + kv_table({
            "env": m["env"], f"{unit} per inference": f"{m['instructions_per_inference']:,.0f} (min "
            f"{m['instructions_min']:,}, max {m['instructions_max']:,}; profiling build)",
            "MACs": m["macs"], f"{unit} per MAC": m["instructions_per_mac"],
            "arena (B)": f"{m['arena_bytes']:,} (tflite_micro on x86-64: {m['tflm_arena_bytes']:,})",
            "stack peak (B, measured by stack painting during INFER)": m["stack_peak_bytes"],
            "model constants in flash (B)": m["model_flash_bytes"], "engine code (B)": m["engine_code_bytes"]}))
        if m.get("profile"):
            out.append(auto_table(m["profile"], first="layer"))
            if "per_layer" in images:
                out.append(png(images["per_layer"], "instructions per layer"))
    else:
        out.append(_note(r.get("model_note", "per-layer figures not measured"), "alert"))
    s = r["streams"]
    cp = s["current_profile"]
    out.append(f"<h3>Per beat and per sample, duty cycle and battery (streams of section 5, {esc(s['counter'])})</h3>")
    out.append(_note(f"Current profile assumed: {cp['run_ma']} mA running at {cp['clock_hz'] / 1e6:g} MHz, "
                     f"{cp['sleep_ua']:g} uA asleep, {cp['battery_mah']:g} mAh battery. {cp['note']}. "
                     f"The {s['note']}."))
    out.append(kv_table({f"{s['counter']} per beat (mean over beats)": s["per_beat_mean_over_beats"],
                         f"{s['counter']} per beat (max)": s["per_beat_max"],
                         "duty cycle % (min / mean / max)": f"{s['duty_cycle_pct']['min']} / "
                         f"{s['duty_cycle_pct']['mean']} / {s['duty_cycle_pct']['max']}",
                         "battery hours (min / mean / max)": f"{s['battery_hours']['min']} / "
                         f"{s['battery_hours']['mean']} / {s['battery_hours']['max']}",
                         "meets the 24 h wearable target on every record": s["meets_24h_all_records"]}))
    out.append(auto_table(s["records"], first="record"))
    return _section("resources", "".join(out))


# -------------------------------------------------------------- 8 traceability
def traceability(rep: dict) -> str:
    t = rep["traceability"]
    out = []
    if t["junit"]:
        out.append("<h3>Test runs read</h3>" + table(
            ["JUnit file", "run at", "commit", "env", "tests", "failures", "errors", "skipped", "seconds"],
            [[j["file"], j["timestamp"], _hash((j["properties"].get("git_commit") or "")[:12] or None),
              j["properties"].get("env"), j["summary"]["tests"], j["summary"]["failures"], j["summary"]["errors"],
              j["summary"]["skipped"], j["summary"]["seconds"]] for j in t["junit"]]))
    for msg in t["junit_missing"]:
        out.append(_note(msg, "alert"))
    if t["results_from_other_commit"]:
        out.append(_note(f"The test results in {', '.join(t['results_from_other_commit'])} are of another commit "
                         "than this report's: they do not verify this revision.", "alert"))
    if t["results_of_unknown_commit"]:
        out.append(_note(f"{', '.join(t['results_of_unknown_commit'])} do not record the commit they tested.", "alert"))
    out.append(_note("Each guarantee of docs/verification.md, the test ids that hold it, and their result in the "
                     "test run(s) above: passed = every matching test case passed; partly run = some of the file's "
                     "tests have no result; not run = no result recorded."))
    for g in t["groups"]:
        rows = []
        for row in g["rows"]:
            tests = Raw("<br>".join(
                f"<code>{esc(x['id'])}</code> {verdict(x['verdict'])} <small>{esc(_counts(x.get('counts', {})))}"
                + (f"; not run: {esc(', '.join(x['not_run']))}" if x.get("not_run") else "") + "</small>"
                for x in row["tests"]) or DASH)
            rows.append([markdown(row["claim"], 0), tests, verdict(row["verdict"]), markdown(row["evidence"], 0)
                         if row["evidence"] else None])
        out.append(f"<h3>{markdown(g['title'], 0).replace('<p>', '').replace('</p>', '')}</h3>"
                   + table(["guarantee", "tests", "verdict", "evidence"], rows))
    for title, text in t["sections"].items():
        out.append(f"<h3>{esc(title)}</h3>" + markdown(text, 2))
    if t["not_passed_in_last_run"]:
        out.append("<h3>Test cases not passed in the last run</h3>" + table(
            ["test", "outcome", "run", "message"],
            [[Raw(f"<code>{esc(p['test'])}</code>"), p["outcome"], p["run"], p["message"]]
             for p in t["not_passed_in_last_run"]]))
    return _section("traceability", "".join(out))


_VERDICT = {"passed": "passed", "failure": "FAILED", "error": "FAILED"}


def _counts(c: dict) -> str:
    return ", ".join(f"{v} {k}" for k, v in c.items())


# -------------------------------------------------------------------- 9 change
def change(rep: dict) -> str:
    c = rep["change"]
    if not c.get("previous"):
        return _section("change", _note(c["note"]))
    p = c["previous"]
    out = [_note(Raw(f"Compared with <code>{esc(p['file'])}</code> (SHA-256 <span class='hash'>{esc(p['sha256'])}"
                     f"</span>), generated {esc(p['generated'])} at commit {esc((p['commit'] or '')[:12])}: "
                     f"{c['changed']} of {len(c['rows'])} headline figures changed."))]
    rows = [[r["figure"], r["previous"], r["current"],
             Raw(f"<b>{fmt(r['change'])}</b>") if r["change"] not in (0, "same") else r["change"]] for r in c["rows"]]
    out.append(table(["figure", "previous", "current", "change"], rows))
    return _section("change", "".join(out))


# ------------------------------------------------------------------- evidence
def evidence(rep: dict) -> str:
    ev = rep["evidence"]
    out = [_note("Every number in this report comes from a run listed here (this invocation) or from a file listed "
                 "here with its SHA-256.")]
    out.append("<h3>Runs made by this invocation</h3>" + table(
        ["what", "seconds", "status", "command"],
        [[r["what"], r.get("seconds"), r["status"], Raw(f"<code>{esc(r['command'] or '')}</code>")] for r in ev["runs"]]))
    out.append(f"<h3>Files read ({len(ev['files'])})</h3>" + table(
        ["file", "SHA-256", "bytes", "why"],
        [[Raw(f"<code>{esc(f['path'])}</code>"), _hash(f["sha256"]), f["bytes"], f["role"]] for f in ev["files"]]))
    return _section("evidence", "".join(out))


def other_sections(rep: dict) -> str:
    """Top-level parts of report.json that no section above lays out (added by later tools)."""
    known = {"schema", "title", "generated", "invocation", "identification", "intended_use", "soup", "data", "ec57",
             "equivalence", "resources", "traceability", "change", "evidence", "headline"}
    return "".join(f'<section id="extra-{esc(k)}"><h2>{esc(k.replace("_", " ").capitalize())}</h2>'
                   f"{render_any(v)}</section>" for k, v in rep.items() if k not in known)


# ------------------------------------------------------------------------ page
def render(rep: dict, images: dict) -> str:
    i = rep["identification"]
    header = (f"<h1>{esc(rep['title'])}</h1>"
              f"<p>model {esc(i['model']['tflite']['model_id'])} on {esc(i['board']['board_name'])}, "
              f"{esc(i['board']['runs_on'])}; firmware build {esc(i['firmware'].get('build_id'))}; commit "
              f"{esc((i['git'].get('commit') or 'unknown')[:12])}{' (dirty)' if i['git'].get('dirty') else ''}</p>"
              f"<p>generated {esc(rep['generated'])} in {rep['invocation']['seconds']:.0f} s</p>")
    body = "".join([identification(rep), intended_use(rep), soup(rep), data(rep), ec57_section(rep, images),
                    equivalence(rep), resources(rep, images), traceability(rep), change(rep), other_sections(rep),
                    evidence(rep)])
    return page(rep["title"], header, list(SECTIONS), body)


def images_for(rep: dict, out_dir: Path) -> dict:
    """The pictures the page embeds: strips drawn in this invocation, charts drawn from the JSON."""
    imgs = {"per_record": plots.per_record_statistics(rep["ec57"]["records"])}
    for w in rep["ec57"]["worst"]:
        p = out_dir / w["strip_png"]
        if p.is_file():
            imgs[w["strip_png"]] = p.read_bytes()
    m = rep["resources"].get("model")
    if m and m.get("profile"):
        imgs["per_layer"] = plots.per_layer(m["profile"], m["counter"])
    return imgs
