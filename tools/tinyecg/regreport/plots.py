"""The report's charts (matplotlib, PNG bytes for embedding): per-record EC57
statistics and the model's instructions per layer.  ECG strips are drawn by
:mod:`tinyecg.report`."""

from __future__ import annotations

import io

from .. import ec57


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return buf.getvalue()


def per_record_statistics(reports: list[dict]) -> bytes:
    """QRS, VEB and SVEB Se / +P of every record (undefined statistics left out)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = [r["record"] for r in reports]
    groups = [("qrs", "QRS"), ("veb", "VEB"), ("sveb", "SVEB")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4), sharey=True)
    for ax, (g, label) in zip(axes, groups):
        for key, marker, colour in (("se", "o", "tab:blue"), ("ppv", "s", "tab:orange")):
            xs = [i for i, r in enumerate(reports) if r.get(g, {}).get(key) is not None]
            ys = [reports[i][g][key] for i in xs]
            ax.plot(xs, ys, marker, color=colour, label="Se" if key == "se" else "+P", markersize=5)
        ax.set_title(f"{label} (EC57, from {ec57.LEARNING_SECONDS / 60:g} min)", fontsize=10)
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=8)
        ax.set_ylim(-3, 103)
        ax.grid(True, color="#ddd", linewidth=0.5)
    axes[0].set_ylabel("%")
    axes[0].legend(fontsize=8, loc="lower left")
    return _png(fig)


def per_layer(profile: list[dict], counter: str) -> bytes:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 0.35 * len(profile) + 1.2))
    names = [f"{p['layer']} ({p['ops']})" for p in profile][::-1]
    vals = [p["instructions"] for p in profile][::-1]
    ax.barh(names, vals, color="tab:blue")
    ax.set_xlabel(f"{counter} per inference")
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(True, axis="x", color="#ddd", linewidth=0.5)
    return _png(fig)
