"""Figures of a training run: loss curve, spike raster, readout against target."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

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


def _held_out_curve(metrics: dict, score: str) -> tuple[np.ndarray, np.ndarray]:
    """Iterations and held-out scores of one run's ``metrics.json``: before training
    (iteration 0), at each evaluation, and after training."""
    its = [0] + [p["iteration"] for p in metrics["eval_curve"]]
    values = [metrics["initial_" + score[6:]]] + [p["score"] for p in metrics["eval_curve"]]
    if its[-1] != metrics["iterations"]:
        its.append(metrics["iterations"])
        values.append(metrics[score])
    return np.asarray(its, float), np.asarray(values, float)


def seeds_summary(path: Path, summary: dict, metrics: list) -> None:
    """The figure of a multi-seed run (``summary.json`` and each run's metrics):
    held-out score and training loss over the iterations, one thin line with
    markers per run and a thick mean (per swept value); the final scores as points
    with mean ± sample std."""
    score = summary["score"]
    label = "NMSE" if score == "final_nmse" else "accuracy"
    sweep = summary["sweep"]
    groups = sweep["values"] if sweep else [None]
    fig, (ax_score, ax_loss, ax_final) = plt.subplots(
        1, 3, figsize=(12, 4.2), gridspec_kw={"width_ratios": [3, 3, 1.4]})
    for g, value in enumerate(groups):
        color = f"C{g}"
        members = [m for m, row in zip(metrics, summary["instances"])
                   if sweep is None or row["value"] == value]
        name = "mean" if sweep is None else f"{sweep['key'].split('.')[-1]}={value}"
        curves = [_held_out_curve(m, score) for m in members]
        for n, (its, values) in enumerate(curves):
            ax_score.plot(its, values, "o-", color=color, lw=0.7, ms=3, alpha=0.45,
                          label="each seed" if n == 0 and sweep is None else None)
        its = curves[0][0]
        if all(np.array_equal(c[0], its) for c in curves):
            ax_score.plot(its, np.mean([c[1] for c in curves], axis=0), "o-", color=color,
                          lw=2.2, ms=4, label=name)
        losses = [np.asarray(m["loss_curve"], float) for m in members]
        for n, loss in enumerate(losses):
            ax_loss.plot(np.arange(1, loss.size + 1), loss, color=color, lw=0.7, alpha=0.45,
                         label="each seed" if n == 0 and sweep is None else None)
        if len({loss.size for loss in losses}) == 1:
            ax_loss.plot(np.arange(1, losses[0].size + 1), np.mean(losses, axis=0),
                         color=color, lw=2.2, label=name)
        finals = np.asarray([m[score] for m in members], float)
        st = summary["groups"][g]["stats"][score]
        spread_x = np.linspace(-0.12, 0.12, finals.size) if finals.size > 1 else np.zeros(1)
        ax_final.plot(g + spread_x, finals, "o", color=color, ms=5, alpha=0.6)
        ax_final.errorbar([g + 0.3], [st["mean"]], yerr=[st["std"]], fmt="s", color="k",
                          ms=5, capsize=4, label="mean ± std" if g == 0 else None)
    n = len(summary["seeds"])
    ax_score.set_title(f"held-out {label} ({n} seed{'s' * (n > 1)})")
    ax_score.set_xlabel("iteration (0: before training)")
    ax_score.set_ylabel(label)
    if score == "final_accuracy":
        ax_score.set_ylim(-0.02, 1.02)
        ax_final.set_ylim(-0.02, 1.02)
    elif _spans_decades(np.concatenate([_held_out_curve(m, score)[1] for m in metrics])):
        ax_score.set_yscale("log")
    ax_loss.set_title("training loss")
    ax_loss.set_xlabel("iteration")
    if _spans_decades(np.concatenate([np.asarray(m["loss_curve"], float) for m in metrics])):
        ax_loss.set_yscale("log")
    ax_final.set_title(f"final {label}")
    ax_final.set_xticks(range(len(groups)))
    ax_final.set_xticklabels(["seeds"] if sweep is None else [str(v) for v in groups],
                             rotation=45 if sweep else 0)
    if sweep is not None:
        ax_final.set_xlabel(sweep["key"])
    ax_final.set_xlim(-0.6, len(groups) - 0.4)
    for ax in (ax_score, ax_loss, ax_final):
        ax.grid(alpha=0.3)
    for ax in (ax_score, ax_loss):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_score.legend(fontsize=8, loc="best")
    ax_final.legend(fontsize=8, loc="best")
    runs = f"{n} seed{'s' * (n > 1)}" + (f" x {len(groups)} values of {sweep['key']}"
                                         if sweep else "")
    fig.suptitle(f"{summary['task']}, {summary['method']}, {summary['engine']}: {runs}")
    fig.tight_layout()
    _save(fig, path)
