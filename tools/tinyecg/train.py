"""Training: MIT-BIH beats through the fixed-point chain into the Keras CNN.

Inter-patient (de Chazal 2004): train on DS1 minus a few whole validation
patients (:data:`tinyecg.data.DS1_VALIDATION`), pick the epoch on them, test on
DS2 only.  :func:`build_dataset` refuses to mix a DS2 record into training
(:func:`check_training_records`).  The intra-patient random-beat split is
trained separately (:func:`train_intra_patient`) only because the literature
quotes it; it is labelled as such everywhere.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import data as D
from . import ec57
from . import preprocess as P
from .errors import TinyEcgError
from .model import ModelConfig

CLASS_INDEX = {c: i for i, c in enumerate(D.CLASSES)}


@dataclass
class TrainConfig:
    seed: int = 1
    epochs: int = 20
    patience: int = 10                   # only with select="best"
    select: str = "last"                 # "last": cosine-decayed lr, keep the final weights;
                                         # "best": keep the epoch with the best validation F1
    batch: int = 256
    lr: float = 1e-3
    n_seeds: int = 3                     # train seeds seed..seed+n-1, keep the best on validation
    weight_decay: float = 0.0            # AdamW decoupled weight decay when > 0
    class_weight_power: float = 1.0      # weight = (n_max / n_c) ** power ...
    class_weight_max: float = 30.0       # ... capped
    class_weight_scale: tuple = (1.0, 1.0, 1.0, 0.1)   # extra per-class factor (N, S, V, F):
                                         # DS1's F beats are 94 % one patient (208); a full F weight
                                         # makes the model call other patients' N beats F
    select_classes: tuple = ("N", "S", "V")   # epoch picked on their mean val F1 (19 val F beats: noise)
    augment: bool = True                 # random per-beat amplitude (x0.7..1.4) + small offset
    train_records: tuple = tuple(r for r in D.DS1 if r not in D.DS1_VALIDATION)
    val_records: tuple = D.DS1_VALIDATION
    intra_patient: bool = True
    intra_epochs: int = 15
    threads: int = 2
    model: ModelConfig = field(default_factory=ModelConfig)

    def to_dict(self):
        d = asdict(self)
        d["train_records"] = list(self.train_records)
        d["val_records"] = list(self.val_records)
        d["select_classes"] = list(self.select_classes)
        d["class_weight_scale"] = list(self.class_weight_scale)
        return d


def quick_config(seed: int = 1) -> TrainConfig:
    """CI: a few records, a couple of epochs -- tests the pipeline, not the accuracy."""
    return TrainConfig(seed=seed, epochs=3, n_seeds=1, train_records=(106, 119, 209, 208, 220),
                       val_records=(223,), intra_patient=False, model=ModelConfig(width=4, depth=3))


def check_training_records(records) -> None:
    bad = sorted(set(int(r) for r in records) & set(D.DS2))
    if bad:
        raise TinyEcgError(f"DS2 records {bad} are the test set and must never be used for training")
    paced = sorted(set(int(r) for r in records) & set(D.PACED))
    if paced:
        raise TinyEcgError(f"paced records {paced} are excluded")


def record_beats(rec: int, data_dir=None, detector: bool = False) -> dict:
    """Chain outputs of one record: windows, feats, r (j), raw r, labels.

    With detector=False the reference annotations give the R positions
    (training); with detector=True the integer QRS detector does, and labels
    are -1 (matching happens in evaluate).
    """
    R = D.load_record(rec, data_dir)
    w = P.frontend_block(R.signal)
    if detector:
        rj = P.detect_block(w)
        b = P.beats_block(w, rj)
        y = np.full(len(b["r"]), -1, dtype=np.int64)
    else:
        rj_all = P.raw_to_j(R.r_samples)
        # the chain sees every annotated beat (any class) for the RR intervals
        b = P.beats_block(w, rj_all)
        syms = R.symbols[: len(b["r_all"])][b["idx"]]
        y = np.array([CLASS_INDEX.get(D.AAMI.get(s, "Q"), -1) for s in syms], dtype=np.int64)
    return dict(windows=b["windows"], feats=b["feats"], r=b["r"], y=y,
                rec=np.full(len(b["r"]), int(rec), dtype=np.int64),
                ref_r=P.raw_to_j(R.r_samples), ref_r_raw=R.r_samples, ref_sym=R.symbols, n_w=len(w))


def build_dataset(records, data_dir=None, keep_unlabelled: bool = False) -> dict:
    """Concatenate record_beats over records; Q beats dropped unless keep_unlabelled."""
    parts = [record_beats(r, data_dir) for r in records]
    out = {k: np.concatenate([p[k] for p in parts]) for k in ("windows", "feats", "r", "y", "rec")}
    if not keep_unlabelled:
        keep = out["y"] >= 0
        out = {k: v[keep] for k, v in out.items()}
    return out


def _setup_tf(seed: int, threads: int):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # already initialised in this process (tests): keep its setting
    import keras
    keras.utils.set_random_seed(seed)
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:
        pass
    return tf, keras


def macro_f1(y_true, y_pred, n=len(D.CLASSES)) -> float:
    f1s = []
    for c in range(n):
        tp = np.sum((y_pred == c) & (y_true == c))
        fp = np.sum((y_pred == c) & (y_true != c))
        fn = np.sum((y_pred != c) & (y_true == c))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s))


def _class_weights(y, power: float, cap: float = np.inf) -> np.ndarray:
    counts = np.bincount(y, minlength=len(D.CLASSES)).astype(np.float64)
    counts[counts == 0] = 1
    return np.minimum((counts.max() / counts) ** power, cap)


def select_f1(y_true, y_pred, classes) -> float:
    """Mean F1 over the named classes (the epoch-selection criterion)."""
    f1s = []
    for name in classes:
        c = CLASS_INDEX[name]
        tp = np.sum((y_pred == c) & (y_true == c))
        fp = np.sum((y_pred == c) & (y_true != c))
        fn = np.sum((y_pred != c) & (y_true == c))
        f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s))


def fit(cfg: TrainConfig, train: dict, val: dict, progress: bool = True, desc: str = "train"):
    """Train one model; returns (keras model with the best val macro-F1 weights, history)."""
    tf, keras = _setup_tf(cfg.seed, cfg.threads)
    from tqdm import tqdm
    from .model import build_model

    rng = np.random.default_rng(cfg.seed)
    xw, xf = P.to_float(train["windows"], train["feats"])
    vw, vf = P.to_float(val["windows"], val["feats"])
    y = train["y"]
    cw = _class_weights(y, cfg.class_weight_power, cfg.class_weight_max) * np.asarray(cfg.class_weight_scale)
    sw = cw[y].astype(np.float32)
    sw /= sw.mean()
    model = build_model(cfg.model)
    opt = (keras.optimizers.AdamW(cfg.lr, weight_decay=cfg.weight_decay) if cfg.weight_decay
           else keras.optimizers.Adam(cfg.lr))
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    best, best_w, best_ep, hist = -1.0, None, -1, []
    bar = tqdm(range(cfg.epochs), desc=desc, unit="epoch", disable=not progress, dynamic_ncols=True)
    import math
    for ep in bar:
        lr = cfg.lr * 0.5 * (1 + math.cos(math.pi * ep / cfg.epochs)) if cfg.select == "last" else cfg.lr
        model.optimizer.learning_rate.assign(lr)
        if cfg.augment:
            g = rng.uniform(0.7, 1.4, size=(len(y), 1, 1)).astype(np.float32)
            off = rng.normal(0, 0.05, size=(len(y), 1, 1)).astype(np.float32)
            aw = xw * g + off
        else:
            aw = xw
        h = model.fit([aw, xf], y, sample_weight=sw, batch_size=cfg.batch, epochs=1, verbose=0,
                      shuffle=True)
        pv = np.argmax(model.predict([vw, vf], batch_size=2048, verbose=0), axis=1)
        f1 = select_f1(val["y"], pv, cfg.select_classes)
        loss = float(h.history["loss"][-1])
        hist.append(dict(epoch=ep + 1, loss=round(loss, 4), val_select_f1=round(100 * f1, 2)))
        if cfg.select == "last" or f1 > best:
            best, best_w, best_ep = f1, model.get_weights(), ep + 1
        bar.set_postfix(loss=f"{loss:.3f}", val_f1=f"{100 * f1:.1f}", lr=f"{lr:.1e}")
        if cfg.select == "best" and ep + 1 - best_ep >= cfg.patience:
            break
    model.set_weights(best_w)
    return model, dict(epochs=hist, best_epoch=best_ep, best_val_select_f1=round(100 * best, 2),
                       class_weights=[round(float(v), 3) for v in cw])


def intra_patient_split(records, seed: int, data_dir=None):
    """Random beat split over all given patients (80 % train / 20 % test); NOT inter-patient."""
    ds = build_dataset(records, data_dir)
    rng = np.random.default_rng(seed + 1000)
    idx = rng.permutation(len(ds["y"]))
    n_test = len(idx) // 5
    n_val = len(idx) // 10
    test, val, tr = idx[:n_test], idx[n_test:n_test + n_val], idx[n_test + n_val:]
    take = lambda ii: {k: v[ii] for k, v in ds.items()}
    return take(tr), take(val), take(test)


def run(cfg: TrainConfig, out_dir, data_dir=None, progress: bool = True, log=print, command: str = "") -> dict:
    """The full job: train, quantize, evaluate (float + int8), write out_dir."""
    from . import evaluate as E
    from .model import count_macs
    from .quantize import float_tflite, min_arena_bytes, quantize_keras

    check_training_records(cfg.train_records)
    check_training_records(cfg.val_records)
    if set(cfg.train_records) & set(cfg.val_records):
        raise TinyEcgError("validation records must be different patients from the training records")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    log(f"loading DS1: train {list(cfg.train_records)}, validate {list(cfg.val_records)}")
    train = build_dataset(cfg.train_records, data_dir)
    val = build_dataset(cfg.val_records, data_dir)
    counts = {c: int(n) for c, n in zip(D.CLASSES, np.bincount(train["y"], minlength=4))}
    log(f"train beats {len(train['y'])} {counts}, validation beats {len(val['y'])}")
    model, history, cands = None, None, []
    for k in range(cfg.n_seeds):
        c = TrainConfig(**{**asdict(cfg), "seed": cfg.seed + k, "model": cfg.model})
        m, h = fit(c, train, val, progress=progress, desc=f"DS1 seed {c.seed}")
        cands.append({"seed": c.seed, "val_select_f1": h["best_val_select_f1"]})
        log(f"seed {c.seed}: validation mean F1 ({'/'.join(cfg.select_classes)}) {h['best_val_select_f1']:.2f}")
        if history is None or h["best_val_select_f1"] > history["best_val_select_f1"]:
            model, history = m, {**h, "seed": c.seed}
    history["candidates"] = cands
    log(f"kept seed {history['seed']} (best on the DS1 validation patients)")
    keras_path = out / "model.keras"
    model.save(keras_path)
    rep = P.to_float(*_rep_subset(train, cfg.seed))
    blob = quantize_keras(model, rep, out / "model_int8.tflite")
    train_seconds = time.time() - t0
    float_bytes = len(float_tflite(model))
    arena = min_arena_bytes(blob)
    log(f"trained in {train_seconds:.0f} s (best epoch {history['best_epoch']}); evaluating on DS2")

    metrics = {"float": {}, "int8": {}}
    test = build_dataset(D.DS2, data_dir)
    clf_f = E.KerasClassifier(model)
    clf_q = E.TfliteClassifier(blob)
    for key, clf in (("float", clf_f), ("int8", clf_q)):
        metrics[key]["DS2"] = E.evaluate_dataset(clf, test, progress=progress, desc=f"DS2 {key}")
        E.plot_confusion(metrics[key]["DS2"], out / f"confusion_{key}_DS2.png",
                         f"{key} model, DS2 (inter-patient), reference R peaks")
    # own detector, once, on DS2 (int8 model: what the device runs)
    det = E.evaluate_with_detector(clf_q, D.DS2, data_dir, progress=progress)
    metrics["int8"]["DS2_own_detector"] = det
    det_f = E.evaluate_with_detector(clf_f, D.DS2, data_dir, progress=progress)
    metrics["float"]["DS2_own_detector"] = det_f

    intra_info = None
    if cfg.intra_patient:
        t1 = time.time()
        recs = tuple(D.DS1) + tuple(D.DS2)
        tr, va, te = intra_patient_split(recs, cfg.seed, data_dir)
        icfg = TrainConfig(**{**asdict(cfg), "epochs": cfg.intra_epochs, "model": cfg.model})
        imodel, ihist = fit(icfg, tr, va, progress=progress, desc="intra-patient")
        idir = out / "intra_patient"
        idir.mkdir(exist_ok=True)
        imodel.save(idir / "model.keras")
        iblob = quantize_keras(imodel, P.to_float(*_rep_subset(tr, cfg.seed)), idir / "model_int8.tflite")
        for key, clf in (("float", E.KerasClassifier(imodel)), ("int8", E.TfliteClassifier(iblob))):
            m = E.evaluate_dataset(clf, te, progress=progress, desc=f"intra {key}", per_record=False)
            m["note"] = ("intra-patient random-beat split (70/10/20 train/val/test of all DS1+DS2 beats, seed "
                         f"{cfg.seed + 1000}); the same patients are in train and test: optimistic, "
                         "not comparable with the inter-patient DS2 figures")
            metrics[key]["intra_patient"] = m
        intra_info = dict(seconds=round(time.time() - t1, 1), history=ihist,
                          train_beats=int(len(tr["y"])), test_beats=int(len(te["y"])))

    result = {
        "float": metrics["float"],
        "int8": metrics["int8"],
        "config": {
            **cfg.to_dict(),
            "classes": list(D.CLASSES),
            "test_records": list(D.DS2),
            "window": {"pre": P.PRE, "post": P.POST, "fs": P.FS},
            "features": list(P.FEATURE_NAMES),
            "history": history,
            "macs_per_beat": count_macs(model),
            "params": int(model.count_params()),
            "keras_file_bytes": keras_path.stat().st_size,
            "float_tflite_bytes": float_bytes,
            "int8_bytes": len(blob),
            "int8_vs_float_size": round(float_bytes / len(blob), 2),
            "tflm_arena_bytes_host": arena,
            "intra_patient_training": intra_info,
            "command": command or "python tools/train.py",
        },
        "train_seconds": round(train_seconds, 1),
    }
    (out / "metrics.json").write_text(json.dumps(result, indent=1))
    write_model_readme(out, result, command or "python tools/train.py")
    return result


def _rep_subset(ds: dict, seed: int, n: int = 1000):
    """Representative set for PTQ: n training beats, stratified so rare classes appear."""
    rng = np.random.default_rng(seed + 7)
    idx = []
    for c in range(len(D.CLASSES)):
        cand = np.flatnonzero(ds["y"] == c)
        k = min(len(cand), max(n // 8, int(n * len(cand) / len(ds["y"]))))
        idx.append(rng.choice(cand, size=k, replace=False) if k else cand[:0])
    idx = np.concatenate(idx)
    return ds["windows"][idx], ds["feats"][idx]


def _row(m, c):
    s, f = m["classes"][c], ec57.fmt
    return f"| {c} | {s['n']} | {f(s['se'], 0)} | {f(s['ppv'], 0)} | {f(s['fpr'], 0)} | {f(s['f1'], 0)} |"


def _table(m) -> str:
    f = ec57.fmt
    lines = ["| class | beats | Se % | +P % | FPR % | F1 % |", "|---|---:|---:|---:|---:|---:|"]
    lines += [_row(m, c) for c in D.CLASSES]
    v, s = m["veb"], m["sveb"]
    tail = (f"\nmacro-F1 **{f(m['macro_f1'], 0)}**, accuracy {f(m['accuracy'], 0)} % ({m['n_beats']} beats); "
            f"EC57 VEB Se {f(v['se'], 0)} / +P {f(v['ppv'], 0)} (reference F called V not counted), "
            f"SVEB Se {f(s['se'], 0)} / +P {f(s['ppv'], 0)}")
    if "scoring" in m:
        q, sc = m["qrs"], m["scoring"]
        tail += (f"; QRS detector Se {f(q['se'], 0)} %, +P {f(q['ppv'], 0)} % ({q['tp']} matched, {q['fn']} "
                 f"missed, {q['fp']} false; from {sc['from_seconds']:g} s, {sc['match_ms']} ms window)")
    return "\n".join(lines) + "\n" + tail


def _targets(res) -> str:
    q, f = res["int8"]["DS2"], res["float"]["DS2"]
    c = res["config"]
    qc = q["classes"]
    rows = [
        ("V Se >= 90", qc["V"]["se"], (qc["V"]["se"] or 0) >= 90),
        ("V +P >= 90", qc["V"]["ppv"], (qc["V"]["ppv"] or 0) >= 90),
        ("S Se >= 75", qc["S"]["se"], (qc["S"]["se"] or 0) >= 75),
        ("S +P >= 45", qc["S"]["ppv"], (qc["S"]["ppv"] or 0) >= 45),
        ("int8 vs float macro-F1 within 1.5 points", round(q["macro_f1"] - f["macro_f1"], 2),
         abs(q["macro_f1"] - f["macro_f1"]) <= 1.5),
        ("int8 >= 4x smaller than the float model (.keras file)",
         round(c["keras_file_bytes"] / c["int8_bytes"], 2), c["keras_file_bytes"] >= 4 * c["int8_bytes"]),
        ("int8 >= 4x smaller than the float32 .tflite", c["int8_vs_float_size"], c["int8_vs_float_size"] >= 4),
        ("int8 flash <= 64 KB", c["int8_bytes"], c["int8_bytes"] <= 65536),
        ("working memory <= 32 KB (tflite_micro arena, host)", c["tflm_arena_bytes_host"],
         c["tflm_arena_bytes_host"] <= 32768),
        ("<= 2 M MACs per beat", c["macs_per_beat"], c["macs_per_beat"] <= 2_000_000),
    ]
    out = ["| target (int8 model, DS2) | value | met |", "|---|---:|:---:|"]
    out += [f"| {n} | {v} | {'yes' if ok else '**no**'} |" for n, v, ok in rows]
    return "\n".join(out)


def write_model_readme(out_dir, res: dict, command: str) -> None:
    """models/<name>/README.md: how it was made and what it scores, from metrics.json."""
    c = res["config"]
    f, q = res["float"], res["int8"]
    txt = f"""# {Path(out_dir).name}: MIT-BIH beat classifier (N, S, V, F)

