"""Evaluation of a classifier file on MIT-BIH records, scored by :mod:`tinyecg.ec57`.

Two ways: on the reference R peaks (:func:`evaluate_dataset`: every beat
matched, all of the record -- the inter-patient literature's convention), and
through the whole chain with the project's own QRS detector
(:func:`evaluate_with_detector`: EC57 matching from minute 5, the scoring
``tools/stream.py`` applies to the device). Both score the classes the
device reports (:func:`tinyecg.rhythm.report_classes`: no S calls inside an
AF episode the rhythm stage has detected). Both report the EC57 QRS, VEB
(fusion exception applied) and SVEB figures and the plain per-class N, S, V,
F figures with macro-F1; reference Q beats are not scored per class.

Classifiers take the integer inputs the device computes (:func:`tinyecg.features.inputs`):
the int8 model runs on the ``tflite_micro`` Python interpreter, fed the exact
int8 bytes of the device (:class:`tinyecg.preprocess.InputQuant`); the float
student and the teacher ensemble see the same integers in float units.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from . import data as D
from . import ec57
from . import features as F
from . import preprocess as P
from .errors import TinyEcgError
from .rhythm import report_classes

NC = len(D.CLASSES)


class KerasClassifier:
    """A float Keras model (the student, or one teacher network)."""
    kind = "float"

    def __init__(self, model):
        if isinstance(model, (str, Path)):
            import keras
            try:
                model = keras.models.load_model(model, compile=False)
            except Exception as exc:
                raise TinyEcgError(f"{model}: not a loadable Keras model ({type(exc).__name__})") from None
        self.model = model

    def probs(self, wave, feats) -> np.ndarray:
        """Class probabilities (n, C) for integer inputs (``features.inputs``)."""
        if len(wave) == 0:
            return np.zeros((0, NC), dtype=np.float32)
        m = self.model
        xw, xf = F.to_float(wave, feats, m.inputs[0].shape[-1], m.inputs[1].shape[-1])
        return m.predict([xw, xf], batch_size=4096, verbose=0)

    def predict(self, wave, feats) -> np.ndarray:
        return np.argmax(self.probs(wave, feats), axis=1) if len(wave) else np.zeros(0, dtype=np.int64)


class EnsembleClassifier(KerasClassifier):
    """The teacher: the mean of its members' class probabilities."""
    kind = "float ensemble"

    def __init__(self, models):
        self.members = [KerasClassifier(m) for m in models]

    def probs(self, wave, feats) -> np.ndarray:
        return np.mean([m.probs(wave, feats) for m in self.members], axis=0)


class TfliteClassifier:
    """The int8 model on ``tflite_micro`` (:class:`tinyecg.calibrate.Int8Model`: one
    interpreter reused for every beat, batch 1, the device's int8 inputs)."""
    kind = "int8"

    def __init__(self, blob: bytes, arena_size: int = 64 * 1024):
        from .calibrate import Int8Model
        if len(blob) < 8 or bytes(blob[4:8]) != b"TFL3":
            raise TinyEcgError("not a .tflite flatbuffer (no TFL3 identifier)")
        try:
            self.model = Int8Model(blob, arena_size)
        except Exception as exc:   # the runtime raises struct.error, RuntimeError, ValueError...
            raise TinyEcgError(f"not a usable tinyecg int8 model: {type(exc).__name__}: {exc}") from None
        self.blob = bytes(blob)

    def scores(self, wave, feats) -> np.ndarray:
        """int8 class scores (n, C) for integer inputs, requantized as the device does."""
        return self.model.scores(wave, feats)

    def confidence(self, scores) -> np.ndarray:
        return self.model.confidence(scores)

    def predict(self, wave, feats) -> np.ndarray:
        # argmax of int8 scores; ties go to the lowest class index (as np.argmax and the firmware)
        return np.argmax(self.scores(wave, feats), axis=1)


def load_classifier(path):
    p = Path(path)
    if not p.is_file():
        raise TinyEcgError(f"{p}: no such model file")
    if p.suffix == ".keras":
        return KerasClassifier(p)
    if p.suffix == ".tflite":
        return TfliteClassifier(p.read_bytes())
    raise TinyEcgError(f"{p}: expected a .keras or .tflite model")


def evaluate_dataset(clf, ds: dict, progress: bool = False, desc: str = "", per_record: bool = True,
                     sequential: bool = True) -> dict:
    """EC57 statistics (:func:`tinyecg.ec57.beat_statistics`) of a classifier on
    a dataset from train.build_dataset: the reference R peaks, so every beat
    is matched and there is no learning period (de Chazal's inter-patient
    convention); ``per_record`` adds each record's figures. ``sequential``: the
    beats are whole records in order, so the reported classes go through the
    rhythm stage (:func:`tinyecg.rhythm.report_classes`); False for a random
    beat sample (the intra-patient split), scored on the classifier alone."""
    from tqdm import tqdm
    recs = np.unique(ds["rec"])
    preds = np.zeros(len(ds["y"]), dtype=np.int64)
    if per_record:
        for r in tqdm(recs, desc=desc, unit="rec", disable=not progress, dynamic_ncols=True):
            m = ds["rec"] == r
            preds[m] = clf.predict(*F.inputs(ds, m))
    else:
        chunk = 2000
        for s in tqdm(range(0, len(preds), chunk), desc=desc, unit="chunk", disable=not progress,
                      dynamic_ncols=True):
            preds[s:s + chunk] = clf.predict(*F.inputs(ds, slice(s, s + chunk)))
    if sequential:
        preds = report_classes(ds["r"], preds, ds["pre"], ds["rec"])
    out = ec57.beat_statistics(ec57.matrix_from_labels(ds["y"], preds))
    if per_record:
        out["per_record"] = {str(int(r)): _record_row(ec57.beat_statistics(
            ec57.matrix_from_labels(ds["y"][ds["rec"] == r], preds[ds["rec"] == r]))) for r in recs}
    return out


