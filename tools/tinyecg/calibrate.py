"""The beat pipeline's device configuration: input requantizers and the DS1-calibrated
``uncertain`` threshold, written as ``ecg_pipeline_config.h`` beside the generated model.

``firmware/src/stream.c`` includes that header when the model directory has
it.  It holds what the generated model code does not: the integer
``(mult, shift, zp)`` of each model input (``tinyecg.preprocess.InputQuant``,
docs/preprocessing.md section 6), where each input sits in the concatenated
input buffer, the class-score zero point and the confidence below which a beat
is flagged ``uncertain``.

Confidence of a beat = its top int8 softmax score minus the output zero point
(0..255, in units of 1/256 probability).  It is calibrated on DS1 only, never
DS2.  ``tools/train.py`` does it by cross-validation and stores the result
beside the model (``calibration.json``): a temperature fitted to the
out-of-fold logits of the fold students (:func:`fit_temperature`; it is folded
into the shipped model's last layer, so the device's int8 softmax is the
calibrated probability) and the threshold chosen on their out-of-fold int8
scores (:func:`choose_threshold`: at most a given share of beats flagged, the
best Youden J -- TPR - FPR of "flagged" as a detector of "wrong" -- among
those).  For a model without that file the threshold is calibrated here on the
model's own DS1 scores (:func:`calibrate`, Youden J).

    python -m tinyecg.calibrate --model models/arrhythmia/model_int8.tflite --out firmware/model

Results are cached by model hash in ``~/.cache/tinyecg`` (``$TINYECG_CACHE``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import data as D
from . import features as F
from . import preprocess as P
from .errors import TinyEcgError

HEADER_NAME = "ecg_pipeline_config.h"
#: The uncertain flag's calibration tools/train.py stores beside the model it trains.
CALIBRATION_NAME = "calibration.json"


@dataclass
class PipelineConfig:
    model_id: str
    quant: P.InputQuant
    wave_offset: int
    rr_offset: int
    n_classes: int
    score_zp: int
    uncertain_below: int
    calibration: dict = field(default_factory=dict)


class Int8Model:
    """The ``tflite_micro`` interpreter on the device's exact int8 inputs."""

    def __init__(self, blob: bytes, arena_size: int = 256 * 1024):
        from tflite_micro import runtime
        self.blob = bytes(blob)
        try:
            self.quant = P.InputQuant.from_tflite(self.blob)
            self.it = runtime.Interpreter.from_bytes(self.blob, arena_size=arena_size)
            out = self.it.get_output_details(0)
        except (ValueError, RuntimeError) as exc:
            raise TinyEcgError(f"not a beat-classifier int8 model: {exc}") from None
        qp = out["quantization_parameters"]
        if out["dtype"] != np.int8 or len(qp["scales"]) != 1:
            raise TinyEcgError("model output is not per-tensor int8")
        self.n_classes = int(np.prod(out["shape"]))
        self.score_zp = int(qp["zero_points"][0])
        self.score_scale = float(qp["scales"][0])
        if abs(self.score_scale * 256 - 1) > 1e-6:
            raise TinyEcgError(f"model output scale {self.score_scale} is not 1/256: not an int8 softmax")
        self.model_id = hashlib.sha256(self.blob).hexdigest()[:16]

    def inputs(self, wave, feats):
        """The int8 inputs (wave (n,128,C), rr (n,F)) the device feeds the model, from the
        integer ones (``features.inputs``)."""
        return self.quant.apply(wave, feats)

    def scores_q(self, qw, qf) -> np.ndarray:
        """int8 class scores (n, C) of int8 inputs."""
        out = np.zeros((len(qw), self.n_classes), dtype=np.int8)
        it, wi, ri = self.it, self.quant.wave_index, self.quant.rr_index
        for i in range(len(qw)):
            it.set_input(np.asarray(qw[i], dtype=np.int8)[None], wi)
            it.set_input(np.asarray(qf[i], dtype=np.int8)[None], ri)
            it.invoke()
            out[i] = np.asarray(it.get_output(0)).reshape(-1)
        return out

    def scores(self, wave, feats) -> np.ndarray:
        return self.scores_q(*self.inputs(wave, feats))

    def confidence(self, scores) -> np.ndarray:
        s = np.asarray(scores, dtype=np.int64)
        return np.clip(s.max(axis=1) - self.score_zp, 0, 255)


def reference_beats(rec, data_dir=None) -> tuple[dict, np.ndarray]:
    """Chain beats (with the patient-adaptive inputs) at the reference R positions of a
    record, and their AAMI class index (-1 for Q / unclassifiable). Exactly what the
    device computes for those R positions."""
    from .train import record_beats
    b = record_beats(rec, data_dir)
    return b, b["y"]


