"""Evaluation the EC57 way: per-class Se, +P, FPR, F1, accuracy; gross and per record.

Statistics come from the 4-class (N, S, V, F) confusion matrix, rows = reference,
columns = model.  Q beats (7 in DS2) are neither trained nor scored. The EC57
allowance of not counting reference F beats labelled V as VEB false positives
is *not* applied (the figures are the stricter plain confusion-matrix ones).

The int8 model runs on the ``tflite_micro`` Python interpreter, fed the exact
int8 bytes the device computes (:class:`tinyecg.preprocess.InputQuant`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import data as D
from . import preprocess as P
from .errors import TinyEcgError

NC = len(D.CLASSES)
MATCH_WINDOW = 27   # 150 ms at 180 Hz (EC57 beat-matching window)


def _pct(a, b):
    return round(100.0 * a / b, 2) if b else 0.0


def metrics_from_confusion(cm) -> dict:
    """cm[i][j] = beats of reference class i given class j (N,S,V,F).

    Optional 5th row/column: detections with no reference beat (row 4) and
    reference beats the detector missed (column 4).
    """
    cm = np.asarray(cm, dtype=np.int64)
    out = {}
    total = int(cm[:NC, :].sum())        # reference beats (incl. missed)
    f1s = []
    for c, name in enumerate(D.CLASSES):
        tp = int(cm[c, c])
        fn = int(cm[c, :].sum() - tp)
        fp = int(cm[:, c].sum() - tp)
        tn = int(cm.sum() - tp - fn - fp)
        f1 = _pct(2 * tp, 2 * tp + fp + fn)
        f1s.append(f1)
        out[name] = {"se": _pct(tp, tp + fn), "ppv": _pct(tp, tp + fp), "fpr": _pct(fp, fp + tn),
                     "f1": f1, "tp": tp, "fn": fn, "fp": fp, "n": tp + fn}
    # EC57 convention for VEB +P: reference F beats labelled V are not false positives
    tp_v, fp_v_no_f = int(cm[2, 2]), int(cm[:, 2].sum() - cm[2, 2] - cm[3, 2])
    out["V"]["ppv_ec57"] = _pct(tp_v, tp_v + fp_v_no_f)
    out["macro_f1"] = round(float(np.mean(f1s)), 2)
    out["accuracy"] = _pct(int(np.trace(cm[:NC, :NC])), total)
    out["n_beats"] = total
    out["confusion"] = cm.tolist()
    return out


def confusion(y_true, y_pred, n=NC) -> np.ndarray:
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


class KerasClassifier:
    kind = "float"

    def __init__(self, model):
        if isinstance(model, (str, Path)):
            import keras
            try:
                model = keras.models.load_model(model, compile=False)
            except Exception as exc:
                raise TinyEcgError(f"{model}: not a loadable Keras model ({type(exc).__name__})") from None
        self.model = model

    def predict(self, windows, feats) -> np.ndarray:
        xw, xf = P.to_float(windows, feats)
        if len(xw) == 0:
            return np.zeros(0, dtype=np.int64)
        return np.argmax(self.model.predict([xw, xf], batch_size=2048, verbose=0), axis=1)


class TfliteClassifier:
    """One tflite_micro interpreter, reused for every beat (batch 1, int8 in/out)."""
    kind = "int8"

    def __init__(self, blob: bytes, arena_size: int = 64 * 1024):
        from tflite_micro import runtime
        if len(blob) < 8 or bytes(blob[4:8]) != b"TFL3":
            raise TinyEcgError("not a .tflite flatbuffer (no TFL3 identifier)")
        try:
            self.q = P.InputQuant.from_tflite(blob)
            self.it = runtime.Interpreter.from_bytes(bytes(blob), arena_size=arena_size)
        except Exception as exc:   # the runtime raises struct.error, RuntimeError, ValueError...
            raise TinyEcgError(f"not a usable tinyecg int8 model: {type(exc).__name__}: {exc}") from None
        self.blob = bytes(blob)

    def quantize_inputs(self, windows, feats):
        return self.q.wave.apply(windows), self.q.rr.apply(feats)

    def scores(self, windows, feats) -> np.ndarray:
        qw, qf = self.quantize_inputs(windows, feats)
        out = np.zeros((len(qw), NC), dtype=np.int8)
        it = self.it
        for i in range(len(qw)):
            it.set_input(qw[i].reshape(1, P.WIN, 1), self.q.wave_index)
            it.set_input(qf[i].reshape(1, P.N_FEAT), self.q.rr_index)
            it.invoke()
            out[i] = it.get_output(0).reshape(-1)
        return out

    def predict(self, windows, feats) -> np.ndarray:
        # argmax of int8 scores; ties go to the lowest class index (as np.argmax and the firmware)
        return np.argmax(self.scores(windows, feats), axis=1)


def load_classifier(path):
    p = Path(path)
    if not p.is_file():
        raise TinyEcgError(f"{p}: no such model file")
    if p.suffix == ".keras":
        return KerasClassifier(p)
    if p.suffix == ".tflite":
        return TfliteClassifier(p.read_bytes())
    raise TinyEcgError(f"{p}: expected a .keras or .tflite model")


def evaluate_dataset(clf, ds: dict, progress: bool = False, desc: str = "", per_record: bool = True) -> dict:
    """Metrics M on a dataset from train.build_dataset (reference R peaks)."""
    from tqdm import tqdm
    recs = np.unique(ds["rec"])
    preds = np.zeros(len(ds["y"]), dtype=np.int64)
    if per_record:
        for r in tqdm(recs, desc=desc, unit="rec", disable=not progress, dynamic_ncols=True):
            m = ds["rec"] == r
            preds[m] = clf.predict(ds["windows"][m], ds["feats"][m])
    else:
        chunk = 2000
        for s in tqdm(range(0, len(preds), chunk), desc=desc, unit="chunk", disable=not progress,
                      dynamic_ncols=True):
            preds[s:s + chunk] = clf.predict(ds["windows"][s:s + chunk], ds["feats"][s:s + chunk])
    out = metrics_from_confusion(confusion(ds["y"], preds))
    if per_record:
        table = {}
        for r in recs:
            m = ds["rec"] == r
            mr = metrics_from_confusion(confusion(ds["y"][m], preds[m]))
            table[str(int(r))] = {"n": mr["n_beats"], "accuracy": mr["accuracy"],
                                  **{c: {"se": mr[c]["se"], "ppv": mr[c]["ppv"], "n": mr[c]["n"]}
                                     for c in D.CLASSES}}
        out["per_record"] = table
    return out


def match_beats(ref: np.ndarray, det: np.ndarray, window: int = MATCH_WINDOW):
    """One-to-one nearest matching of sorted reference and detected R positions.

    Returns (ref_index, det_index) pairs with |ref - det| <= window.
    """
    pairs = []
    used = np.zeros(len(det), dtype=bool)
    k = 0
    for i, r in enumerate(ref):
        while k < len(det) and det[k] < r - window:
            k += 1
        best, bd = -1, window + 1
        t = k
        while t < len(det) and det[t] <= r + window:
            if not used[t] and abs(int(det[t]) - int(r)) < bd:
                best, bd = t, abs(int(det[t]) - int(r))
            t += 1
        if best >= 0:
            used[best] = True
            pairs.append((i, best))
    return pairs


def evaluate_with_detector(clf, records, data_dir=None, progress: bool = False) -> dict:
    """Whole chain: the project's own QRS detector, then the classifier.

    5x5 confusion: row 4 = detections matching no reference beat, column 4 =
    reference beats with no emitted detection (missed, including the first and
    last beat of each record which the chain never emits).  Reference Q beats
    and detections matched to them are left out.
    """
    from tqdm import tqdm
    from .train import record_beats
    cm = np.zeros((NC + 1, NC + 1), dtype=np.int64)
    n_ref = n_det = n_match = 0
    for rec in tqdm(records, desc=f"DS2 detector {clf.kind}", unit="rec", disable=not progress,
                    dynamic_ncols=True):
        b = record_beats(rec, data_dir, detector=True)
        pred = clf.predict(b["windows"], b["feats"])
        ref = b["ref_r"]
        ref_cls = np.array([{"N": 0, "S": 1, "V": 2, "F": 3}.get(D.AAMI.get(s, "Q"), -1)
                            for s in b["ref_sym"]])
        pairs = match_beats(ref, b["r"])
        n_ref += len(ref)
        n_det += len(b["r"])
        n_match += len(pairs)
        det_matched = np.zeros(len(b["r"]), dtype=bool)
        ref_matched = np.zeros(len(ref), dtype=bool)
        for i, k in pairs:
            det_matched[k] = ref_matched[i] = True
            if ref_cls[i] >= 0:
                cm[ref_cls[i], pred[k]] += 1
        for i in np.flatnonzero(~ref_matched):
            if ref_cls[i] >= 0:
                cm[ref_cls[i], NC] += 1
        for k in np.flatnonzero(~det_matched):
            cm[NC, pred[k]] += 1
    out = metrics_from_confusion(cm)
    out["detector"] = {"se": _pct(n_match, n_ref), "ppv": _pct(n_match, n_det),
                       "reference_beats": n_ref, "detections": n_det, "matched": n_match,
                       "match_window_ms": round(1000 * MATCH_WINDOW / P.FS)}
    return out


def plot_confusion(m: dict, path, title: str):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cm = np.asarray(m["confusion"])[:NC, :NC]
    rowsum = cm.sum(axis=1, keepdims=True)
    frac = cm / np.maximum(rowsum, 1)
    fig, ax = plt.subplots(figsize=(4.6, 4.2), dpi=110)
    ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    for i in range(NC):
        for j in range(NC):
            ax.text(j, i, f"{cm[i, j]}\n{100 * frac[i, j]:.1f}%", ha="center", va="center", fontsize=8,
                    color="white" if frac[i, j] > 0.6 else "black")
    ax.set_xticks(range(NC), D.CLASSES)
    ax.set_yticks(range(NC), D.CLASSES)
    ax.set_xlabel("model")
    ax.set_ylabel("reference")
    ax.set_title(f"{title}\nmacro-F1 {m['macro_f1']:.1f}  acc {m['accuracy']:.1f}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def format_table(m: dict, title: str = "") -> str:
    lines = [title] if title else []
    lines.append(f"{'class':>5} {'n':>7} {'Se%':>7} {'+P%':>7} {'FPR%':>6} {'F1%':>6}")
    for c in D.CLASSES:
        s = m[c]
        lines.append(f"{c:>5} {s['n']:>7} {s['se']:>7.2f} {s['ppv']:>7.2f} {s['fpr']:>6.2f} {s['f1']:>6.2f}")
    lines.append(f"macro-F1 {m['macro_f1']:.2f}  accuracy {m['accuracy']:.2f}  beats {m['n_beats']}")
    if "detector" in m:
        d = m["detector"]
        lines.append(f"QRS detector: Se {d['se']:.2f}  +P {d['ppv']:.2f}  ({d['matched']}/{d['reference_beats']} "
                     f"reference, {d['detections']} detections)")
    return "\n".join(lines)


def format_per_record(m: dict) -> str:
    lines = [f"{'rec':>4} {'n':>6} {'acc':>6} " + " ".join(f"{c + ' Se':>7} {c + ' +P':>7}" for c in D.CLASSES)]
    for r, t in m.get("per_record", {}).items():
        cells = " ".join(
            (f"{t[c]['se']:>7.1f}" if t[c]["n"] else f"{'-':>7}") + " " +
            (f"{t[c]['ppv']:>7.1f}" if (t[c]['n'] or t[c]['ppv']) else f"{'-':>7}") for c in D.CLASSES)
        lines.append(f"{r:>4} {t['n']:>6} {t['accuracy']:>6.1f} {cells}")
    return "\n".join(lines)
