"""ANSI/AAMI EC57 scoring: the one home for comparing beat annotations with a reference.

Training metrics, ``tools/evaluate.py``, ``tools/stream.py`` and the report all
score beats here, with the conventions of the WFDB ``bxb`` comparator that
EC57 practice is built on:

* **Matching.** A test beat matches a reference beat within 150 ms, one to
  one, with bxb's pairing rule (the earlier of the two current annotations is
  paired with the other if it is inside the window and a better match than
  the next annotation on the other side). :func:`match`.
* **Learning period.** Only reference beats from 5 minutes into the record
  on are scored; a test beat just before that instant counts only if it
  matches a scored reference beat.
* **Labels.** Reference and test beats carry AAMI labels N, S, V, F, Q; an
  unmatched beat pairs with the pseudo-label O. The result is a 6x6 matrix
  ``m[reference][test]`` over ``N S V F Q O`` (``m[O][O]`` is unused).
* **EC57 statistics** (:func:`beat_statistics`), as bxb computes them:

  - QRS: every matched reference beat of any label is a true positive;
    Se = TP / (TP + missed), +P = TP / (TP + false detections).
  - VEB: Se = Vv / row V; +P = Vv / (Vv + Nv + Sv + Ov) -- **reference F and
    Q beats called V are not VEB false positives** (the EC57 fusion
    exception); FPR = VEB false positives / (those + every non-V pair).
  - SVEB: Se = Ss / row S; +P = Ss / (Ss + Ns + Vs + Fs + Os) -- reference Q
    beats called S are not SVEB false positives.
  - A statistic whose denominator is 0 is undefined: ``None`` here, "-" in
    tables (bxb prints "-"), never 0 or 100.

* **Per-class statistics** (``classes``: N, S, V, F) are the plain
  confusion-matrix figures the machine-learning literature reports (no
  exception: a reference F called V is a V false positive), with F1,
  macro-F1 and accuracy over the scored classes. Reference Q beats are not
  scored there (no class of ours names them).
* **Gross and average.** :func:`gross` sums the matrices of many records
  and computes the statistics once (beat-weighted); :func:`average` is the
  mean of each record's defined statistic (record-weighted). EC57 asks for
  both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import data as D

#: The match window: a test beat within 150 ms of a reference beat is the same beat.
MATCH_SECONDS = 0.150
#: bxb's default start of the comparison: 5 minutes into the record (learning period).
LEARNING_SECONDS = 300.0

#: Row/column labels of the comparison matrix: the AAMI classes, then O (no annotation).
LABELS = ("N", "S", "V", "F", "Q", "O")
N, S, V, F, Q, O = range(6)
#: The classes a classifier reports (model output order); Q and O are not classes.
CLASSES = D.CLASSES

#: The EC57 (bxb) exceptions :func:`beat_statistics` and :func:`compare` apply, named for reports.
EXCEPTIONS = (
    "VEB +P and FPR: reference F (fusion) and Q (unclassifiable) beats the device calls V are not VEB "
    "false positives (EC57's fusion exception).",
    "SVEB +P: reference Q beats the device calls S are not SVEB false positives.",
    f"Learning period: reference beats in the first {LEARNING_SECONDS:g} s of a record are not scored; a "
    "device beat just before that instant counts only when it matches a scored reference beat.",
    "QRS: a matched reference beat of any label, Q included, is a true positive whatever the device called it.",
    "A statistic whose denominator is 0 is undefined (shown as a dash), never 0 or 100 %.",
)


def _pct(a: int, b: int) -> float | None:
    return round(100.0 * a / b, 2) if b > 0 else None


def aami_labels(symbols) -> np.ndarray:
    """MIT/WFDB beat symbols -> AAMI label indices (N S V F Q; unknown beats are Q)."""
    return np.array([LABELS.index(D.AAMI.get(str(s), "Q")) for s in symbols], dtype=np.int64)


def _label_indices(labels) -> np.ndarray:
    """Labels given as letters (N, S, V, F, Q) or as indices into LABELS."""
    a = np.asarray(list(labels) if isinstance(labels, str) else labels)
    if a.dtype.kind in "iu":
        out = a.astype(np.int64)
    else:
        out = np.array([LABELS.index(str(x)) for x in a], dtype=np.int64)
    if out.size and (out.min() < 0 or out.max() > Q):
        raise ValueError("beat labels must be N, S, V, F or Q (indices 0-4)")
    return out


# ----------------------------------------------------------------- matching
def match(ref_t, test_t, window: int) -> np.ndarray:
    """For each reference beat, the index of its matched test beat or -1.

    `ref_t` and `test_t` are sorted sample numbers; `window` is the match
    window in samples (inclusive). The earlier of the current reference and
    test annotation is paired with the other when the distance is within the
    window and either closer than the next annotation on the other side, or
    that next annotation is itself closer to its own counterpart (bxb's rule,
    which only matters above ~200 bpm).
    """
    ref_t = [int(x) for x in ref_t]
    test_t = [int(x) for x in test_t]
    far = 1 << 62                        # a time beyond every annotation
    nr, nt = len(ref_t), len(test_t)
    out = np.full(nr, -1, dtype=np.int64)
    i = k = 0
    while i < nr and k < nt:
        T, Tn = ref_t[i], (ref_t[i + 1] if i + 1 < nr else far)
        t, tn = test_t[k], (test_t[k + 1] if k + 1 < nt else far)
        if t < T:
            if T - t <= window and (T - t < abs(T - tn) or abs(Tn - tn) < abs(T - tn)):
                out[i] = k
                i += 1
            k += 1                       # paired, or a test beat with no reference (O)
        else:
            if t - T <= window and (t - T < abs(t - Tn) or abs(tn - Tn) < abs(t - Tn)):
                out[i] = k
                k += 1
            i += 1                       # paired, or a missed reference beat (O)
    return out


# --------------------------------------------------------------- comparison
@dataclass
class BeatComparison:
    """One record's beat-by-beat comparison (what bxb counts)."""
    matrix: np.ndarray                    # 6x6, m[reference][test] over LABELS
    start: int                            # first scored sample
    window: int                           # match window, samples
    fs: float
    ref_index: np.ndarray                 # scored reference beats (indices into the caller's arrays)
    test_index: np.ndarray                # test beat matched to each of them, or -1
    false_test_index: np.ndarray          # scored test beats with no reference beat
    rr_errors: np.ndarray = field(default_factory=lambda: np.zeros(0))  # samples, matched consecutive pairs

    def statistics(self) -> dict:
        out = beat_statistics(self.matrix)
        out["rr_rms_error_ms"] = (round(float(np.sqrt(np.mean(self.rr_errors ** 2)) * 1000.0 / self.fs), 2)
                                  if self.rr_errors.size else None)
        out["scoring"] = {"match_ms": round(1000 * self.window / self.fs), "from_seconds":
                          round(self.start / self.fs, 3)}
        return out