Generated by `tools/train.py` from `metrics.json`; every figure below is in that file.

## How it was made

```
{c.get('command', command)}
```
base seed {c['seed']}: seeds {[x['seed'] for x in c['history']['candidates']]} were trained and seed
**{c['history']['seed']}** kept, chosen on the DS1 validation patients only (mean F1 of
{'/'.join(c['select_classes'])}: {c['history']['candidates']}); {c['threads']} TensorFlow threads.
Training (data loading, all seeds, int8 conversion) took **{res['train_seconds']:.0f} s** on the
2-core build machine.

- Data: MIT-BIH Arrhythmia Database, lead MLII, through the fixed-point chain of
  `docs/preprocessing.md` with the reference R peaks (128-sample window at 180 Hz,
  8 integer RR features). Paced records 102, 104, 107, 217 excluded.
- Split (inter-patient, de Chazal 2004): trained on DS1 records {c['train_records']},
  validation patients {c['val_records']} (monitoring and the choice of seed), **tested on DS2** {c['test_records']}.
  No DS2 beat is used for training, validation, or the quantization calibration set.
- Model: {c['model']} -> {c['params']} parameters, **{c['macs_per_beat']:,} MACs per beat**.
- Training: {c['epochs']} epochs, Adam{'W' if c.get('weight_decay') else ''} lr {c['lr']} with cosine decay,
  final weights kept; class weights {c['history']['class_weights']} (N, S, V, F);
  random gain x0.7-1.4 and offset augmentation.
