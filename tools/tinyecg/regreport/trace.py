"""Section 8, verification traceability: each guarantee of
``docs/verification.md`` -> the test ids that hold it -> their result in the
last test run (pytest's JUnit XML, written by ``make test``).

Test ids are read from the document's tables as written there
(``tests/x.py::test_name``, ``::test_other`` continuing the previous file, a
whole ``tests/x.py``, or a bare ``test_name`` found in the test tree).  An id
that names no test in the tree is reported as a broken reference, a test with
no result in the JUnit files as "not run": nothing is assumed to pass.
"""

from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

from .evidence import Evidence
from .identify import ROOT

VERIFICATION_DOC = ROOT / "docs" / "verification.md"
TESTS_DIR = ROOT / "tests"
JUNIT_DIR = ROOT / "build" / "test-results"


# ------------------------------------------------------------- the test tree
def test_index(tests_dir: Path = TESTS_DIR) -> dict[str, set]:
    """test file (repo-relative) -> the test function/class names it defines."""
    out: dict[str, set] = {}
    for path in sorted(tests_dir.rglob("test_*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        names = set()
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                names.add(node.name)
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                names.add(node.name)
                names |= {f"{node.name}::{f.name}" for f in node.body
                          if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.name.startswith("test")}
        out[str(path.relative_to(tests_dir.parent))] = names
    return out


def resolve_ids(cell: str, index: dict[str, set]) -> list[dict]:
    """The test ids a table cell names, each resolved against the test tree."""
    out, last_file = [], None
    for tok in re.findall(r"`([^`]+)`", cell):
        tok = tok.strip()
        if tok.startswith("tests/"):
            file, _, name = tok.partition("::")
            last_file = file
        elif tok.startswith("::") and last_file:
            file, name = last_file, tok[2:]
        elif re.fullmatch(r"test_\w+", tok):
            files = [f for f, names in index.items() if tok in names]
            file, name = (files[0] if len(files) == 1 else None), tok
            if len(files) > 1:
                out.append({"id": tok, "file": None, "name": tok, "exists": False,
                            "problem": f"ambiguous: defined in {', '.join(files)}"})
                continue
        else:
            continue                                  # a tool or document, not a test
        exists = file in index and (not name or name in index[file])
        out.append({"id": f"{file}::{name}" if name else file, "file": file, "name": name or None,
                    "exists": exists, **({} if exists else {"problem": "no such test in tests/"})})
    return out


# ---------------------------------------------------------------- the document
def parse_verification(text: str, index: dict[str, set]) -> dict:
    """Guarantee groups (## headings with tables) and the free-text sections."""
    groups, sections, title, body = [], {}, None, []

    def flush():
        if title is None:
            return
        rows = _table_rows(body)
        if rows:
            head = [h.lower() for h in rows[0]]
            ti = next((i for i, h in enumerate(head) if h.startswith("test")), None)
            items = []
            for cells in rows[1:]:
                claim = cells[0]
                tests = resolve_ids(cells[ti], index) if ti is not None and ti < len(cells) else []
                rest = [c for i, c in enumerate(cells) if i not in (0, ti)]
                items.append({"claim": claim, "tests": tests, "evidence": "; ".join(c for c in rest if c),
                              "test_cell": cells[ti] if ti is not None and ti < len(cells) else ""})
            groups.append({"title": title, "rows": items,
                           "note": "\n".join(l for l in body if not l.lstrip().startswith("|")).strip()})
        else:
            sections[title] = "\n".join(body).strip()

    for line in text.splitlines():
        m = re.match(r"^##\s+(.*)$", line)
        if m:
            flush()
            title, body = m.group(1).strip(), []
        elif title is not None:
            body.append(line)
    flush()
    return {"groups": groups, "sections": sections}


def _table_rows(lines: list[str]) -> list[list[str]]:
    rows = []
    for line in lines:
        s = line.strip()
        if not s.startswith("|"):
            continue
        cells = [c.strip() for c in s.strip("|").split("|")]
        if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
            continue
        rows.append(cells)
    return rows


# ------------------------------------------------------------------ JUnit XML
def read_junit(ev: Evidence, path: Path) -> dict:
    """One JUnit file: its suite(s) summary, properties and every test case's outcome."""
    try:
        root = ET.fromstring(ev.read_bytes(path, "pytest JUnit XML of the last test run"))
    except ET.ParseError as exc:
        return {"file": path.name, "error": f"unreadable JUnit XML ({exc})", "cases": []}
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    cases, props, summary = [], {}, Counter()
    timestamp = None
    for s in suites:
        timestamp = timestamp or s.get("timestamp")
        for k in ("tests", "failures", "errors", "skipped"):
            summary[k] += int(s.get(k, 0))
        summary["seconds"] += float(s.get("time", 0))
        for p in s.findall("properties/property"):
            props[p.get("name")] = p.get("value")
        for tc in s.iter("testcase"):
            outcome = "passed"
            for kind in ("failure", "error", "skipped"):
                el = tc.find(kind)
                if el is not None:
                    outcome = kind
                    message = (el.get("message") or "").splitlines()[0][:200] if el.get("message") else ""
                    break
            case_props = {p.get("name"): p.get("value") for p in tc.findall("properties/property")}
            cases.append({"classname": tc.get("classname", ""), "name": tc.get("name", ""), "outcome": outcome,
                          **({"message": message} if outcome != "passed" and message else {}),
                          **({"properties": case_props} if case_props else {})})
    return {"file": path.name, "timestamp": timestamp, "properties": props,
            "summary": {k: (round(v, 1) if k == "seconds" else int(v)) for k, v in summary.items()}, "cases": cases}


def _matches(case: dict, test: dict) -> bool:
    module = test["file"][:-3].replace("/", ".")
    parts = (test["name"] or "").split("::") if test["name"] else []
    cls, fn = (parts[:-1], parts[-1]) if parts else ([], None)
    if cls and fn and not fn.startswith("test"):
        cls, fn = parts, None                          # Class alone
    want_class = ".".join([module] + cls)
    if fn is None:
        return case["classname"] == want_class or case["classname"].startswith(want_class + ".")
    return case["classname"] == want_class and case["name"].split("[", 1)[0] == fn


def result_of(test: dict, runs: list[dict], index: dict[str, set]) -> dict:
    """Outcome counts of one test id in each run, and an overall verdict.  A whole
    file whose test functions did not all run is "partly run", not "passed"."""
    per_run, total, ran = {}, Counter(), set()
    for run in runs:
        cases = [case for case in run["cases"] if _matches(case, test)]
        c = Counter(case["outcome"] for case in cases)
        ran |= {case["name"].split("[", 1)[0] for case in cases}
        if c:
            per_run[run["file"]] = dict(c)
            total.update(c)
    defined = {n for n in index.get(test["file"], set()) if "::" not in n and n.startswith("test")}
    missing = sorted(defined - ran) if test["exists"] and not test["name"] else []
    if not test["exists"]:
        verdict = "broken reference"
    elif not total:
        verdict = "not run"
    elif total["failure"] or total["error"]:
        verdict = "FAILED"
    elif missing:
        verdict = "partly run"
    elif total["passed"]:
        verdict = "passed"
    else:
        verdict = "skipped"
    out = {"verdict": verdict, "counts": dict(total), "per_run": per_run}
    if missing:
        out["not_run"] = missing
    return out


def traceability(ev: Evidence, runs: list[dict], commit: str | None) -> dict:
    """`runs`: :func:`read_junit` of each JUnit file of the last test run."""
    index = test_index()
    doc = parse_verification(ev.read_text(VERIFICATION_DOC, "guarantees and the tests that hold them"), index)
    verdicts = Counter()
    for g in doc["groups"]:
        for row in g["rows"]:
            for t in row["tests"]:
                t.update(result_of(t, runs, index))
                verdicts[t["verdict"]] += 1
            vs = {t["verdict"] for t in row["tests"]}
            row["verdict"] = ("no test named" if not row["tests"] else
                              next((v for v in ("FAILED", "broken reference", "not run", "partly run", "skipped")
                                    if v in vs), "passed"))
    problems = [{"test": f"{c['classname']}::{c['name']}", "outcome": c["outcome"], "run": r["file"],
                 "message": c.get("message", "")}
                for r in runs for c in r["cases"] if c["outcome"] in ("failure", "error", "skipped")]
    stale = sorted({r["file"] for r in runs if commit and r["properties"].get("git_commit") not in (None, commit)})
    unknown_rev = sorted({r["file"] for r in runs if "git_commit" not in r["properties"]})
    return {
        "document": "docs/verification.md",
        "junit": [{k: v for k, v in r.items() if k != "cases"} for r in runs],
        "junit_missing": [] if runs else ["no JUnit XML found (run `make test`, which writes build/test-results/)"],
        "results_from_other_commit": stale, "results_of_unknown_commit": unknown_rev,
        "groups": doc["groups"], "sections": doc["sections"], "test_id_verdicts": dict(verdicts),
        "not_passed_in_last_run": problems,
    }


def default_junit_files() -> list[Path]:
    return sorted(JUNIT_DIR.glob("*.xml")) if JUNIT_DIR.is_dir() else []