def compare(ref_t, ref_labels, test_t, test_labels, fs: float, start_s: float = LEARNING_SECONDS,
            end_s: float | None = None, window_s: float = MATCH_SECONDS) -> BeatComparison:
    """Compare test beats with reference beats the EC57 way (see the module docstring).

    Times are sample numbers at `fs`; labels are AAMI letters or indices
    (N S V F Q; use :func:`aami_labels` for MIT symbols). Reference beats
    from `start_s` (to `end_s`) are scored.
    """
    ref_t = np.asarray(ref_t, dtype=np.int64)
    test_t = np.asarray(test_t, dtype=np.int64)
    ref_l, test_l = _label_indices(ref_labels), _label_indices(test_labels)
    if len(ref_t) != len(ref_l) or len(test_t) != len(test_l):
        raise ValueError("each beat needs one time and one label")
    window = int(round(window_s * fs))
    start = int(round(start_s * fs))
    end = int(round(end_s * fs)) if end_s is not None else 1 << 62
    ro = np.argsort(ref_t, kind="stable")
    to = np.argsort(test_t, kind="stable")
    r_keep = ro[(ref_t[ro] >= start) & (ref_t[ro] <= end)]
    t_keep = to[(test_t[to] >= start - window) & (test_t[to] <= end + window)]
    pair = match(ref_t[r_keep], test_t[t_keep], window)
    m = np.zeros((6, 6), dtype=np.int64)
    matched = np.zeros(len(t_keep), dtype=bool)
    for i, k in enumerate(pair):
        if k >= 0:
            matched[k] = True
            m[ref_l[r_keep[i]], test_l[t_keep[k]]] += 1
        else:
            m[ref_l[r_keep[i]], O] += 1
    # test beats outside the scored interval count only when they matched
    t_in = (test_t[t_keep] >= start) & (test_t[t_keep] <= end)
    false_k = np.flatnonzero(~matched & t_in)
    for k in false_k:
        m[O, test_l[t_keep[k]]] += 1
    # RR interval error (bxb's RMS RR error) over consecutive matched pairs
    ok = np.flatnonzero((pair[1:] >= 0) & (pair[:-1] >= 0))
    rr_ref = np.diff(ref_t[r_keep])[ok]
    rr_test = test_t[t_keep][pair[ok + 1]] - test_t[t_keep][pair[ok]]
    return BeatComparison(m, start, window, float(fs), r_keep, np.where(pair >= 0, t_keep[np.maximum(pair, 0)], -1),
                          t_keep[false_k], (rr_ref - rr_test).astype(np.float64))