- Quantization: full int8 (int8 input and output, per-channel weights), post-training,
  calibrated on 1000 DS1 training beats (stratified by class).
- Sizes: int8 `.tflite` **{c['int8_bytes']} B**; float: `.keras` {c['keras_file_bytes']} B
  ({c['keras_file_bytes'] / c['int8_bytes']:.1f}x the int8 file), float32 `.tflite`
  {c['float_tflite_bytes']} B ({c['int8_vs_float_size']}x). tflite_micro arena (host build):
  {c['tflm_arena_bytes_host']} B.

## Targets

{_targets(res)}
{"" if not (Path(out_dir) / "NOTES.md").is_file() else chr(10) + "What limits the figures, and how they were arrived at: [NOTES.md](NOTES.md)." + chr(10)}
## DS2, inter-patient, reference R peaks (the EC57 / de Chazal protocol)

int8 model on the `tflite_micro` interpreter, fed the device's integer-requantized inputs:

{_table(q['DS2'])}

float model:

{_table(f['DS2'])}

Confusion matrices: `confusion_int8_DS2.png`, `confusion_float_DS2.png` (rows = reference).

## DS2 with the project's own QRS detector (whole device chain)

Scored the EC57 way (`tinyecg.ec57`: 150 ms matching, from minute 5, as `tools/stream.py`
scores the device): missed reference beats count as false negatives of their class, extra
detections as false positives of the class the model gave them.

