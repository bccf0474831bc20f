"""Pictures a reviewer would rather look at than read: an ECG strip with the
cardiologists' beat labels above the trace and the device's below it.

Confusion matrices are drawn by :mod:`tinyecg.evaluate`; this module draws
what a streamed record looked like, from the record and the annotation file
``tools/stream.py`` writes (``<record>.tecg``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import data as D
from . import preprocess as P
from .errors import TinyEcgError

CLASS_COLOURS = {"N": "tab:green", "S": "tab:orange", "V": "tab:red", "F": "tab:purple", "Q": "tab:gray"}


@dataclass
class Strip:
    path: Path
    reference_beats: int   # reference beats inside the window
    device_beats: int      # device events inside the window
    uncertain: int         # of which flagged uncertain


def ecg_strip(record, ann_file: Path, out_png: Path, start_s: float = 300.0, seconds: float = 10.0,
              data_dir=None) -> Strip:
    """Draw `seconds` of a record from `start_s`, reference labels (AAMI) above,
    the device's classes below (hollow with '?' when flagged uncertain)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import wfdb

    from .stream import load_stream_record

    rec = load_stream_record(str(record), data_dir)
    ann_file = Path(ann_file)
    if not ann_file.is_file():
        raise TinyEcgError(f"annotation file {ann_file} not found (tools/stream.py writes it beside the JSON)")
    try:
        ann = wfdb.rdann(str(ann_file.with_suffix("")), ann_file.suffix.lstrip("."))
    except Exception as exc:
        raise TinyEcgError(f"{ann_file}: unreadable annotation file ({type(exc).__name__}: {exc})") from None
    scale = P.FS_IN / float(ann.fs or rec.fs)
    dev_r = np.round(np.asarray(ann.sample, dtype=np.float64) * scale).astype(np.int64)
    dev_sym = list(ann.symbol)
    dev_unc = ["uncertain" in (a or "") for a in (ann.aux_note or [""] * len(dev_sym))]

    a = int(round(start_s * P.FS_IN))
    b = min(rec.signal.size, a + int(round(seconds * P.FS_IN)))
    if a < 0 or a >= b:
        raise TinyEcgError(f"strip start {start_s} s is outside the record ({rec.signal.size / P.FS_IN:.0f} s)")
    t = np.arange(a, b) / P.FS_IN
    mv = (rec.signal[a:b].astype(np.float64) - 1024) / D.ADC_GAIN
    lo, hi = float(mv.min()), float(mv.max())
    pad = 0.25 * max(hi - lo, 0.5)

    fig, ax = plt.subplots(figsize=(13, 3.6))
    ax.plot(t, mv, color="black", linewidth=0.8)
    n_ref = 0
    if rec.ref_r is not None:
        for r, s in zip(rec.ref_r, rec.ref_sym):
            if a <= r < b and s in D.AAMI:
                n_ref += 1
                c = D.AAMI[s]
                ax.text(r / P.FS_IN, hi + 0.6 * pad, c, ha="center", va="center", fontsize=9,
                        color=CLASS_COLOURS.get(c, "black"))
    n_dev = n_unc = 0
    for r, s, unc in zip(dev_r, dev_sym, dev_unc):
        if not a <= r < b:
            continue
        n_dev += 1
        n_unc += unc
        colour = CLASS_COLOURS.get(s, "black")
        ax.plot(r / P.FS_IN, lo - 0.35 * pad, marker="^", markersize=8, color=colour,
                markerfacecolor="none" if unc else colour)
        ax.text(r / P.FS_IN, lo - 0.8 * pad, s + ("?" if unc else ""), ha="center", va="center",
                fontsize=9, color=colour)
    ax.set_ylim(lo - 1.1 * pad, hi + 1.0 * pad)
    ax.set_xlim(t[0], t[-1])
    ax.set_xlabel("time (s)")
    ax.set_ylabel("mV (MLII)")
    ax.set_title(f"record {rec.name}, {start_s:g}-{start_s + seconds:g} s: reference labels (AAMI) above, "
                 f"device classes below (hollow '?': uncertain)", fontsize=10)
    ax.grid(True, which="both", color="#f2c4c4", linewidth=0.5)
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=110)
    plt.close(fig)
    return Strip(out_png, n_ref, n_dev, int(n_unc))
