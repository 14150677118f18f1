"""Figures of the quantization report (PNG, written atomically)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from lava_eprop.io import atomic_path

COLORS = {"paper": "tab:blue", "twin": "tab:green", "fixed": "tab:red",
          "paper_vs_twin": "tab:olive", "twin_vs_fixed": "tab:purple",
          "paper_vs_fixed": "tab:gray"}


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)


def errors(path: Path, report: dict, dt: float) -> None:
    """Per-step readout and membrane RMSE of every pair on the probe trial."""
    fig, axes = plt.subplots(2, 1, figsize=(6.4, 5), sharex=True)
    for ax, key, label in ((axes[0], "readout_rmse_per_step", "readout RMSE"),
                           (axes[1], "membrane_rmse_per_step", "membrane RMSE (v_th)")):
        for pair, values in report["pairs"].items():
            series = np.asarray(values[key])
            ax.plot(np.arange(len(series)) * dt, series, lw=1, color=COLORS[pair], label=pair)
        ax.set_ylabel(label)
    axes[0].legend(fontsize=7)
    axes[1].set_xlabel("time (ms)")
    axes[0].set_title(f"{report['task']}: error per step, probe trial")
    _save(fig, path)


def readouts(path: Path, probe: dict, report: dict, dt: float) -> None:
    """The readout of each model on the probe trial, with the trial's target.

    Regression: the target signals, dashed black. Classification: the decision
    window shaded; the readout of the trial's label solid, the others dotted.
    """
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    first = next(iter(probe.values()))
    time = np.arange(first.y.shape[0]) * dt
    n_out = first.y.shape[1]
    fade = [1.0 - 0.7 * k / max(n_out - 1, 1) for k in range(n_out)]  # down to 0.3
    style = ["-"] * n_out
    if first.target is not None and report["kind"] == "regression":
        for k in range(n_out):
            ax.plot(time, first.target[:, k], "--", lw=1.2, color="k", alpha=fade[k],
                    label="target" if k == 0 else None)
    elif first.target is not None:
        window = first.mask.astype(bool)
        label = int(first.target[window][-1])
        ax.fill_between(time, 0, 1, where=window, color="0.88", step="mid",
                        transform=ax.get_xaxis_transform(),
                        label=f"decision window: label {label}")
        style = [":"] * n_out
        style[label] = "-"
        fade = [1.0] * n_out
    lead = style.index("-")            # the readout whose line the legend shows
    for model, trial in probe.items():
        for k in range(n_out):
            ax.plot(time, trial.y[:, k], style[k], lw=1.4 if style[k] == "-" else 1,
                    color=COLORS[model], alpha=fade[k], label=model if k == lead else None)
    ax.set_xlabel("time (ms)")
    if report["kind"] == "regression" or first.target is None:
        ax.set_ylabel("readout y")
    else:
        ax.set_ylabel("readout y (solid: the label's)")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(f"{report['task']}: readouts, probe trial")
    _save(fig, path)


def rasters(path: Path, probe: dict, dt: float) -> None:
    """Recurrent spikes of each model on the probe trial."""
    fig, axes = plt.subplots(len(probe), 1, figsize=(6.4, 6), sharex=True)
    for ax, (model, trial) in zip(axes, probe.items()):
        t, n = np.nonzero(trial.z > 0)
        ax.scatter(t * dt, n, s=1.5, marker="|", color=COLORS[model])
        ax.set_ylabel(f"{model}\nneuron")
    axes[-1].set_xlabel("time (ms)")
    axes[0].set_title("recurrent spikes, probe trial")
    _save(fig, path)


def dw_cosine(path: Path, report: dict) -> None:
    """Cosine similarity of the weight updates, per projection and pair."""
    pairs = list(report["pairs"])
    projs = list(report["pairs"][pairs[0]]["dw_cosine"])
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    width = 0.8 / len(pairs)
    for i, pair in enumerate(pairs):
        values = [report["pairs"][pair]["dw_cosine"][p] for p in projs]
        ax.bar(np.arange(len(projs)) + i * width, values, width, color=COLORS[pair], label=pair)
    ax.set_xticks(np.arange(len(projs)) + width * (len(pairs) - 1) / 2)
    ax.set_xticklabels(projs, fontsize=7)
    ax.set_ylim(min(0.0, ax.get_ylim()[0]), 1.0)
    ax.set_ylabel("cosine of dW")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title("weight updates over the probe trial")
    _save(fig, path)


def training(path: Path, report: dict) -> None:
    """Training loss per iteration of each model."""
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for model, values in report["models"].items():
        curve = values["loss_curve"]
        ax.plot(np.arange(1, len(curve) + 1), curve, "o-", ms=2, lw=1, color=COLORS[model],
                label=f"{model} (held-out loss {values['final_loss']:.3g})")
    ax.set_xlabel("iteration")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=7)
    ax.set_title(f"{report['task']}: online training, same trials")
    _save(fig, path)


def write_all(out_dir: Path, report: dict, probe: dict, dt: float) -> list[str]:
    """Write every figure; return the file names."""
    errors(out_dir / "errors.png", report, dt)
    readouts(out_dir / "readouts.png", probe, report, dt)
    rasters(out_dir / "rasters.png", probe, dt)
    dw_cosine(out_dir / "dw_cosine.png", report)
    training(out_dir / "training.png", report)
    return ["errors.png", "readouts.png", "rasters.png", "dw_cosine.png", "training.png"]