def matrix_from_labels(ref_labels, test_labels) -> np.ndarray:
    """The comparison matrix of beats already paired one to one (e.g. a
    classifier run on the reference R peaks: nothing missed, nothing extra)."""
    m = np.zeros((6, 6), dtype=np.int64)
    np.add.at(m, (_label_indices(ref_labels), _label_indices(test_labels)), 1)
    return m


# --------------------------------------------------------------- statistics
def beat_statistics(matrix) -> dict:
    """EC57 QRS/VEB/SVEB statistics and per-class figures from a 6x6 matrix."""
    m = np.asarray(matrix, dtype=np.int64)
    if m.shape != (6, 6):
        raise ValueError("the comparison matrix is 6x6 (N S V F Q O)")
    beats = [N, S, V, F, Q]
    qtp = int(m[np.ix_(beats, beats)].sum())
    qfn = int(m[beats, O].sum())
    qfp = int(m[O, beats].sum())
    vtp = int(m[V, V])
    vfn = int(m[V, :].sum() - vtp)
    vfp = int(m[N, V] + m[S, V] + m[O, V])
    vtn = int(sum(m[r, c] for r in (N, S, F, Q, O) for c in (N, S, F, Q)))
    stp = int(m[S, S])
    sfn = int(m[S, :].sum() - stp)
    sfp = int(m[N, S] + m[V, S] + m[F, S] + m[O, S])
    out = {
        "qrs": {"se": _pct(qtp, qtp + qfn), "ppv": _pct(qtp, qtp + qfp), "tp": qtp, "fn": qfn, "fp": qfp},
        "veb": {"se": _pct(vtp, vtp + vfn), "ppv": _pct(vtp, vtp + vfp), "fpr": _pct(vfp, vtn + vfp),
                "tp": vtp, "fn": vfn, "fp": vfp, "tn": vtn},
        "sveb": {"se": _pct(stp, stp + sfn), "ppv": _pct(stp, stp + sfp), "tp": stp, "fn": sfn, "fp": sfp},
    }
    # plain per-class figures over the scored classes (rows N S V F; false detections in row O)
    scored = [N, S, V, F]
    total = int(m[scored, :].sum())
    classes, f1s = {}, {}
    for c, name in enumerate(CLASSES):
        tp = int(m[c, c])
        fn = int(m[c, :].sum() - tp)
        fp = int(m[scored + [O], c].sum() - tp)
        tn = int(m[scored + [O], :].sum() - tp - fn - fp)
        f1 = _pct(2 * tp, 2 * tp + fp + fn)
        f1s[name] = f1
        classes[name] = {"se": _pct(tp, tp + fn), "ppv": _pct(tp, tp + fp), "fpr": _pct(fp, fp + tn),
                         "f1": f1, "n": tp + fn, "tp": tp, "fn": fn, "fp": fp}
    out["classes"] = classes
    # macro-F1: a class with no reference beats and no detections has no F1 and is left out
    defined = [v for v in f1s.values() if v is not None]
    out["macro_f1"] = round(float(np.mean(defined)), 2) if defined else None
    nsv = [f1s[c] for c in ("N", "S", "V") if f1s[c] is not None]
    out["macro_f1_nsv"] = round(float(np.mean(nsv)), 2) if nsv else None
    out["accuracy"] = _pct(int(sum(m[c, c] for c in scored)), total)
    out["n_beats"] = total
    out["matrix"] = m.tolist()
    return out


