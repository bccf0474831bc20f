"""EC57 rhythm scoring in tinyecg.ec57: heart-rate error, runs by length, AF episodes.

Expected values are worked out by hand from small constructed cases."""

from __future__ import annotations

import numpy as np
import pytest

from tinyecg import ec57

FS = 360.0


def test_label_runs_finds_couplets_and_runs_only():
    labels = list("NVVNVNSSSNVVVVVVVN")
    t = np.arange(len(labels)) * 100
    assert ec57.label_runs(t, labels, "V") == [(100, 200, 2), (1000, 1600, 7)]
    assert ec57.label_runs(t, labels, "S") == [(600, 800, 3)]
    assert ec57.label_runs(t, labels, "F") == []


def test_run_statistics_by_length_class():
    start = int(300 * FS)
    ref = [(start + 0, start + 100, 2), (start + 1000, start + 1300, 4), (start + 5000, start + 6000, 8),
           (start + 9000, start + 9100, 2), (10, 20, 2)]                   # the last is in the learning period
    test = [(start + 1050, start + 1200, 3),                               # finds the short run
            (start + 5500, start + 5600, 2),                               # finds the long run, is a couplet
            (start + 20000, start + 20100, 2)]                             # a false couplet
    s = ec57.run_statistics(ref, test, FS)
    assert (s["couplet"]["reference"], s["couplet"]["reference_found"], s["couplet"]["se"]) == (2, 0, 0.0)
    assert (s["couplet"]["detected"], s["couplet"]["detected_true"], s["couplet"]["ppv"]) == (2, 1, 50.0)
    assert (s["short"]["se"], s["short"]["ppv"]) == (100.0, 100.0)
    assert (s["long"]["se"], s["long"]["ppv"]) == (100.0, None)             # no long device run: undefined


def test_run_overlap_tolerance_is_150_ms():
    start = int(300 * FS)
    ref = [(start + 1000, start + 1100, 2)]
    near = [(start + 1100 + 54, start + 1200, 2)]                          # 150 ms = 54 samples after its end
    far = [(start + 1100 + 55, start + 1200, 2)]
    assert ec57.run_statistics(ref, near, FS)["couplet"]["se"] == 100.0
    assert ec57.run_statistics(ref, far, FS)["couplet"]["se"] == 0.0


def test_rhythm_episodes_from_aux_notes():
    samples = [0, 100, 200, 300, 400, 500, 600]
    notes = ["(N\x00", "(AFIB\x00", "(AFIB", "(AFL", "(AFIB", "", "(N"]    # "" is a beat's empty note
    assert ec57.rhythm_episodes(samples, notes, 1000) == [(100, 300), (400, 600)]
    assert ec57.rhythm_episodes([0, 50], ["(AFIB", "(N"], 80, "(N") == [(50, 80)]


def test_episode_statistics():
    s0 = int(300 * FS)
    ref = [(s0, s0 + 3600), (s0 + 10000, s0 + 10360), (0, 100)]           # 10 s and 1 s episodes; one before 5 min
    test = [(s0 + 1800, s0 + 5400), (s0 + 20000, s0 + 20360)]             # half of the first; one false
    s = ec57.episode_statistics(ref, test, FS)
    assert (s["reference_episodes"], s["reference_episodes_found"], s["episode_se"]) == (2, 1, 50.0)
    assert (s["detected_episodes"], s["detected_episodes_true"], s["episode_ppv"]) == (2, 1, 50.0)
    assert s["overlap_seconds"] == 5.0 and s["reference_seconds"] == 11.0 and s["detected_seconds"] == 11.0
    assert s["duration_se"] == round(100 * 1800 / 3960, 2) and s["duration_ppv"] == round(100 * 1800 / 3960, 2)
    none = ec57.episode_statistics([], [], FS)
    assert none["episode_se"] is None and none["duration_ppv"] is None


def test_reference_heart_rate_and_error():
    beats = np.arange(0, 700 * 360, 360)                                   # 60 bpm for 700 s
    assert np.allclose(ec57.reference_heart_rate(beats, [3600, 360 * 400], FS), 60.0)
    assert np.isnan(ec57.reference_heart_rate(beats, [360 * 3], FS)[0])   # fewer than 8 RR yet
    at = np.arange(360 * 310, 360 * 690, 3600)
    e = ec57.heart_rate_error(beats, at, np.full(at.size, 61.5), FS)
    assert e["measurements"] == at.size
    assert e["mean_abs_error_bpm"] == pytest.approx(1.5) and e["max_abs_error_bpm"] == pytest.approx(1.5)
    early = ec57.heart_rate_error(beats, [360 * 10], [60.0], FS)          # before the learning period ends
    assert early["measurements"] == 0 and early["mean_abs_error_bpm"] is None


def test_rhythm_gross_sums_counts():
    one = {"runs": {k: {n: {"reference": 2, "detected": 1, "reference_found": 1, "detected_true": 1}
                        for n in ec57.RUN_LENGTHS} for k in ("veb", "sveb")},
           "af": {"reference_episodes": 2, "detected_episodes": 1, "reference_episodes_found": 1,
                  "detected_episodes_true": 1, "reference_seconds": 100.0, "detected_seconds": 50.0,
                  "overlap_seconds": 40.0},
           "hr": {"measurements": 10, "mean_abs_error_bpm": 1.0}}
    two = {**one, "hr": {"measurements": 30, "mean_abs_error_bpm": 3.0}}
    g = ec57.rhythm_gross([one, two])
    assert g["runs"]["veb"]["couplet"]["se"] == 50.0 and g["runs"]["veb"]["couplet"]["ppv"] == 100.0
    assert g["af"]["duration_se"] == 40.0 and g["af"]["duration_ppv"] == 80.0 and g["af"]["episode_se"] == 50.0
    assert g["hr"]["mean_abs_error_bpm"] == 2.5 and g["hr"]["worst_record_mean_abs_error_bpm"] == 3.0
