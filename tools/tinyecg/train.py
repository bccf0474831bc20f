"""Training: MIT-BIH DS1 beats through the fixed-point chain into a float teacher
ensemble, distilled into the small int8 student that ships.

The recipe (:func:`run`), every step on DS1 only:

1. **Cross-validation** (:mod:`tinyecg.cv`): for each of five groups of DS1
   patients, a teacher network is trained on the other four groups, a student
   is distilled from it on the same beats, and both predict the held-out
   patients (reference R peaks, and the whole chain with the own QRS
   detector). These out-of-fold figures are the numbers every choice of the
   recipe was made on.
2. **Teacher**: the ensemble of the five fold teachers (each saw 80 % of DS1).
3. **Student**: distilled from the ensemble on all of DS1: soft targets at a
   temperature plus the labels (:func:`distill_loss`).
4. **Calibration** of the ``uncertain`` flag on the out-of-fold predictions:
   a temperature (folded into the student's last layer, so the device's int8
   softmax is the calibrated probability) and a confidence threshold
   (:mod:`tinyecg.calibrate`).
5. **Quantization** to full int8 (calibration beats from DS1) and the test on
   DS2, once: teacher, float student and int8 student.

:func:`check_training_records` / :func:`tinyecg.cv.check_records` refuse any
DS2 record for training, selection or calibration. The intra-patient
random-beat split (:func:`train_intra_patient`, off by default) is trained only
because the literature quotes it and is labelled as such.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import cv
from . import data as D
from . import ec57
from . import features as F
from . import preprocess as P
from .errors import TinyEcgError
from .model import ModelConfig, TeacherConfig, mask_feature_weights

CLASS_INDEX = {c: i for i, c in enumerate(D.CLASSES)}
NC = len(D.CLASSES)


@dataclass
class TrainConfig:
    seed: int = 1
    records: tuple = D.DS1               # the training patients; the folds partition them
    folds: tuple = cv.FOLDS
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    teacher_epochs: int = 16
    teacher_lr: float = 2e-3
    student: ModelConfig = field(default_factory=ModelConfig)
    student_epochs: int = 20
    student_lr: float = 3e-3
    distill_temperature: float = 3.0     # soft targets: softmax(teacher logits / T)
    distill_alpha: float = 0.7           # loss = alpha * T^2 * CE(soft) + (1 - alpha) * CE(labels)
    batch: int = 256
    n_frac: float = 0.35                 # share of the N beats drawn for each epoch (all S, V, F beats)
    class_weight_power: float = 1.0      # weight = (n_max / n_c) ** power ...
    class_weight_max: float = 30.0       # ... capped
    class_weight_scale: tuple = (1.0, 1.0, 1.0, 0.1)   # extra per-class factor (N, S, V, F):
                                         # DS1's F beats are 90 % one patient (208); a full F weight
                                         # makes the model call other patients' N beats F
    features: tuple | None = None        # names of the features the networks read (None: all n_feat);
                                         # the others are zero in training and get zero weights, so the
                                         # device still computes and sends all of them
    augment: bool = True                 # random gain x0.7..1.4 (both channels), offset (beat channel)
    shift: int = 0                       # + a random R misplacement of up to `shift` samples (180 Hz)
    uncertain_max_flagged_pct: float = 8.0   # the threshold may flag at most this share of DS1 beats
    detector_eval: bool = True           # also score the whole chain with the own QRS detector
    test_records: tuple = D.DS2
    intra_patient: bool = False
    threads: int = 2

    def to_dict(self):
        d = asdict(self)
        for k in ("records", "test_records", "class_weight_scale"):
            d[k] = list(d[k])
        d["features"] = None if self.features is None else list(self.features)
        d["folds"] = [list(f) for f in self.folds]
        return d


def quick_config(seed: int = 1) -> TrainConfig:
    """CI: six DS1 records in two folds, tiny networks, two epochs -- tests the pipeline, not the accuracy."""
    return TrainConfig(seed=seed, records=(106, 119, 208, 209, 220, 223), folds=((106, 209, 223), (119, 208, 220)),
                       teacher=TeacherConfig(width=4, depth=2, rr_units=8, dense=16), teacher_epochs=2,
                       student=ModelConfig(width=4, depth=3, rr_units=8, dense=16), student_epochs=2)


def check_training_records(records) -> None:
    cv.check_records(records, "training")


#: Bump when record_beats changes what it returns (the chain's own modules are hashed).
BEATS_VERSION = 1


def _beats_cache_key(rec, detector: bool) -> str:
    """Cache key of a record's chain outputs: the record files and the code that computes them."""
    import hashlib
    h = hashlib.sha256(f"{rec}:{int(detector)}:{BEATS_VERSION}".encode())
    here = Path(__file__).resolve().parent
    for mod in ("data.py", "preprocess.py", "qrs.py", "features.py"):
        h.update((here / mod).read_bytes())
    return h.hexdigest()[:16]


def record_beats(rec: int, data_dir=None, detector: bool = False, cache: bool = True) -> dict:
    """Chain outputs of one record: windows, feats, diff and extra (tinyecg.features),
    pre/post RR, r (j), raw r, labels.

    With detector=False the reference annotations give the R positions
    (training); with detector=True the integer QRS detector does, and labels
    are -1 (matching happens in evaluate). Results are cached in
    ``<cache dir>/beats`` keyed by the record files and the chain's code.
    """
    R = D.load_record(rec, data_dir)
    path = None
    if cache:
        st = [(D.resolve_data_dir(data_dir) / f"{rec}.{e}").stat() for e in ("dat", "atr")]
        key = _beats_cache_key(f"{rec}:{[(s.st_size, s.st_mtime_ns) for s in st]}", detector)
        path = D.default_cache_dir() / "beats" / f"{rec}-{'det' if detector else 'ref'}-{key}.npz"
        if path.is_file():
            try:
                with np.load(path) as z:
                    out = {k: z[k] for k in z.files}
                return {**out, "ref_r": P.raw_to_j(R.r_samples), "ref_r_raw": R.r_samples, "ref_sym": R.symbols}
            except (OSError, ValueError):
                pass                                   # a damaged cache file is recomputed
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
    diff, extra = F.features_block(b)
    out = dict(windows=b["windows"], diff=diff, feats=b["feats"], extra=extra, pre=b["pre"], post=b["post"],
               r=b["r"], y=y, rec=np.full(len(b["r"]), int(rec), dtype=np.int64), n_w=np.int64(len(w)))
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, **out)
            tmp.replace(path)
        except OSError:
            pass                                       # a read-only cache only costs time
    return {**out, "ref_r": P.raw_to_j(R.r_samples), "ref_r_raw": R.r_samples, "ref_sym": R.symbols}