def gross(matrices) -> dict:
    """Gross statistics: the matrices of several records summed, then scored once."""
    mats = [np.asarray(x, dtype=np.int64) for x in matrices]
    return beat_statistics(sum(mats) if mats else np.zeros((6, 6), dtype=np.int64))


#: The statistics :func:`average` averages (EC57 "average statistics": one record, one vote).
AVERAGED = (("qrs", "se"), ("qrs", "ppv"), ("veb", "se"), ("veb", "ppv"), ("veb", "fpr"),
            ("sveb", "se"), ("sveb", "ppv"))


def average(stats: list) -> dict:
    """Mean over records of each defined statistic, with the number of records it covers."""
    out: dict = {}
    for group, key in AVERAGED:
        vals = [s[group][key] for s in stats if s.get(group, {}).get(key) is not None]
        out.setdefault(group, {})[key] = round(float(np.mean(vals)), 2) if vals else None
        out[group][f"{key}_records"] = len(vals)
    return out


# ------------------------------------------------------------------- tables
def fmt(v, width: int = 6, digits: int = 2) -> str:
    """A statistic for a table: undefined prints as '-' (as bxb does)."""
    return f"{'-':>{width}}" if v is None else f"{v:>{width}.{digits}f}"


def format_matrix(matrix) -> str:
    """bxb's standard table with SVEB columns (rows reference, columns test)."""
    m = np.asarray(matrix, dtype=np.int64)
    lines = ["            test", "        " + " ".join(f"{c.lower():>6}" for c in LABELS),
             "       " + "_" * 42]
    for r, name in enumerate(LABELS):
        cells = [m[r, c] for c in range(6 if r != O else 5)]
        lines.append(f"  ref {name} |" + " ".join(f"{int(x):>6}" for x in cells))
    return "\n".join(lines)


# =================================================================== rhythm
# EC57's rhythm statistics, beside the beat ones (the same learning period):
#
# * heart rate: the device's measurements against the reference heart rate
#   computed at the same instants with the device's own averaging (mean of
#   the last 8 RR intervals of the reference beats up to the measured beat);
# * ectopic runs (WFDB rxr's quantities): a run is >= 2 consecutive beats of
#   one label (V: couplets and ventricular runs; S: supraventricular runs),
#   classed by length -- couplet (2), short (3-5), long (>= 6). A reference run
#   counts as detected when a test run of the same label overlaps it (150 ms
#   tolerance); Se per class of the reference run's length, +P per class of
#   the test run's length;
# * episodes (WFDB epicmp's quantities, for AF): episode Se = reference
#   episodes overlapped by a test episode / reference episodes, episode +P the
#   other way round; duration Se = overlap / reference duration, duration +P =
#   overlap / test duration. Rhythm episodes come from the reference aux notes
#   ("(AFIB" ... the next rhythm note).

