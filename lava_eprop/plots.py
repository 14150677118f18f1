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


def _spans_decades(values: np.ndarray) -> bool:
    """Whether positive ``values`` span more than a factor of 10 (then a log axis helps)."""
    return values.size > 0 and values.min() > 0 and values.max() > 10 * values.min()


def loss_curve(path: Path, losses, held_out, kind: str, title: str) -> None:
    """Two panels over the iterations: the task loss (training loss per iteration,
    held-out loss at each evaluation) and the held-out score (NMSE or accuracy).

    ``held_out`` lists ``[iteration, loss, score]`` per evaluation, iteration 0
    being the one before training (:func:`lava_eprop.runs.held_out_points`);
    each evaluation is a marker. Legends sit beside the axes, off the data.
    """
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7.2, 5.2), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 2]})
    top.plot(np.arange(1, len(losses) + 1), losses, color="tab:blue", lw=1,
             label="training loss")
    its, loss, score = (np.asarray(v, float) for v in zip(*held_out)) if held_out else \
        (np.zeros(0),) * 3
    top.plot(its, loss, "o", color="tab:orange", ms=4, label="held-out loss")
    top.set_ylabel("task loss")
    if _spans_decades(np.concatenate([np.asarray(losses, float), loss])):
        top.set_yscale("log")
    top.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    top.set_title(title)
    label = "held-out NMSE" if kind == "regression" else "held-out accuracy"
    bottom.plot(its, score, "o-", color="tab:orange", ms=4, lw=0.8, label=label)
    if kind == "regression":
        if _spans_decades(score):
            bottom.set_yscale("log")
    else:
        bottom.set_ylim(-0.02, 1.02)
    bottom.set_ylabel(label.removeprefix("held-out "))
    bottom.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    bottom.set_xlabel("iteration (0: before training)")
    bottom.grid(alpha=0.3)
    top.grid(alpha=0.3)
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
