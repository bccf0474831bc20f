"""EC57 scoring (tinyecg.ec57) on hand-made annotations, figures worked out by hand."""

import numpy as np
import pytest

from tinyecg import ec57
from tinyecg.ec57 import F, N, O, Q, S, V


def test_matching_is_one_to_one_within_150ms_inclusive():
    fs = 360                                 # window = 54 samples
    ref = [1000, 2000, 3000, 4000]
    test = [1054, 2055, 2990, 3000, 4500]
    assert ec57.match(ref, test, 54).tolist() == [0, -1, 3, -1]   # 2990 and 3000 compete: 3000 is closer
    c = ec57.compare(ref, "NNNN", test, "NNNNN", fs, start_s=0)
    assert c.matrix[N, N] == 2 and c.matrix[N, O] == 2 and c.matrix[O, N] == 3


def test_bxb_alternative_criterion_above_200_bpm():
    # bxb's own example: window 37, ref 96/160, test 128/185. 128 is 32 from both 96 and 160,
    # but 185 matches 160 better (25), so 96-128 pair and then 160-185.
    assert ec57.match([96, 160], [128, 185], 37).tolist() == [0, 1]


def test_qrs_veb_sveb_statistics_as_bxb_computes_them():
    m = np.zeros((6, 6), dtype=int)
    m[N, N], m[N, S], m[N, V], m[N, O] = 900, 10, 5, 3
    m[S, S], m[S, N], m[S, O] = 40, 10, 1
    m[V, V], m[V, N], m[V, O] = 45, 4, 1
    m[F, V], m[F, N] = 6, 2                 # fusion beats called V: not VEB false positives (EC57)
    m[Q, S], m[Q, V] = 1, 1                 # unknown beats called S or V: no false positives either
    m[O, V], m[O, N], m[O, S] = 2, 5, 1     # false detections
    st = ec57.beat_statistics(m)
    qtp = 900 + 10 + 5 + 40 + 10 + 45 + 4 + 6 + 2 + 2
    assert st["qrs"]["tp"] == qtp and st["qrs"]["fn"] == 5 and st["qrs"]["fp"] == 8
    assert st["qrs"]["se"] == round(100 * qtp / (qtp + 5), 2)
    # VEB: Vv 45; FN = Vn + Vo = 5; FP = Nv + Sv + Ov = 5 + 0 + 2 (Fv, Qv excluded)
    assert (st["veb"]["tp"], st["veb"]["fn"], st["veb"]["fp"]) == (45, 5, 7)
    assert st["veb"]["se"] == 90.0 and st["veb"]["ppv"] == round(100 * 45 / 52, 2)
    # VTN: pairs in non-V rows and non-V, non-O columns: N row 900+10, S row 40+10, F 2, Q 1, O row 5+1
    vtn = 910 + 50 + 2 + 1 + 6
    assert st["veb"]["tn"] == vtn and st["veb"]["fpr"] == round(100 * 7 / (vtn + 7), 2)
    # SVEB: Ss 40; FN = Sn + So = 11; FP = Ns + Vs + Fs + Os = 10 + 0 + 0 + 1 (Qs excluded)
    assert (st["sveb"]["tp"], st["sveb"]["fn"], st["sveb"]["fp"]) == (40, 11, 11)
    # plain per-class: reference F called V IS a V false positive there; O row counts, Q row does not
    assert st["classes"]["V"]["fp"] == 5 + 6 + 2
    assert st["classes"]["F"]["se"] == 0.0 and st["classes"]["F"]["ppv"] is None   # nothing called F
    assert st["n_beats"] == m[[N, S, V, F], :].sum()


def test_undefined_statistics_are_none_not_zero():
    m = ec57.matrix_from_labels("NNNN", "NNNS")       # no V anywhere, no F anywhere
    st = ec57.beat_statistics(m)
    assert st["veb"]["se"] is None and st["veb"]["ppv"] is None
    assert st["classes"]["F"] == {"se": None, "ppv": None, "fpr": 0.0, "f1": None, "n": 0, "tp": 0, "fn": 0,
                                  "fp": 0}
    assert st["sveb"]["se"] is None and st["sveb"]["ppv"] == 0.0
    # macro-F1 leaves out classes with no F1 (no beats, no calls): N F1 = 85.71, S F1 = 0
    assert st["classes"]["N"]["f1"] == 85.71 and st["classes"]["S"]["f1"] == 0.0
    assert abs(st["macro_f1"] - 85.71 / 2) < 0.006
    assert ec57.fmt(None) == "     -" and ec57.fmt(12.345) == " 12.35"