int8:

{_table(q['DS2_own_detector'])}

float:

{_table(f['DS2_own_detector'])}
"""
    if "intra_patient" in q:
        txt += f"""
## Intra-patient random-beat split (NOT comparable: same patients in train and test)

Quoted because much of the literature reports it. A separate model of the same
architecture (`intra_patient/`) trained on 70 % of all DS1+DS2 beats, tested on a random 20 %.

int8:

{_table(q['intra_patient'])}

float:

{_table(f['intra_patient'])}
"""
    txt += """
## Reproduce the figures

```
python tools/evaluate.py --model models/arrhythmia/model_int8.tflite          # int8, DS2
python tools/evaluate.py --model models/arrhythmia/model.keras                # float, DS2
python tools/evaluate.py --model models/arrhythmia/model_int8.tflite --detector --per-record
```

All figures come from `tinyecg.ec57`. The per-class rows are the plain confusion-matrix
figures (a reference F beat called V counts against V +P); the EC57 VEB and SVEB lines apply
the standard's exceptions (reference F and Q beats called V are not VEB false positives).
Undefined figures (nothing to divide by) print as "-". Q beats (7 in DS2) are neither
trained nor scored per class; each record's first and last annotated beat have no
pre- or post-RR interval and are not classified (the device does the same).
"""
    (Path(out_dir) / "README.md").write_text(txt)