def youden_threshold(conf: np.ndarray, wrong: np.ndarray) -> tuple[int, dict]:
    """Threshold t (flag conf < t) maximising TPR(wrong flagged) - FPR(right flagged)."""
    conf = np.asarray(conf, dtype=np.int64)
    wrong = np.asarray(wrong, dtype=bool)
    n_wrong, n_right = int(wrong.sum()), int((~wrong).sum())
    if n_wrong == 0 or n_right == 0:
        return 0, {"j": 0.0}
    hw = np.bincount(conf[wrong], minlength=257)
    hr = np.bincount(conf[~wrong], minlength=257)
    tpr = np.concatenate([[0], np.cumsum(hw)]) / n_wrong      # index t: conf < t
    fpr = np.concatenate([[0], np.cumsum(hr)]) / n_right
    j = tpr - fpr
    t = int(np.argmax(j[:257]))
    return t, {"j": round(float(j[t]), 4), "tpr": round(float(tpr[t]), 4), "fpr": round(float(fpr[t]), 4)}


def fit_temperature(logits, y) -> float:
    """The temperature T minimising the negative log-likelihood of softmax(logits / T)
    (Guo et al. 2017), on a log grid refined twice; T in [0.25, 16]."""
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)

    def nll(t):
        a = z / t
        a = a - a.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(a).sum(axis=1)) - a[np.arange(len(y)), y]))
    lo, hi = np.log(0.25), np.log(16.0)
    best = 0.0
    for _ in range(3):
        grid = np.linspace(lo, hi, 41)
        k = int(np.argmin([nll(np.exp(g)) for g in grid]))
        best = float(grid[k])
        lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    return float(np.exp(best))


def flag_stats(conf, wrong, threshold: int) -> dict:
    """Share of beats flagged (conf < threshold) and the error rates flagged vs not."""
    conf = np.asarray(conf, dtype=np.int64)
    wrong = np.asarray(wrong, dtype=bool)
    fl = conf < threshold
    efl = 100 * float(wrong[fl].mean()) if fl.any() else None
    eun = 100 * float(wrong[~fl].mean()) if (~fl).any() else None
    return {"beats": int(conf.size), "errors": int(wrong.sum()), "flagged": int(fl.sum()),
            "flagged_pct": round(100 * float(fl.mean()), 2) if conf.size else 0.0,
            "error_rate_flagged_pct": round(efl, 2) if efl is not None else None,
            "error_rate_unflagged_pct": round(eun, 2) if eun is not None else None,
            "error_ratio": round(efl / eun, 2) if efl is not None and eun else None,
            "errors_flagged_pct": round(100 * float(wrong[fl].sum()) / max(int(wrong.sum()), 1), 2)}


def choose_threshold(conf, wrong, max_flagged_pct: float) -> tuple[int, dict]:
    """The confidence threshold of ``uncertain``: among the thresholds that flag at most
    max_flagged_pct % of the beats, the one with the best Youden J (TPR - FPR of the
    flag as a detector of the model's errors). Chosen on DS1 out-of-fold scores."""
    conf = np.asarray(conf, dtype=np.int64)
    wrong = np.asarray(wrong, dtype=bool)
    n_wrong, n_right = max(int(wrong.sum()), 1), max(int((~wrong).sum()), 1)
    hw = np.concatenate([[0], np.cumsum(np.bincount(conf[wrong], minlength=256))])[:257]
    hr = np.concatenate([[0], np.cumsum(np.bincount(conf[~wrong], minlength=256))])[:257]
    flagged = 100.0 * (hw + hr) / max(conf.size, 1)           # index t: conf < t
    j = hw / n_wrong - hr / n_right
    j[flagged > max_flagged_pct] = -np.inf
    t = int(np.argmax(j))
    return t, {"j": round(float(j[t]), 4), **flag_stats(conf, wrong, t)}


def risk_coverage(conf, wrong) -> tuple[np.ndarray, np.ndarray]:
    """Coverage (share of beats not flagged) and the error rate among them, for every threshold."""
    conf = np.asarray(conf, dtype=np.int64)
    wrong = np.asarray(wrong, dtype=bool)
    cov, risk = [], []
    for t in range(257):
        keep = conf >= t
        if keep.any():
            cov.append(float(keep.mean()))
            risk.append(float(wrong[keep].mean()))
    return np.asarray(cov), np.asarray(risk)


