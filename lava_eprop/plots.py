"""Figures of a training run: loss curve, spike raster, readout against target."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from lava_eprop.io import atomic_path
from lava_eprop.reference.network import mean_rate_hz


def _save(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)


def loss_curve(path: Path, losses, eval_curve, kind: str, title: str) -> None:
    """Training loss per iteration, and the held-out score at evaluation points."""
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.plot(np.arange(1, len(losses) + 1), losses, color="tab:blue", lw=1, label="training loss")
    ax.set_xlabel("iteration")
    ax.set_ylabel("task loss")
    if min(losses) > 0:
        ax.set_yscale("log")
    if eval_curve:
        its, _, score = zip(*eval_curve)
        ax2 = ax.twinx()
        label = "held-out NMSE" if kind == "regression" else "held-out accuracy"
        ax2.plot(its, score, "o-", color="tab:orange", ms=3, label=label)
        ax2.set_ylabel(label)
        fig.legend(loc="upper right", bbox_to_anchor=(0.88, 0.88), fontsize=8)
    ax.set_title(title)
    _save(fig, path)


def raster(path: Path, inputs: np.ndarray, spikes: np.ndarray, dt: float, title: str) -> None:
    """Input and recurrent spikes of one trial (inputs [T, n_in], spikes [T, n_rec])."""
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(6.4, 5), sharex=True,
                                 gridspec_kw={"height_ratios": [1, 2]})
    for ax, arr, name in ((a1, inputs, "input"), (a2, spikes, "recurrent neuron")):
        t, n = np.nonzero(arr > 0)
        ax.scatter(t * dt, n, s=1.5, marker="|", color="k")
        ax.set_ylabel(name)
        ax.set_ylim(-0.5, arr.shape[1] - 0.5)
    rate = mean_rate_hz(spikes, dt)
    a2.set_xlabel("time (ms)")
    a1.set_title(f"{title} (mean recurrent rate {rate:.1f} Hz)")
    _save(fig, path)


def readout(path: Path, y: np.ndarray, target: np.ndarray, mask: np.ndarray, kind: str,
            dt: float, title: str) -> None:
    """Readout of one trial against its target (regression) or label (classification)."""
    time = np.arange(y.shape[0]) * dt
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    if kind == "regression":
        for k in range(y.shape[1]):
            ax.plot(time, target[:, k], "--", color=f"C{k}", lw=1, label=f"target {k}")
            ax.plot(time, y[:, k], color=f"C{k}", lw=1.2, label=f"readout {k}")
        ax.set_ylabel("output")
    else:
        prob = np.exp(y - y.max(axis=1, keepdims=True))
        prob /= prob.sum(axis=1, keepdims=True)
        for k in range(y.shape[1]):
            ax.plot(time, prob[:, k], color=f"C{k}", lw=1.2, label=f"p(class {k})")
        ax.fill_between(time, 0, 1, where=mask, color="0.85", step="mid",
                        label=f"decision window (label {int(target[mask][-1])})")
        ax.set_ylim(0, 1)
        ax.set_ylabel("softmax of readout")
    ax.set_xlabel("time (ms)")
    ax.legend(fontsize=7, loc="best")
    ax.set_title(title)
    _save(fig, path)