def _record_row(st: dict) -> dict:
    """The per-record table's row: beats, accuracy, per-class Se/+P, EC57 VEB and SVEB."""
    return {"n": st["n_beats"], "accuracy": st["accuracy"],
            **{c: {k: st["classes"][c][k] for k in ("se", "ppv", "n")} for c in D.CLASSES},
            "veb": {k: st["veb"][k] for k in ("se", "ppv", "fpr")},
            "sveb": {k: st["sveb"][k] for k in ("se", "ppv")}}


def evaluate_with_detector(clf, records, data_dir=None, progress: bool = False,
                           start_s: float = ec57.LEARNING_SECONDS) -> dict:
    """The whole chain: the project's own QRS detector, then the classifier,
    scored the EC57 way (:func:`tinyecg.ec57.compare`: 150 ms matching, from
    minute 5 by default) -- the same scoring ``tools/stream.py`` applies to the
    device's beats. Gross statistics over the records, plus each record's."""
    from tqdm import tqdm
    from .train import record_beats
    mats, rows = [], {}
    for rec in tqdm(records, desc=f"detector {clf.kind}", unit="rec", disable=not progress, dynamic_ncols=True):
        b = record_beats(rec, data_dir, detector=True)
        pred = report_classes(b["r"], clf.predict(*F.inputs(b)), b["pre"])
        # scored at the record's 360 Hz sample numbers, as the device's BEAT events are
        cmp_ = ec57.compare(b["ref_r_raw"], ec57.aami_labels(b["ref_sym"]), P.j_to_raw(b["r"]), pred, P.FS_IN,
                            start_s=start_s)
        mats.append(cmp_.matrix)
        rows[str(rec)] = _record_row(cmp_.statistics()) | {"qrs": cmp_.statistics()["qrs"]}
    out = ec57.gross(mats)
    out["average"] = ec57.average([ec57.beat_statistics(m) for m in mats])
    out["per_record"] = rows
    out["scoring"] = {"match_ms": round(1000 * ec57.MATCH_SECONDS), "from_seconds": start_s}
    return out


def plot_confusion(m: dict, path, title: str):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    cm = np.asarray(m["matrix"])[:NC, :NC]
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
    f = ec57.fmt
    lines = [title] if title else []
    lines.append(f"{'class':>5} {'n':>7} {'Se%':>7} {'+P%':>7} {'FPR%':>6} {'F1%':>6}")
    for c in D.CLASSES:
        s = m["classes"][c]
        lines.append(f"{c:>5} {s['n']:>7} {f(s['se'], 7)} {f(s['ppv'], 7)} {f(s['fpr'])} {f(s['f1'])}")
    lines.append(f"macro-F1 {f(m['macro_f1'], 0)} (N,S,V: {f(m['macro_f1_nsv'], 0)})  accuracy "
                 f"{f(m['accuracy'], 0)}  beats {m['n_beats']}")
    v, s = m["veb"], m["sveb"]
    lines.append(f"EC57 VEB Se {f(v['se'], 0)} +P {f(v['ppv'], 0)} FPR {f(v['fpr'], 0, 3)} (reference F called V "
                 f"is not a VEB false positive);  SVEB Se {f(s['se'], 0)} +P {f(s['ppv'], 0)}")
    if "scoring" in m:
        q, sc = m["qrs"], m["scoring"]
        lines.append(f"QRS detector: Se {f(q['se'], 0)}  +P {f(q['ppv'], 0)}  ({q['tp']} matched, {q['fn']} missed, "
                     f"{q['fp']} false; {sc['match_ms']} ms window, from {sc['from_seconds']:g} s)")
    return "\n".join(lines)


def format_per_record(m: dict) -> str:
    f = ec57.fmt
    lines = [f"{'rec':>4} {'n':>6} {'acc':>6} " + " ".join(f"{c + ' Se':>7} {c + ' +P':>7}" for c in D.CLASSES)]
    for r, t in m.get("per_record", {}).items():
        cells = " ".join(f"{f(t[c]['se'], 7, 1)} {f(t[c]['ppv'], 7, 1)}" for c in D.CLASSES)
        lines.append(f"{r:>4} {t['n']:>6} {f(t['accuracy'], 6, 1)} {cells}")
    return "\n".join(lines)