#: Per-beat arrays of a dataset (record_beats' keys that build_dataset concatenates).
BEAT_KEYS = ("windows", "diff", "feats", "extra", "pre", "post", "r", "y", "rec")


def build_dataset(records, data_dir=None, keep_unlabelled: bool = False) -> dict:
    """Concatenate record_beats over records; Q beats dropped unless keep_unlabelled."""
    parts = [record_beats(r, data_dir) for r in records]
    out = {k: np.concatenate([p[k] for p in parts]) for k in BEAT_KEYS}
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


def class_weights(y, cfg: TrainConfig) -> np.ndarray:
    """Per-class loss weights: (n_max / n_c) ** power, capped, times the per-class scale."""
    counts = np.bincount(y, minlength=NC).astype(np.float64)
    counts[counts == 0] = 1
    return np.minimum((counts.max() / counts) ** cfg.class_weight_power, cfg.class_weight_max) \
        * np.asarray(cfg.class_weight_scale)


def feature_mask(cfg: TrainConfig, n_feat: int) -> np.ndarray:
    """1.0 for the features cfg.features names (all when None), 0.0 for the others."""
    if cfg.features is None:
        return np.ones(n_feat, dtype=np.float32)
    names = list(F.FEATURE_NAMES[:n_feat])
    unknown = [f for f in cfg.features if f not in names]
    if unknown:
        raise TinyEcgError(f"unknown feature(s) {unknown}; the model's features are {names}")
    return np.array([1.0 if n in cfg.features else 0.0 for n in names], dtype=np.float32)


def distill_loss(temperature: float, alpha: float, n_classes: int = NC):
    """Loss on the logits; y_true = [one-hot label, soft target] (n, 2C).

    (1 - alpha) * CE(label, softmax(z)) + alpha * T^2 * CE(soft, softmax(z / T)): Hinton's
    distillation (cross-entropy with the soft targets has KL's gradients). alpha = 0 is
    plain training on the labels."""
    import keras

    def loss(y_true, logits):
        hard = keras.losses.categorical_crossentropy(y_true[:, :n_classes], logits, from_logits=True)
        if alpha <= 0:
            return hard
        soft = keras.losses.categorical_crossentropy(y_true[:, n_classes:], logits / temperature, from_logits=True)
        return (1.0 - alpha) * hard + alpha * temperature * temperature * soft
    return loss


def _epoch_subset(y, rng, n_frac: float) -> np.ndarray:
    """All S, V, F beats and a fresh random n_frac of the N beats (sorted indices)."""
    idx_n, other = np.flatnonzero(y == 0), np.flatnonzero(y != 0)
    if n_frac < 1 and len(idx_n):
        idx_n = rng.choice(idx_n, size=max(1, int(round(len(idx_n) * n_frac))), replace=False)
    return np.sort(np.concatenate([idx_n, other]))


def _augment(wave, rng, shift: int) -> np.ndarray:
    """Random gain (both channels), offset (beat channel) and R misplacement of float waves (n, 128, C)."""
    wave = wave.copy()
    n = len(wave)
    if shift:
        d = rng.integers(-shift, shift + 1, size=n)
        for s in np.unique(d[d != 0]):
            m = d == s
            moved = np.roll(wave[m, :, 0], s, axis=1)
            if wave.shape[-1] > 1:          # the template stays where it was
                wave[m, :, 1] += moved - wave[m, :, 0]
            wave[m, :, 0] = moved
    wave *= rng.uniform(0.7, 1.4, size=(n, 1, 1)).astype(np.float32)
    wave[..., 0] += rng.normal(0, 0.05, size=(n, 1)).astype(np.float32)
    return wave


def fit_network(build, ds: dict, cfg: TrainConfig, epochs: int, lr: float, seed: int, soft=None,
                progress: bool = True, desc: str = "train"):
    """Train a network from ``build()`` on a dataset; returns (model, history).

    Cosine-decayed Adam, the final weights kept (no epoch is chosen on held-out
    data). Every epoch sees all S/V/F beats and a fresh share of the N beats,
    with class weights. With ``soft`` (n, C) teacher probabilities at
    cfg.distill_temperature, the loss is :func:`distill_loss`.
    """
    tf, keras = _setup_tf(seed, cfg.threads)
    from tqdm import tqdm

    from .model import logits_model
    model = build()
    net = logits_model(model)
    alpha = cfg.distill_alpha if soft is not None else 0.0
    net.compile(optimizer=keras.optimizers.Adam(lr), loss=distill_loss(cfg.distill_temperature, alpha))
    rng = np.random.default_rng(seed)
    channels, n_feat = model.inputs[0].shape[-1], model.inputs[1].shape[-1]
    wave, feats = F.to_float(*F.inputs(ds), channels, n_feat)
    mask = feature_mask(cfg, n_feat)
    feats = feats * mask                 # unused features: zero input, so their weights get no gradient
    y = ds["y"]
    onehot = np.eye(NC, dtype=np.float32)[y]
    target = np.concatenate([onehot, onehot if soft is None else np.asarray(soft, dtype=np.float32)], axis=1)
    cw = class_weights(y, cfg)
    hist = []
    bar = tqdm(range(epochs), desc=desc, unit="epoch", disable=not progress, dynamic_ncols=True)
    for ep in bar:
        lr_ep = lr * 0.5 * (1 + math.cos(math.pi * ep / epochs))
        net.optimizer.learning_rate.assign(lr_ep)
        sel = _epoch_subset(y, rng, cfg.n_frac)
        sw = cw[y[sel]].astype(np.float32)
        sw[y[sel] == 0] /= min(cfg.n_frac, 1.0)
        sw /= sw.mean()
        xw = _augment(wave[sel], rng, cfg.shift) if cfg.augment else wave[sel]
        h = net.fit([xw, feats[sel]], target[sel], sample_weight=sw, batch_size=cfg.batch, epochs=1,
                    verbose=0, shuffle=True)
        loss = float(h.history["loss"][-1])
        hist.append({"epoch": ep + 1, "loss": round(loss, 4), "beats": int(len(sel))})
        bar.set_postfix(loss=f"{loss:.3f}", lr=f"{lr_ep:.1e}")
    mask_feature_weights(model, mask)    # ... and none at all: the network ignores them on any input
    return model, {"epochs": hist, "class_weights": [round(float(v), 3) for v in cw]}


