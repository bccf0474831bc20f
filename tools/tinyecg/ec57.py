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