def test_learning_period_scores_from_minute_five():
    fs = 360
    start = 300 * fs
    ref = [start - 10, start + 100, start + 1000]
    test = [start - 20, start + 100, start + 1000, start - 500]   # a false detection before 5 min
    c = ec57.compare(ref, "NVN", test, "NVNV", fs)
    # the first reference beat is not scored; the test beat 20 samples before start is not
    # matched to a scored beat and lies before start: not a false positive either
    assert c.matrix.sum() == 2 and c.matrix[V, V] == 1 and c.matrix[N, N] == 1
    assert c.ref_index.tolist() == [1, 2]
    # a test beat just before start counts when it matches the first scored reference beat
    c = ec57.compare([start + 10], "N", [start - 5], "N", fs)
    assert c.matrix[N, N] == 1


def test_gross_sums_beats_average_weighs_records():
    a = ec57.matrix_from_labels("VVVVVVVVVN", "VVVVVVVVVV")      # V Se 100, +P 90
    b = ec57.matrix_from_labels("VN", "NN")                      # V Se 0, +P undefined
    g = ec57.gross([a, b])
    assert g["veb"]["se"] == 90.0 and g["veb"]["ppv"] == 90.0
    avg = ec57.average([ec57.beat_statistics(a), ec57.beat_statistics(b)])
    assert avg["veb"]["se"] == 50.0 and avg["veb"]["se_records"] == 2
    assert avg["veb"]["ppv"] == 90.0 and avg["veb"]["ppv_records"] == 1


def test_rr_error_over_consecutive_matched_pairs():
    fs = 360
    ref = [100, 460, 820, 1180]
    test = [100, 470, 820, 1180]
    c = ec57.compare(ref, "NNNN", test, "NNNN", fs, start_s=0)
    # RR errors: 360-370 = -10, 360-350 = 10, 0 -> RMS sqrt(200/3) samples
    assert c.statistics()["rr_rms_error_ms"] == round(np.sqrt(200 / 3) * 1000 / fs, 2)


def test_labels_are_checked():
    with pytest.raises(ValueError):
        ec57.compare([1], "N", [1, 2], "N", 360)
    with pytest.raises(ValueError):
        ec57.matrix_from_labels([0], [7])
    assert ec57.aami_labels(["N", "A", "V", "F", "/", "?", "L"]).tolist() == [N, S, V, F, Q, Q, N]


def test_the_stream_scorer_is_this_module():
    from tinyecg import stream
    fs = 360
    ref = np.array([1000, 2000, 3000, 4000, 5000])
    sym = np.array(["N", "V", "N", "A", "Q"])
    det = np.array([1054, 2055, 2990, 4001, 5003, 7000])
    cls = np.array([0, 2, 2, 1, 0, 2])
    s = stream.score(ref, sym, det, cls, fs, start_s=0)
    # 1000 matched (54 samples = 150 ms, inclusive); 2000 missed (55 is outside); 3000, 4000 matched;
    # 5000 (Q) matched; 2055 and 7000 false
    assert (s["qrs"]["tp"], s["qrs"]["fn"], s["qrs"]["fp"]) == (4, 1, 2)
    assert s["qrs"]["se"] == 80.0 and s["qrs"]["ppv"] == 66.67
    assert s["classes"]["N"]["se"] == 50.0 and s["classes"]["N"]["ppv"] == 100.0
    assert s["veb"]["se"] == 0.0 and s["veb"]["ppv"] == 0.0 and s["classes"]["F"]["se"] is None
    assert s["sveb"] == {"se": 100.0, "ppv": 100.0, "tp": 1, "fn": 0, "fp": 0}