def predict_logits(model, wave, feats) -> np.ndarray:
    """Logits (n, C) of a float network on integer inputs (``features.inputs``)."""
    from .model import logits_model
    if len(wave) == 0:
        return np.zeros((0, NC), dtype=np.float32)
    xw, xf = F.to_float(wave, feats, model.inputs[0].shape[-1], model.inputs[1].shape[-1])
    return logits_model(model).predict([xw, xf], batch_size=4096, verbose=0)


def softmax(z, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64) / temperature
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def ensemble_probs(models, wave, feats, temperature: float = 1.0) -> np.ndarray:
    """Mean over the members of softmax(logits / T): the teacher's (soft) output."""
    return np.mean([softmax(predict_logits(m, wave, feats), temperature) for m in models], axis=0)


#: Bump when the way a teacher is trained changes (cached teachers are then retrained).
TEACHER_VERSION = 1


def _teacher_cache_path(cfg: TrainConfig, records, seed: int) -> Path:
    """Where a fold teacher is cached: keyed by everything that determines it -- its
    configuration and training settings, the seed, its records and their chain outputs."""
    import hashlib
    key = {"v": TEACHER_VERSION, "teacher": cfg.teacher.to_dict(), "epochs": cfg.teacher_epochs,
           "lr": cfg.teacher_lr, "batch": cfg.batch, "n_frac": cfg.n_frac, "power": cfg.class_weight_power,
           "max": cfg.class_weight_max, "scale": list(cfg.class_weight_scale), "augment": cfg.augment,
           "shift": cfg.shift, "seed": seed, "records": sorted(int(r) for r in records),
           # a feature subset changes the teacher; without one the key (and the cache) is as before
           **({"features": sorted(cfg.features)} if cfg.features is not None else {}),
           "beats": _beats_cache_key("all", False)}
    h = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return D.default_cache_dir() / "teachers" / f"teacher-{h}.keras"


def train_teacher(cfg: TrainConfig, ds: dict, seed: int, progress=True, desc="teacher", records=None):
    """One teacher network on a dataset (hard labels). With `records`, the trained network is
    cached (``<cache dir>/teachers``) and reused by a later run with the same settings
    (e.g. the same cross-validation with another student)."""
    import keras

    from .model import build_teacher
    path = _teacher_cache_path(cfg, records, seed) if records is not None else None
    if path is not None and path.is_file():
        try:
            return keras.models.load_model(path, compile=False), {"cached": str(path)}
        except Exception:
            pass                                       # unreadable: train it again
    model, hist = fit_network(lambda: build_teacher(cfg.teacher), ds, cfg, cfg.teacher_epochs, cfg.teacher_lr,
                              seed, progress=progress, desc=desc)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.stem + ".tmp.keras")
            model.save(tmp, include_optimizer=False)
            tmp.replace(path)
        except OSError:
            pass
    return model, hist


def distill_student(cfg: TrainConfig, ds: dict, teachers, seed: int, progress=True, desc="student"):
    """The student, trained on the labels and the teacher ensemble's soft targets."""
    from .model import build_model
    soft = ensemble_probs(teachers, *F.inputs(ds), cfg.distill_temperature)
    return fit_network(lambda: build_model(cfg.student), ds, cfg, cfg.student_epochs, cfg.student_lr, seed,
                       soft=soft, progress=progress, desc=desc)