def plot_risk_coverage(curves: dict, threshold: int, path) -> None:
    """Risk-coverage plot: error rate of the beats kept vs the share kept, one curve per
    set of (confidence, wrong) arrays; the chosen threshold marked on each."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(5.2, 3.8), dpi=110)
    for name, (conf, wrong) in curves.items():
        cov, risk = risk_coverage(conf, wrong)
        line, = ax.plot(100 * cov, 100 * risk, label=name)
        st = flag_stats(conf, wrong, threshold)
        ax.plot(100 - st["flagged_pct"], st["error_rate_unflagged_pct"] or 0, "o", color=line.get_color())
    ax.set_xlabel("coverage: beats not flagged uncertain (%)")
    ax.set_ylabel("error rate of those beats (%)")
    ax.set_title(f"risk-coverage of the int8 confidence; dot = threshold {threshold}/256", fontsize=9)
    ax.set_xlim(70, 100.5)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def calibrate(model: Int8Model, records=D.DS1, data_dir=None, progress: bool = False) -> dict:
    """Run the int8 model on every beat of `records` and pick the uncertain threshold."""
    from tqdm import tqdm
    if set(records) & set(D.DS2):
        raise TinyEcgError("the uncertain threshold is calibrated on DS1 only, never on DS2 (test) records")
    confs, wrongs = [], []
    for rec in tqdm(records, desc="calibrate (DS1)", unit="rec", disable=not progress, dynamic_ncols=True):
        b, cls = reference_beats(rec, data_dir)
        keep = cls >= 0
        s = model.scores(*F.inputs(b, keep))
        confs.append(model.confidence(s))
        wrongs.append(np.argmax(s, axis=1) != cls[keep])
    conf, wrong = np.concatenate(confs), np.concatenate(wrongs)
    t, stats = youden_threshold(conf, wrong)
    flagged = conf < t
    return {
        "model_id": model.model_id, "records": [int(r) for r in records], "rule": "youden_j",
        "uncertain_below": t, "beats": int(conf.size), "errors": int(wrong.sum()),
        "flagged": int(flagged.sum()), "flagged_pct": round(100 * float(flagged.mean()), 2),
        "error_rate_flagged_pct": round(100 * float(wrong[flagged].mean()), 2) if flagged.any() else 0.0,
        "error_rate_unflagged_pct": round(100 * float(wrong[~flagged].mean()), 2) if (~flagged).any() else 0.0,
        **stats,
    }


def _cache_path(model_id: str, records) -> Path:
    key = hashlib.sha256(",".join(str(int(r)) for r in records).encode()).hexdigest()[:8]
    return D.default_cache_dir() / "calibration" / f"{model_id}-{key}.json"


def calibrate_cached(model: Int8Model, records=D.DS1, data_dir=None, progress: bool = False) -> dict:
    path = _cache_path(model.model_id, records)
    if path.is_file():
        try:
            got = json.loads(path.read_text())
            if got.get("model_id") == model.model_id:
                return got
        except (OSError, ValueError):
            pass
    res = calibrate(model, records, data_dir, progress)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(res, indent=1) + "\n")
    except OSError:
        pass  # a read-only cache only costs time
    return res


def stored_calibration(model_path, model_id: str) -> dict | None:
    """The calibration tools/train.py chose by cross-validation, stored beside the model
    (``calibration.json``), when it is for this model."""
    if model_path is None:
        return None
    p = Path(model_path).with_name(CALIBRATION_NAME)
    try:
        cal = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    return cal if cal.get("model_id") == model_id else None


def pipeline_config(blob: bytes, threshold: int | None = None, records=D.DS1, data_dir=None,
                    progress: bool = False, model_path=None) -> PipelineConfig:
    """The pipeline's view of a model: requantizers, layout and the uncertain threshold --
    given, else the one stored beside `model_path` by tools/train.py, else calibrated here
    on DS1 (Youden J on the model's in-sample scores)."""
    m = Int8Model(blob)
    if threshold is None:
        cal = stored_calibration(model_path, m.model_id) or calibrate_cached(m, records, data_dir, progress)
        threshold = int(cal["uncertain_below"])
    else:
        if not 0 <= threshold <= 255:
            raise TinyEcgError(f"--threshold {threshold} out of range 0..255")
        cal = {"model_id": m.model_id, "rule": "given", "uncertain_below": threshold}
    q = m.quant
    wave_off = 0 if q.wave_index == 0 else q.n_feat
    rr_off = 0 if q.rr_index == 0 else P.WIN * q.wave_channels
    return PipelineConfig(m.model_id, q, wave_off, rr_off, m.n_classes, m.score_zp, int(threshold), cal)


def render_header(cfg: PipelineConfig) -> str:
    q, cal = cfg.quant, cfg.calibration
    if cal.get("rule") == "cv_max_flagged_youden":
        how = (f"chosen by cross-validation on DS1 ({cal['beats']} out-of-fold beats of patients the fold "
               f"models never saw): temperature {cal['temperature']} folded into the model, flags "
               f"{cal['flagged_pct']} % of beats (at most {cal['max_flagged_pct']} %), error rate "
               f"{cal['error_rate_flagged_pct']} % flagged vs {cal['error_rate_unflagged_pct']} % not flagged")
    elif cal.get("rule") == "youden_j":
        how = (f"calibrated on {len(cal['records'])} DS1 records, {cal['beats']} beats: Youden J {cal['j']}, "
               f"flags {cal['flagged_pct']} % of beats, error rate {cal['error_rate_flagged_pct']} % flagged vs "
               f"{cal['error_rate_unflagged_pct']} % not flagged")
    else:
        how = "given on the command line (not calibrated)"
    return f"""/*
 * Generated by tinyecg.calibrate -- do not edit.
 * The beat pipeline's view of model {cfg.model_id} (firmware/src/stream.c):
 * input requantizers (docs/preprocessing.md section 6), input layout, class
 * scores and the confidence threshold of the `uncertain` flag.
 */
#ifndef ECG_PIPELINE_CONFIG_H
#define ECG_PIPELINE_CONFIG_H

#define ECG_PIPELINE_MODEL_ID "{cfg.model_id}"

/* waveform input: WAVE_CHANNELS x 128 interleaved (beat; beat minus template when 2),
 * q = ((w * mult + 2^(shift-1)) >> shift) + zp; tflite scale {q.wave.scale!r} */
#define ECG_PIPELINE_WAVE_CHANNELS {q.wave_channels}
#define ECG_PIPELINE_WAVE_OFFSET {cfg.wave_offset}
#define ECG_PIPELINE_WAVE_MULT {q.wave.mult}
#define ECG_PIPELINE_WAVE_SHIFT {q.wave.shift}
#define ECG_PIPELINE_WAVE_ZP ({q.wave.zp})
/* feature input: the chain's 8 RR features, then the 8 patient-adaptive ones when N_FEAT is 16;
 * tflite scale {q.rr.scale!r} */
#define ECG_PIPELINE_N_FEAT {q.n_feat}
#define ECG_PIPELINE_RR_OFFSET {cfg.rr_offset}
#define ECG_PIPELINE_RR_MULT {q.rr.mult}
#define ECG_PIPELINE_RR_SHIFT {q.rr.shift}
#define ECG_PIPELINE_RR_ZP ({q.rr.zp})

/* class scores: int8 softmax, probability = (q - zp) / 256 */
#define ECG_PIPELINE_NUM_CLASSES {cfg.n_classes}
#define ECG_PIPELINE_SCORE_ZP ({cfg.score_zp})
/* a beat is `uncertain` when its confidence (top score - zp, 0..255) is below this;
 * {how} */
#define ECG_PIPELINE_UNCERTAIN_BELOW {cfg.uncertain_below}

#endif /* ECG_PIPELINE_CONFIG_H */
"""


def write_header(cfg: PipelineConfig, out_dir) -> Path:
    out = Path(out_dir)
    if not (out / "model_config.h").is_file():
        raise TinyEcgError(f"{out} has no generated model (model_config.h): run tools/convert.py --out {out} first")
    p = out / HEADER_NAME
    text = render_header(cfg)
    if not p.is_file() or p.read_text() != text:
        p.write_text(text)
    return p


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tinyecg.calibrate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="int8 .tflite beat classifier")
    ap.add_argument("--out", default=str(D.repo_root() / "firmware" / "model"),
                    help="generated model directory (default firmware/model)")
    ap.add_argument("--records", default="DS1", help="calibration records (default DS1)")
    ap.add_argument("--threshold", type=int, default=None,
                    help="skip calibration and use this confidence threshold (0..255)")
    ap.add_argument("--data-dir", default=None, help="MIT-BIH directory (default: TINYECG_DATA or ../shared/data/mitdb)")
    args = ap.parse_args(argv)
    path = Path(args.model)
    if not path.is_file():
        raise TinyEcgError(f"model file {path} not found")
    cfg = pipeline_config(path.read_bytes(), args.threshold, D.parse_records(args.records), args.data_dir,
                          progress=True, model_path=path)
    p = write_header(cfg, args.out)
    c = cfg.calibration
    print(f"{p}: model {cfg.model_id}, uncertain below {cfg.uncertain_below}/256"
          + (f" ({c['flagged_pct']} % of {c['beats']} DS1 beats flagged, error rate "
             f"{c['error_rate_flagged_pct']} % flagged vs {c['error_rate_unflagged_pct']} % not)"
             if c.get("rule") in ("youden_j", "cv_max_flagged_youden") else ""))
    return 0


if __name__ == "__main__":
    from .cli import run_main
    run_main(lambda: main())
