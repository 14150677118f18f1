"""Distances between two runs of the same network, and the report's named metrics.

Every function compares arrays recorded the same way (time first):

* :func:`rmse_per_step`: ``sqrt(mean over everything but time of (a - b)^2)``;
* :func:`spike_agreement`: the fraction of matching spikes,
  ``2 |z_a & z_b| / (|z_a| + |z_b|)`` (1 when both are silent): a spike
  counts as matched when the other run spikes in the same neuron and step;
* :func:`first_difference`: the first step whose spikes differ;
* :func:`van_rossum`: van Rossum's distance (Neural Comput. 13:751, 2001)
  per neuron, ``D = sqrt(dt/tau sum_t f[t]^2)`` with ``f[t] = exp(-dt/tau)
  f[t-1] + z_a[t] - z_b[t]``, averaged over neurons: one unmatched spike gives
  ``D^2 = (dt/tau) / (1 - exp(-2 dt/tau))`` (about 1/2);
* :func:`cosine`: cosine similarity of two flattened updates (1 when both are
  zero, 0 when only one is).
"""
from __future__ import annotations

import math

import numpy as np

from lava_eprop.errors import UserError

PAIRS = ("paper_vs_twin", "twin_vs_fixed", "paper_vs_fixed")
MODELS = ("paper", "twin", "fixed")
#: Pair metrics and the direction that is worse.
PAIR_METRICS = {"readout_rmse": "above", "membrane_rmse": "above",
                "spike_agreement": "below", "van_rossum": "above", "dw_cosine_min": "below"}


def rmse_per_step(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Root mean square difference at each step (axis 0)."""
    diff = np.asarray(a, float) - np.asarray(b, float)
    return np.sqrt(np.mean(diff.reshape(diff.shape[0], -1) ** 2, axis=1))


def spike_agreement(za: np.ndarray, zb: np.ndarray) -> float:
    """Fraction of matching spikes, ``2 |za & zb| / (|za| + |zb|)``; 1 if both are silent."""
    za, zb = np.asarray(za) > 0, np.asarray(zb) > 0
    total = int(za.sum() + zb.sum())
    return 1.0 if total == 0 else 2.0 * float((za & zb).sum()) / total


def first_difference(za: np.ndarray, zb: np.ndarray) -> int:
    """The first step at which the spike trains differ (their length if never)."""
    differ = np.any((np.asarray(za) > 0) != (np.asarray(zb) > 0), axis=tuple(range(1, np.ndim(za))))
    return int(np.argmax(differ)) if differ.any() else len(differ)


def van_rossum(za: np.ndarray, zb: np.ndarray, tau_steps: float) -> float:
    """Mean over neurons of van Rossum's distance, kernel ``exp(-t/tau)``, ``tau`` in steps."""
    diff = np.asarray(za, float) - np.asarray(zb, float)
    decay = math.exp(-1.0 / tau_steps)
    f = np.zeros(diff.shape[1:])
    total = np.zeros(diff.shape[1:])
    for step in diff:
        f = decay * f + step
        total += f * f
    return float(np.mean(np.sqrt(total / tau_steps)))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of the flattened arrays (1 if both are zero, 0 if one is)."""
    a, b = np.ravel(np.asarray(a, float)), np.ravel(np.asarray(b, float))
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return float(na == nb)
    return float(np.clip(a @ b / (na * nb), -1.0, 1.0))


def metric_directions(kind: str) -> dict:
    """Every metric ``--fail-over`` accepts for a task of ``kind``, and which way is worse."""
    names = {f"{pair}.{m}": d for pair in PAIRS for m, d in PAIR_METRICS.items()}
    score = ("final_nmse", "above") if kind == "regression" else ("final_accuracy", "below")
    for model in MODELS:
        names[f"{model}.final_loss"] = "above"
        names[f"{model}.{score[0]}"] = score[1]
    names["saturation.total"] = "above"
    return names


def parse_bounds(specs) -> dict:
    """``["NAME=VALUE", ...]`` -> ``{NAME: VALUE}``; UserError on a malformed one."""
    bounds = {}
    for spec in specs:
        name, sep, value = str(spec).partition("=")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or not name or not math.isfinite(number):
            raise UserError(f"--fail-over '{spec}' is malformed (allowed: METRIC=VALUE with a "
                            "finite number, e.g. twin_vs_fixed.readout_rmse=0.5)")
        bounds[name.strip()] = number
    return bounds


def check_names(bounds: dict, kind: str) -> None:
    """UserError naming the first bound whose metric this task does not report."""
    known = metric_directions(kind)
    for name in bounds:
        if name not in known:
            raise UserError(f"--fail-over: unknown metric '{name}' (allowed: "
                            f"{', '.join(known)})")


def violations(metrics: dict, bounds: dict, kind: str) -> list[str]:
    """One line per bound the metrics violate (strictly worse than the bound)."""
    directions = metric_directions(kind)
    out = []
    for name, bound in bounds.items():
        value, worse = metrics[name], directions[name]
        if (value > bound) if worse == "above" else (value < bound):
            out.append(f"{name} = {value:.6g} is {worse} the bound {bound:g}")
    return out