#: Run length classes (inclusive bounds; None: no upper bound).
RUN_LENGTHS = {"couplet": (2, 2), "short": (3, 5), "long": (6, None)}
#: Heart-rate averaging the device discloses (tinyecg.rhythm.HR_N): mean of the last 8 RR.
HR_AVERAGE_RR = 8


def _length_class(n: int) -> str | None:
    for name, (lo, hi) in RUN_LENGTHS.items():
        if n >= lo and (hi is None or n <= hi):
            return name
    return None


def label_runs(times, labels, label: str) -> list[tuple[int, int, int]]:
    """(first time, last time, length) of every run of >= 2 consecutive beats labelled `label`."""
    t = np.asarray(times, dtype=np.int64)
    lab = _label_indices(labels)
    want = LABELS.index(label)
    out, k = [], 0
    while k < len(t):
        if lab[k] != want:
            k += 1
            continue
        e = k
        while e + 1 < len(t) and lab[e + 1] == want:
            e += 1
        if e > k:
            out.append((int(t[k]), int(t[e]), e - k + 1))
        k = e + 1
    return out


def run_statistics(ref_runs, test_runs, fs: float, start_s: float = LEARNING_SECONDS,
                   window_s: float = MATCH_SECONDS) -> dict:
    """Run Se/+P by length class; runs are (first, last, length) in samples at `fs`."""
    start, w = int(round(start_s * fs)), int(round(window_s * fs))
    ref = [x for x in ref_runs if x[0] >= start]
    test = [x for x in test_runs if x[0] >= start - w]

    def hit(a, others):
        return any(b[0] <= a[1] + w and b[1] >= a[0] - w for b in others)

    out = {}
    for name in RUN_LENGTHS:
        r = [x for x in ref if _length_class(x[2]) == name]
        t = [x for x in test if _length_class(x[2]) == name and x[0] >= start]
        r_tp, t_tp = sum(hit(x, test) for x in r), sum(hit(x, ref) for x in t)
        out[name] = {"se": _pct(r_tp, len(r)), "ppv": _pct(t_tp, len(t)), "reference": len(r),
                     "detected": len(t), "reference_found": r_tp, "detected_true": t_tp}
    return out


def rhythm_episodes(samples, aux_notes, end: int, rhythm: str = "(AFIB") -> list[tuple[int, int]]:
    """[start, end) of every episode of `rhythm` from WFDB rhythm aux notes ("(AFIB", "(N", ...).

    An episode runs from its note to the next rhythm note of another rhythm (or `end`)."""
    eps, cur = [], None
    for s, note in zip(samples, aux_notes):
        note = str(note).rstrip("\x00").strip()
        if not note.startswith("("):
            continue
        if note == rhythm:
            cur = int(s) if cur is None else cur
        elif cur is not None:
            eps.append((cur, int(s)))
            cur = None
    if cur is not None:
        eps.append((cur, int(end)))
    return [e for e in eps if e[1] > e[0]]


def _overlap(a, b) -> int:
    return sum(max(0, min(x1, y1) - max(x0, y0)) for x0, x1 in a for y0, y1 in b)


def episode_statistics(ref_eps, test_eps, fs: float, start_s: float = LEARNING_SECONDS) -> dict:
    """Episode and duration Se/+P of test episodes against reference ones ([start, end) samples)."""
    start = int(round(start_s * fs))
    clip = lambda eps: [(max(a, start), b) for a, b in eps if b > start]  # noqa: E731
    ref, test = clip(ref_eps), clip(test_eps)
    ov = _overlap(ref, test)
    r_dur, t_dur = sum(b - a for a, b in ref), sum(b - a for a, b in test)
    r_hit = sum(_overlap([e], test) > 0 for e in ref)
    t_hit = sum(_overlap([e], ref) > 0 for e in test)
    return {"episode_se": _pct(r_hit, len(ref)), "episode_ppv": _pct(t_hit, len(test)),
            "duration_se": _pct(ov, r_dur), "duration_ppv": _pct(ov, t_dur),
            "reference_episodes": len(ref), "detected_episodes": len(test),
            "reference_episodes_found": r_hit, "detected_episodes_true": t_hit,
            "reference_seconds": round(r_dur / fs, 1), "detected_seconds": round(t_dur / fs, 1),
            "overlap_seconds": round(ov / fs, 1)}