def _rep_subset(ds: dict, seed: int, n: int = 1000):
    """Representative set for PTQ: n training beats (integer inputs), stratified so rare classes appear."""
    rng = np.random.default_rng(seed + 7)
    idx = []
    for c in range(NC):
        cand = np.flatnonzero(ds["y"] == c)
        k = min(len(cand), max(n // 8, int(n * len(cand) / len(ds["y"]))))
        idx.append(rng.choice(cand, size=k, replace=False) if k else cand[:0])
    return F.inputs(ds, np.concatenate(idx))


def quantize_student(model, ds: dict, seed: int, out_path=None) -> bytes:
    from .quantize import quantize_keras
    return quantize_keras(model, F.to_float(*_rep_subset(ds, seed), model.inputs[0].shape[-1],
                                            model.inputs[1].shape[-1]), out_path)


# ---------------------------------------------------------------- the recipe
def _eval_all(clf, ds: dict, records, cfg: TrainConfig, data_dir, progress, desc) -> dict:
    """Reference-R-peak and whole-chain (own detector) EC57 figures of one classifier."""
    from . import evaluate as E
    out = {"reference_r": E.evaluate_dataset(clf, ds, progress=progress, desc=f"{desc} reference R")}
    if cfg.detector_eval:
        out["own_detector"] = E.evaluate_with_detector(clf, records, data_dir, progress=progress)
    return out


def _fold_summary(per_fold: list, key: str) -> dict:
    stats = [f[key] for f in per_fold]
    pooled = ec57.gross([s["matrix"] for s in stats])
    per_record = {rec: row for s in stats for rec, row in s.get("per_record", {}).items()}
    return {"summary": cv.summarize(stats, pooled), "pooled": pooled,
            "per_fold": [{k: v for k, v in s.items() if k not in ("per_record",)} for s in stats],
            "per_record": dict(sorted(per_record.items()))}   # each DS1 patient, out of fold


def cross_validate(cfg: TrainConfig, data_dir=None, progress=True, log=print) -> dict:
    """Step 1: per fold, teacher and distilled student on the other folds; held-out predictions."""
    from . import evaluate as E
    cv.check_folds(cfg.folds) if tuple(sorted(cfg.records)) == tuple(sorted(D.DS1)) else None
    folds = []
    for k in range(len(cfg.folds)):
        t0 = time.time()
        tr_recs, te_recs = cv.split(k, cfg.folds, cfg.records)
        tr, te = build_dataset(tr_recs, data_dir), build_dataset(te_recs, data_dir)
        log(f"fold {k + 1}/{len(cfg.folds)}: train {list(tr_recs)} ({len(tr['y'])} beats), "
            f"held out {list(te_recs)} ({len(te['y'])} beats)")
        teacher, th = train_teacher(cfg, tr, cfg.seed + 100 * k, progress, f"fold {k + 1} teacher", tr_recs)
        student, sh = distill_student(cfg, tr, [teacher], cfg.seed + 100 * k + 1, progress, f"fold {k + 1} student")
        wave, feats = F.inputs(te)
        fold = {"k": k, "train_records": list(tr_recs), "held_out": list(te_recs), "teacher": teacher,
                "student": student, "train": tr, "te": te, "history": {"teacher": th, "student": sh},
                "student_logits": predict_logits(student, wave, feats)}
        fold["stats_teacher"] = _eval_all(E.EnsembleClassifier([teacher]), te, te_recs, cfg, data_dir, progress,
                                          f"fold {k + 1} teacher")
        fold["stats_student_float"] = _eval_all(E.KerasClassifier(student), te, te_recs, cfg, data_dir, progress,
                                                f"fold {k + 1} student")
        fold["seconds"] = round(time.time() - t0, 1)
        m = fold["stats_student_float"]["reference_r"]
        log(f"fold {k + 1}: float student S {m['classes']['S']['se']}/{m['classes']['S']['ppv']}, "
            f"V {m['classes']['V']['se']}/{m['classes']['V']['ppv']}, macro-F1 NSV {m['macro_f1_nsv']} "
            f"({fold['seconds']:.0f} s)")
        folds.append(fold)
    return folds


def _cv_int8(cfg: TrainConfig, folds: list, temperature: float, data_dir, progress) -> None:
    """Fold students with the calibration temperature, quantized: int8 held-out scores and figures."""
    from . import evaluate as E
    from .model import fold_temperature
    for f in folds:
        fold_temperature(f["student"], temperature)
        blob = quantize_student(f["student"], f["train"], cfg.seed)
        clf = E.TfliteClassifier(blob)
        f["student_int8_scores"] = clf.scores(*F.inputs(f["te"]))
        f["student_int8_conf"] = clf.confidence(f["student_int8_scores"])
        f["stats_student_int8"] = _eval_all(clf, f["te"], f["held_out"], cfg, data_dir, progress,
                                            f"fold {f['k'] + 1} int8")
        f["int8_bytes"] = len(blob)


def _sizes(teachers, student, blob: bytes, out: Path) -> dict:
    from .model import count_macs
    from .quantize import float_tflite, min_arena_bytes
    t_params = int(sum(m.count_params() for m in teachers))
    t_bytes = int(sum(4 * m.count_params() for m in teachers))
    s_params = int(student.count_params())
    return {
        "teacher": {"members": len(teachers), "params": t_params, "float32_bytes": t_bytes,
                    "params_per_member": int(teachers[0].count_params()),
                    "macs_per_beat": int(sum(count_macs(m) for m in teachers))},
        "student": {"params": s_params, "float32_bytes": 4 * s_params, "macs_per_beat": count_macs(student),
                    "int8_tflite_bytes": len(blob), "float32_tflite_bytes": len(float_tflite(student)),
                    "keras_file_bytes": (out / "model.keras").stat().st_size,
                    "tflm_arena_bytes_host": min_arena_bytes(blob)},
        "compression": {"teacher_float32_over_student_int8_tflite": round(t_bytes / len(blob), 1),
                        "teacher_params_over_student_params": round(t_params / s_params, 1)},
    }


@dataclass
class Trained:
    """What :func:`train_recipe` produces from DS1 alone: everything that ships."""
    cfg: TrainConfig
    folds: list
    teachers: list
    student: object                  # float Keras student, calibration temperature folded in
    blob: bytes                      # the int8 .tflite that ships
    calibration: dict
    oof_conf: np.ndarray             # out-of-fold int8 confidences and errors (DS1)
    oof_wrong: np.ndarray
    student_history: dict
    seconds: dict


def train_recipe(cfg: TrainConfig, out_dir, data_dir=None, progress: bool = True, log=print) -> Trained:
    """Steps 1-5 of the recipe (module docstring), on cfg.records only: cross-validation,
    teacher ensemble, distilled student, calibration, int8. Writes model.keras,
    model_int8.tflite and calibration.json to out_dir. No test record is read here."""
    from . import calibrate as C
    from .model import fold_temperature

    check_training_records(cfg.records)
    for f in cfg.folds:
        check_training_records(f)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    seconds = {}

    # 1. cross-validation inside DS1
    folds = cross_validate(cfg, data_dir, progress, log)
    seconds["cross_validation"] = round(time.time() - t0, 1)
    teachers = [f["teacher"] for f in folds]

    # 2-3. the teacher ensemble and the student distilled from it on all training patients
    t1 = time.time()
    ds = build_dataset(cfg.records, data_dir)
    counts = {c: int(n) for c, n in zip(D.CLASSES, np.bincount(ds["y"], minlength=NC))}
    log(f"final student on {len(cfg.records)} records, {len(ds['y'])} beats {counts}, "
        f"teacher = ensemble of the {len(teachers)} fold teachers")
    student, s_hist = distill_student(cfg, ds, teachers, cfg.seed + 7, progress, "final student")
    seconds["final_student"] = round(time.time() - t1, 1)

    # 4. calibration on the out-of-fold predictions
    oof_y = np.concatenate([f["te"]["y"] for f in folds])
    temperature = C.fit_temperature(np.concatenate([f["student_logits"] for f in folds]), oof_y)
    _cv_int8(cfg, folds, temperature, data_dir, progress)
    oof_scores = np.concatenate([f["student_int8_scores"] for f in folds])
    oof_conf = np.concatenate([f["student_int8_conf"] for f in folds])
    oof_wrong = oof_scores.argmax(axis=1) != oof_y
    threshold, th_stats = C.choose_threshold(oof_conf, oof_wrong, cfg.uncertain_max_flagged_pct)
    log(f"calibration (DS1 out-of-fold): temperature {temperature:.3f}, uncertain below {threshold}/256 "
        f"flags {th_stats['flagged_pct']} % (error rate {th_stats['error_rate_flagged_pct']} % flagged vs "
        f"{th_stats['error_rate_unflagged_pct']} %)")

    # 5. int8 student
    fold_temperature(student, temperature)
    student.save(out / "model.keras")
    blob = quantize_student(student, ds, cfg.seed, out / "model_int8.tflite")
    calibration = {"model_id": C.Int8Model(blob).model_id, "rule": "cv_max_flagged_youden",
                   "temperature": round(temperature, 4), "uncertain_below": int(threshold),
                   "records": [int(r) for r in cfg.records], "beats": int(len(oof_y)),
                   "max_flagged_pct": cfg.uncertain_max_flagged_pct, **th_stats,
                   "note": f"out-of-fold int8 scores of the {len(folds)} fold students (DS1 patients each "
                           "fold never saw)"}
    (out / C.CALIBRATION_NAME).write_text(json.dumps(calibration, indent=1) + "\n")
    seconds["training_total"] = round(time.time() - t0, 1)
    return Trained(cfg, folds, teachers, student, blob, calibration, oof_conf, oof_wrong, s_hist, seconds)


def _cv_results(cfg: TrainConfig, folds: list) -> dict:
    cvres = {"protocol": {"folds": [list(f) for f in cfg.folds], "criterion": cv.CRITERION,
                          "teacher": "one network per fold, trained on the other folds",
                          "student": "distilled from that fold's teacher on the other folds",
                          "student_int8": "that student with the calibration temperature, int8"},
             "folds": [{"k": f["k"] + 1, "held_out": f["held_out"], "train_records": f["train_records"],
                        "seconds": f["seconds"]} for f in folds]}
    for key in ("teacher", "student_float", "student_int8"):
        cvres[key] = {kind: _fold_summary([f[f"stats_{key}"] for f in folds], kind)
                      for kind in folds[0][f"stats_{key}"]}
    return cvres


def run(cfg: TrainConfig, out_dir, data_dir=None, progress: bool = True, log=print, command: str = "",
        test: bool = True) -> dict:
    """The full recipe: :func:`train_recipe` on DS1, then the test on cfg.test_records (DS2),
    once; writes metrics.json, README.md and the plots to out_dir, returns the metrics.
    test=False (development): no test record is read; the cross-validation figures go
    to out_dir/cv.json."""
    from . import calibrate as C
    from . import evaluate as E

    out = Path(out_dir)
    tr = train_recipe(cfg, out, data_dir, progress, log)
    folds, teachers, student, blob = tr.folds, tr.teachers, tr.student, tr.blob
    calibration, threshold, seconds = tr.calibration, tr.calibration["uncertain_below"], tr.seconds
    oof_conf, oof_wrong, s_hist = tr.oof_conf, tr.oof_wrong, tr.student_history
    cvres = _cv_results(cfg, folds)
    result = {
        "schema": "tinyecg.metrics/2",
        "classes": list(D.CLASSES),
        "inputs": {"wave": {"length": P.WIN, "channels": list(("beat", "beat minus template")[:cfg.student.wave_channels]),
                            "fs": P.FS, "pre": P.PRE, "post": P.POST},
                   "features": list(F.FEATURE_NAMES[:cfg.student.n_feat])},
        "recipe": {**cfg.to_dict(), "command": command or "python tools/train.py", "seconds": seconds,
                   "student_history": s_hist},
        "sizes": _sizes(teachers, student, blob, out),
        "cv": cvres,
        "int8_vs_float": {
            "cv_pooled_macro_f1_nsv": round(cvres["student_int8"]["reference_r"]["pooled"]["macro_f1_nsv"]
                                            - cvres["student_float"]["reference_r"]["pooled"]["macro_f1_nsv"], 2)},
        "uncertain": {"calibration": calibration, "cv_out_of_fold": C.flag_stats(oof_conf, oof_wrong, threshold)},
    }
    if not test:
        log(f"trained in {seconds['training_total']:.0f} s; no test (development run) -> {out / 'cv.json'}")
        (out / "cv.json").write_text(json.dumps(result, indent=1) + "\n")
        return result
    log(f"trained in {seconds['training_total']:.0f} s; testing on {len(cfg.test_records)} DS2 records (once)")

    # 6. DS2, once: teacher, float student, int8 student
    t2 = time.time()
    test_ds = build_dataset(cfg.test_records, data_dir)
    clfs = {"teacher": E.EnsembleClassifier(teachers), "student_float": E.KerasClassifier(student),
            "student_int8": E.TfliteClassifier(blob)}
    ds2 = {k: _eval_all(c, test_ds, cfg.test_records, cfg, data_dir, progress, f"DS2 {k}") for k, c in clfs.items()}
    test_scores = clfs["student_int8"].scores(*F.inputs(test_ds))
    test_conf = clfs["student_int8"].confidence(test_scores)
    test_wrong = test_scores.argmax(axis=1) != test_ds["y"]
    seconds["ds2_evaluation"] = round(time.time() - t2, 1)
    for k in ("teacher", "student_float", "student_int8"):
        E.plot_confusion(ds2[k]["reference_r"], out / f"confusion_{k}_DS2.png",
                         f"{k.replace('_', ' ')}, DS2 (inter-patient), reference R peaks")
    C.plot_risk_coverage({"DS1 out-of-fold (chosen here)": (oof_conf, oof_wrong), "DS2 (test)": (test_conf, test_wrong)},
                         threshold, out / "risk_coverage.png")
    result["ds2"] = ds2
    result["int8_vs_float"]["ds2_macro_f1_nsv"] = round(ds2["student_int8"]["reference_r"]["macro_f1_nsv"]
                                                        - ds2["student_float"]["reference_r"]["macro_f1_nsv"], 2)
    result["uncertain"]["ds2_reference_r"] = C.flag_stats(test_conf, test_wrong, threshold)
    if cfg.intra_patient:
        result["intra_patient"] = train_intra_patient(cfg, out, data_dir, progress)
    (out / "metrics.json").write_text(json.dumps(result, indent=1) + "\n")
    write_model_readme(out, result)
    return result


def intra_patient_split(records, seed: int, data_dir=None):
    """Random beat split over all given patients (70 % train / 10 % unused / 20 % test); NOT inter-patient."""
    ds = build_dataset(records, data_dir)
    rng = np.random.default_rng(seed + 1000)
    idx = rng.permutation(len(ds["y"]))
    n_test = len(idx) // 5
    n_val = len(idx) // 10
    test, val, tr = idx[:n_test], idx[n_test:n_test + n_val], idx[n_test + n_val:]
    take = lambda ii: {k: v[ii] for k, v in ds.items()}  # noqa: E731
    return take(tr), take(val), take(test)


def train_intra_patient(cfg: TrainConfig, out: Path, data_dir=None, progress=True) -> dict:
    """A student trained directly on a random beat split of all patients (DS1 + DS2): the
    literature's optimistic intra-patient protocol, labelled as such."""
    from . import evaluate as E
    from .model import build_model
    tr, _, te = intra_patient_split(tuple(D.DS1) + tuple(D.DS2), cfg.seed, data_dir)
    model, _ = fit_network(lambda: build_model(cfg.student), tr, cfg, cfg.student_epochs, cfg.student_lr,
                           cfg.seed, progress=progress, desc="intra-patient")
    idir = out / "intra_patient"
    idir.mkdir(exist_ok=True)
    model.save(idir / "model.keras")
    blob = quantize_student(model, tr, cfg.seed, idir / "model_int8.tflite")
    res = {"note": ("intra-patient random-beat split (70 % train, 20 % test of all DS1+DS2 beats, seed "
                    f"{cfg.seed + 1000}); the same patients are in train and test: optimistic, not comparable "
                    "with the inter-patient figures")}
    for key, clf in (("student_float", E.KerasClassifier(model)), ("student_int8", E.TfliteClassifier(blob))):
        res[key] = E.evaluate_dataset(clf, te, progress=progress, desc=f"intra {key}", per_record=False,
                                      sequential=False)
    return res


# ------------------------------------------------------------------ report
def _row(m, c):
    f = ec57.fmt
    s = m["classes"][c]
    return f"| {c} | {s['n']} | {f(s['se'], 0)} | {f(s['ppv'], 0)} | {f(s['fpr'], 0)} | {f(s['f1'], 0)} |"


def _table(m) -> str:
    f = ec57.fmt
    lines = ["| class | beats | Se % | +P % | FPR % | F1 % |", "|---|---:|---:|---:|---:|---:|"]
    lines += [_row(m, c) for c in D.CLASSES]
    v, s = m["veb"], m["sveb"]
    tail = (f"\nmacro-F1 **{f(m['macro_f1'], 0)}** (N, S, V: **{f(m['macro_f1_nsv'], 0)}**), accuracy "
            f"{f(m['accuracy'], 0)} % ({m['n_beats']} beats); EC57 VEB Se {f(v['se'], 0)} / +P {f(v['ppv'], 0)}, "
            f"SVEB Se {f(s['se'], 0)} / +P {f(s['ppv'], 0)}")
    if "scoring" in m:
        q = m["qrs"]
        tail += (f"; QRS detector Se {f(q['se'], 0)} %, +P {f(q['ppv'], 0)} % ({q['tp']} matched, {q['fn']} missed, "
                 f"{q['fp']} false; scored from {m['scoring']['from_seconds']:g} s)")
    return "\n".join(lines) + "\n" + tail


KEYS = (("teacher", "teacher (float ensemble)"), ("student_float", "student, float"),
        ("student_int8", "student, int8 (ships)"))
COMPARE = (("classes", "S", "se", "S Se"), ("classes", "S", "ppv", "S +P"), ("classes", "V", "se", "V Se"),
           ("classes", "V", "ppv", "V +P"), ("", "", "macro_f1_nsv", "macro-F1 N,S,V"))


def _get(m, group, cls, key):
    return (m[group][cls] if group else m)[key]


def _compare_table(res) -> str:
    """Teacher vs float student vs int8 student: CV (pooled; mean +- std over folds) and DS2."""
    f = ec57.fmt
    head = "| | " + " | ".join(label for _, _, _, label in COMPARE) + " |"
    lines = [head, "|---|" + "---:|" * len(COMPARE)]
    for kind, title in (("reference_r", "reference R peaks"), ("own_detector", "own QRS detector, from minute 5")):
        if kind not in res["ds2"]["student_int8"]:
            continue
        for key, label in KEYS:
            cvk = res["cv"][key][kind]
            cells = []
            for group, cls, stat, _ in COMPARE:
                name = f"{cls}_{stat}" if group else stat
                s = cvk["summary"].get(name) or {}
                cells.append(f"{f(s.get('pooled'), 0)} ({f(s.get('mean'), 0)} ± {f(s.get('std'), 0)})")
            lines.append(f"| CV, {title}: {label} | " + " | ".join(cells) + " |")
        for key, label in KEYS:
            m = res["ds2"][key][kind]
            lines.append(f"| **DS2**, {title}: {label} | "
                         + " | ".join(f(_get(m, g, c, s), 0) for g, c, s, _ in COMPARE) + " |")
    return "\n".join(lines)


def _targets(res) -> str:
    q = res["ds2"]["student_int8"].get("own_detector") or res["ds2"]["student_int8"]["reference_r"]
    z = res["sizes"]
    u = res["uncertain"]["ds2_reference_r"]
    spread = res.get("seed_spread", {}).get("ds2_student_int8_own_detector")
    rows = [
        ("V Se >= 92", q["classes"]["V"]["se"], (q["classes"]["V"]["se"] or 0) >= 92),
        ("V +P >= 92", q["classes"]["V"]["ppv"], (q["classes"]["V"]["ppv"] or 0) >= 92),
        ("S Se >= 80", q["classes"]["S"]["se"], (q["classes"]["S"]["se"] or 0) >= 80),
        ("S +P >= 75", q["classes"]["S"]["ppv"], (q["classes"]["S"]["ppv"] or 0) >= 75),
        ("macro-F1 N,S,V >= 85", q["macro_f1_nsv"], (q["macro_f1_nsv"] or 0) >= 85),
        ("uncertain: <= 10 % of DS2 beats flagged", u["flagged_pct"], u["flagged_pct"] <= 10),
        ("uncertain: flagged error rate >= 5x unflagged", u["error_ratio"], (u["error_ratio"] or 0) >= 5),
        ("int8 model flash <= 64 KB (.tflite)", z["student"]["int8_tflite_bytes"], z["student"]["int8_tflite_bytes"] <= 65536),
    ]
    if spread:
        for k in ("S_se", "S_ppv"):
            rows.append((f"5 seeds: {k.replace('_', ' ').replace('ppv', '+P').replace('se', 'Se')} spread <= 10 points",
                         spread[k]["range"], spread[k]["range"] <= 10))
    out = ["| target (DS2, int8 student, whole chain with the own QRS detector) | value | met |", "|---|---:|:---:|"]
    out += [f"| {n} | {v} | {'yes' if ok else '**no**'} |" for n, v, ok in rows]
    return "\n".join(out)


def write_model_readme(out_dir, res: dict) -> None:
    """models/<name>/README.md: how it was made and what it scores, from metrics.json."""
    r, z = res["recipe"], res["sizes"]
    cal, uc, ud = res["uncertain"]["calibration"], res["uncertain"]["cv_out_of_fold"], res["uncertain"]["ds2_reference_r"]
    t, s = z["teacher"], z["student"]
    notes = (Path(out_dir) / "NOTES.md").is_file()
    txt = f"""# {Path(out_dir).name}: MIT-BIH beat classifier (N, S, V, F)

Generated by `tools/train.py` from `metrics.json`; every figure below is in that file.
{"What limits the figures and how the recipe was chosen: [NOTES.md](NOTES.md)." + chr(10) if notes else ""}
## How it was made

```
{r['command']}
```

- Data: MIT-BIH Arrhythmia Database, lead MLII, through the fixed-point chain and the
  patient-adaptive stage of `docs/preprocessing.md` with the reference R peaks: the beat
  window and the beat minus the patient's running template (128 x 2 at 180 Hz) and 16
  integer features ({", ".join(res["inputs"]["features"])}). Paced records 102, 104, 107, 217 excluded.
- Trained on the DS1 patients {r['records']} only; **tested once on DS2** {r['test_records']}.
  No DS2 beat reaches training, selection, quantization or calibration.
- Cross-validation inside DS1 (the only basis of every choice): folds {r['folds']}.
- Teacher: the ensemble of the {t['members']} fold teachers ({r['teacher']}), {r['teacher_epochs']} epochs each,
  **{t['params']:,} parameters, {t['float32_bytes']:,} B float32**.
- Student (ships): {r['student']}, distilled from the teacher ensemble on all of DS1
  ({r['student_epochs']} epochs, soft targets at T = {r['distill_temperature']}, alpha {r['distill_alpha']}):
  **{s['params']:,} parameters, {s['macs_per_beat']:,} MACs per beat, int8 `.tflite` {s['int8_tflite_bytes']:,} B**
  (float32 `.tflite` {s['float32_tflite_bytes']:,} B; tflite_micro arena on the host {s['tflm_arena_bytes_host']:,} B).
  Compression: teacher float32 bytes / student int8 bytes = **{z['compression']['teacher_float32_over_student_int8_tflite']}x**
  ({z['compression']['teacher_params_over_student_params']}x the parameters).
- Both: Adam with cosine-decayed learning rate, final weights kept; each epoch all S, V, F beats and
  {round(100 * r['n_frac'])} % of the N beats, class weights (N, S, V, F) {r['student_history']['class_weights']};
  augmentation: gain x0.7-1.4, offset{f", R misplacement up to {r['shift']} samples" if r['shift'] else ""}.
- `uncertain`: temperature {cal['temperature']} folded into the student's last layer (fitted on the
  out-of-fold logits), flagged below {cal['uncertain_below']}/256 (chosen on the out-of-fold int8 scores:
  at most {cal['max_flagged_pct']} % of DS1 beats flagged, the best Youden J among those).
- Quantization: full int8 (per-channel weights), post-training, 1000 DS1 beats (stratified).
- Time on the 2-core build machine: {r['seconds']}.

## Targets

{_targets(res)}

## Teacher, float student, int8 student: cross-validation (DS1) and DS2

Cross-validation cells: pooled out-of-fold figure (mean ± standard deviation over the
{len(r['folds'])} folds). int8 minus float macro-F1 (N, S, V): CV {res['int8_vs_float']['cv_pooled_macro_f1_nsv']},
DS2 {res['int8_vs_float']['ds2_macro_f1_nsv']} points.

{_compare_table(res)}

## "Uncertain"

| | beats | flagged % | error rate flagged % | error rate not flagged % | ratio | errors caught % |
|---|---:|---:|---:|---:|---:|---:|
| DS1 out-of-fold (threshold chosen here) | {uc['beats']} | {uc['flagged_pct']} | {uc['error_rate_flagged_pct']} | {uc['error_rate_unflagged_pct']} | {uc['error_ratio']} | {uc['errors_flagged_pct']} |
| DS2, reference R peaks | {ud['beats']} | {ud['flagged_pct']} | {ud['error_rate_flagged_pct']} | {ud['error_rate_unflagged_pct']} | {ud['error_ratio']} | {ud['errors_flagged_pct']} |

Risk-coverage curves: `risk_coverage.png`.

## DS2, inter-patient, int8 student on `tflite_micro` (the device's integer inputs)

Reference R peaks (every beat matched, whole records):

{_table(res['ds2']['student_int8']['reference_r'])}
"""
    if "own_detector" in res["ds2"]["student_int8"]:
        txt += f"""
Whole chain with the project's own QRS detector (EC57: 150 ms matching, from minute 5):

{_table(res['ds2']['student_int8']['own_detector'])}
"""
    txt += f"""
Confusion matrices: `confusion_student_int8_DS2.png`, `confusion_student_float_DS2.png`,
`confusion_teacher_DS2.png` (rows = reference).
"""
    if "seed_spread" in res:
        txt += "\n## Seed spread\n\n" + seed_spread_table(res["seed_spread"]) + "\n"
    if "intra_patient" in res:
        txt += f"""
## Intra-patient random-beat split (NOT comparable: same patients in train and test)

{res['intra_patient']['note']}

{_table(res['intra_patient']['student_int8'])}
"""
    txt += """
## Reproduce the figures

```
python tools/evaluate.py --model models/arrhythmia/model_int8.tflite --detector --per-record   # int8, DS2
python tools/evaluate.py --model models/arrhythmia/model.keras --detector                      # float student
```

Per-class figures are the plain confusion-matrix ones (Q beats not scored); the EC57 VEB
and SVEB figures apply EC57's exceptions. Each record's first and last annotated beat have no
pre- or post-RR interval and are not classified (the device does the same).
"""
    (Path(out_dir) / "README.md").write_text(txt)


# ------------------------------------------------------------- seed spread
SPREAD_STATS = (("S", "se"), ("S", "ppv"), ("V", "se"), ("V", "ppv"))


def _spread_row(res: dict) -> dict:
    """The figures the seed spread compares, from one run's metrics."""
    row = {"seed": res["recipe"]["seed"]}
    for where, m in (("cv_student_int8_pooled", res["cv"]["student_int8"]["reference_r"]["pooled"]),
                     ("ds2_student_int8_reference_r", res["ds2"]["student_int8"]["reference_r"]),
                     ("ds2_student_int8_own_detector", res["ds2"]["student_int8"].get("own_detector"))):
        if m is not None:
            row[where] = {f"{c}_{k}": m["classes"][c][k] for c, k in SPREAD_STATS} | {"macro_f1_nsv": m["macro_f1_nsv"]}
    return row


def summarize_seeds(rows: list) -> dict:
    out = {"seeds": [r["seed"] for r in rows], "runs": rows}
    for where in ("cv_student_int8_pooled", "ds2_student_int8_reference_r", "ds2_student_int8_own_detector"):
        if not all(where in r for r in rows):
            continue
        out[where] = {}
        for key in [f"{c}_{k}" for c, k in SPREAD_STATS] + ["macro_f1_nsv"]:
            vals = [r[where][key] for r in rows if r[where][key] is not None]
            out[where][key] = {"min": min(vals), "max": max(vals), "range": round(max(vals) - min(vals), 2),
                               "mean": round(float(np.mean(vals)), 2)} if vals else None
    return out


def seed_spread_table(sp: dict) -> str:
    f = ec57.fmt
    lines = [f"The whole recipe (cross-validation, teacher ensemble, distillation, calibration) run with seeds "
             f"{sp['seeds']}; the first is the shipped model. Figures of the int8 student.", "",
             "| figure | " + " | ".join(f"{c} {'Se' if k == 'se' else '+P'}" for c, k in SPREAD_STATS)
             + " | macro-F1 N,S,V |", "|---|" + "---:|" * (len(SPREAD_STATS) + 1)]
    for where, title in (("cv_student_int8_pooled", "DS1 CV pooled"),
                         ("ds2_student_int8_reference_r", "DS2 reference R"),
                         ("ds2_student_int8_own_detector", "DS2 own detector")):
        if where not in sp:
            continue
        for r in sp["runs"]:
            lines.append(f"| {title}, seed {r['seed']} | " + " | ".join(f(v, 0) for v in r[where].values()) + " |")
        lines.append(f"| **{title}: min–max (range)** | " + " | ".join(
            f"{v['min']:.2f}–{v['max']:.2f} ({v['range']:.2f})" if v else "-" for v in sp[where].values()) + " |")
    return "\n".join(lines)


def seed_spread(cfg: TrainConfig, out_dir, n_seeds: int, data_dir=None, progress=True, log=print,
                command: str = "") -> dict:
    """Run the recipe with seeds cfg.seed+1 .. cfg.seed+n_seeds-1 into <out>/seeds/ (not shipped)
    and add the spread over all n_seeds runs (the shipped one first) to <out>/metrics.json."""
    out = Path(out_dir)
    main = json.loads((out / "metrics.json").read_text())
    if main["recipe"]["seed"] != cfg.seed:
        raise TinyEcgError(f"{out}/metrics.json was trained with seed {main['recipe']['seed']}, not {cfg.seed}")
    rows = [_spread_row(main)]
    for s in range(cfg.seed + 1, cfg.seed + n_seeds):
        sub = out / "seeds" / f"seed{s}"
        done = sub / "metrics.json"
        if done.is_file() and json.loads(done.read_text())["recipe"]["seed"] == s:
            res = json.loads(done.read_text())
        else:
            log(f"seed spread: seed {s} -> {sub}")
            res = run(TrainConfig(**{**asdict(cfg), "seed": s, "teacher": cfg.teacher, "student": cfg.student}),
                      sub, data_dir, progress, log, command)
        rows.append(_spread_row(res))
    main["seed_spread"] = summarize_seeds(rows)
    (out / "metrics.json").write_text(json.dumps(main, indent=1) + "\n")
    write_model_readme(out, main)
    return main["seed_spread"]
