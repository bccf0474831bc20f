"""The device's parsers under libFuzzer, AddressSanitizer and UBSan (tests/fuzz,
docs/hardening.md): every target builds with clang, replays its corpus -- the
seeds and every input that once found a bug -- without a finding, then fuzzes
a fixed number of executions from it (a seeded, count-bounded run; the long
runs are `make fuzz FUZZ_SECONDS=N`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tinyecg.fuzz import libfuzzer as L

# Executions per target in make test: a few seconds each on one core.
RUNS = {"frame": 30_000, "commands": 10_000, "stream": 600, "delta8": 100_000, "ecgdsp": 400}


@pytest.fixture(scope="module")
def fuzzers(tmp_path_factory):
    out = tmp_path_factory.mktemp("fuzz")
    with ThreadPoolExecutor(max_workers=2) as pool:
        exes = dict(zip(L.TARGETS, pool.map(lambda t: L.build(t, out), L.TARGETS)))
    return out, exes


def test_every_target_has_a_test_budget_and_a_corpus():
    assert set(RUNS) == set(L.TARGETS) == set(L.FOCUS)
    for t in L.TARGETS:
        seeds = list((L.CORPUS_DIR / t).glob("seed-*"))
        assert seeds, f"tests/fuzz/corpus/{t} has no seeds (tests/fuzz/make_seeds.py)"


@pytest.mark.parametrize("target", list(L.TARGETS))
def test_corpus_replays_clean_then_fuzz(fuzzers, target):
    out, exes = fuzzers
    corpus = L.CORPUS_DIR / target
    rep = L.replay(exes[target], corpus)
    assert rep.ok, f"{target}: an input of {corpus} fails:\n{rep.log_tail}"
    assert rep.executions == len([p for p in corpus.iterdir() if p.is_file()])
    res = L.fuzz(exes[target], out / "corpus" / target, corpus, runs=RUNS[target], seed=1,
                 artifact_dir=out / f"{target}_artifacts")
    assert res.ok, (f"{target}: finding after {res.executions} executions, input {res.artifacts}; fix the firmware "
                    f"and keep the input as {corpus}/regress-<what>\n{res.log_tail}")
    assert res.executions >= RUNS[target] and res.edges > 0


def test_regression_inputs_are_documented():
    """Each input that once found a bug is kept, and docs/hardening.md says what it found."""
    doc = (L.ROOT / "docs" / "hardening.md").read_text()
    regress = sorted(p.relative_to(L.ROOT).as_posix() for p in L.CORPUS_DIR.glob("*/regress-*"))
    assert regress, "no regression inputs: the frame reader's fix keeps one"
    assert [r for r in regress if r not in doc] == []