def reference_heart_rate(ref_t, at, fs: float, n: int = HR_AVERAGE_RR,
                         window_s: float = MATCH_SECONDS) -> np.ndarray:
    """Reference heart rate (bpm) at each instant of `at`: 60 / mean of the last `n` RR
    intervals of the reference beats up to the beat matching that instant (NaN: too few)."""
    t = np.sort(np.asarray(ref_t, dtype=np.int64))
    w = int(round(window_s * fs))
    out = np.full(len(at), np.nan)
    for i, x in enumerate(np.asarray(at, dtype=np.int64)):
        k = int(np.searchsorted(t, x + w, side="right")) - 1
        if k - n >= 0:
            out[i] = 60.0 * n * fs / float(t[k] - t[k - n])
    return out


def heart_rate_error(ref_t, meas_t, meas_bpm, fs: float, start_s: float = LEARNING_SECONDS) -> dict:
    """Device heart-rate measurements against the reference computed the same way."""
    meas_t = np.asarray(meas_t, dtype=np.int64)
    meas_bpm = np.asarray(meas_bpm, dtype=np.float64)
    keep = meas_t >= int(round(start_s * fs))
    ref = reference_heart_rate(ref_t, meas_t[keep], fs)
    ok = ~np.isnan(ref)
    err = meas_bpm[keep][ok] - ref[ok]
    return {"mean_abs_error_bpm": round(float(np.mean(np.abs(err))), 3) if err.size else None,
            "rms_error_bpm": round(float(np.sqrt(np.mean(err ** 2))), 3) if err.size else None,
            "max_abs_error_bpm": round(float(np.max(np.abs(err))), 2) if err.size else None,
            "measurements": int(err.size),
            "averaging": f"mean of the last {HR_AVERAGE_RR} RR intervals up to the measured beat, "
                         "reference computed the same way from the reference beats"}


def rhythm_gross(rhythms: list) -> dict:
    """Runs and AF summed over records (counts added, then Se/+P once); HR error weighted by measurements."""
    out: dict = {"runs": {}, "af": {}}
    for kind in ("veb", "sveb"):
        out["runs"][kind] = {}
        for name in RUN_LENGTHS:
            c = {k: sum(r["runs"][kind][name][k] for r in rhythms)
                 for k in ("reference", "detected", "reference_found", "detected_true")}
            out["runs"][kind][name] = {"se": _pct(c["reference_found"], c["reference"]),
                                       "ppv": _pct(c["detected_true"], c["detected"]), **c}
    af = {k: sum(r["af"][k] for r in rhythms) for k in ("reference_episodes", "detected_episodes",
                                                        "reference_episodes_found", "detected_episodes_true",
                                                        "reference_seconds", "detected_seconds", "overlap_seconds")}
    out["af"] = {"episode_se": _pct(af["reference_episodes_found"], af["reference_episodes"]),
                 "episode_ppv": _pct(af["detected_episodes_true"], af["detected_episodes"]),
                 "duration_se": _pct(af["overlap_seconds"], af["reference_seconds"]),
                 "duration_ppv": _pct(af["overlap_seconds"], af["detected_seconds"]),
                 **{k: round(v, 1) for k, v in af.items()}}
    hr = [r["hr"] for r in rhythms if r["hr"]["measurements"]]
    n = sum(h["measurements"] for h in hr)
    out["hr"] = {"mean_abs_error_bpm": round(sum(h["mean_abs_error_bpm"] * h["measurements"] for h in hr) / n, 3)
                 if n else None, "worst_record_mean_abs_error_bpm":
                 max((h["mean_abs_error_bpm"] for h in hr), default=None), "measurements": n}
    return out
