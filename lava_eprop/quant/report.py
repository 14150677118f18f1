"""The quantization report: paper vs twin vs fixed point on the same data.

:func:`quant_report` runs the three models of :mod:`lava_eprop.quant.models`
from the same initial weights (the config's, seed ``seed``):

1. **probe**: held-out trial 0, learning on, from the initial weights: the
   per-step readout and membrane RMSE, spike agreement, van Rossum distance
   (tau = ``tau_m``) and, per projection, the cosine similarity of the
   weight changes each model makes over the trial and the ratio of their
   norms (second model over first);
2. **training**: ``iterations`` x ``batch_size`` training trials drawn as
   ``lava-eprop train`` draws them (so the fixed model trains exactly as
   ``lava-eprop train --engine fixed`` with that batch size), then the
   held-out loss, NMSE or accuracy and mean firing rate of each on
   ``eval_trials`` trials, before and after;
3. **saturation** counts of the fixed-point state over the probe and the
   training trials (:mod:`lava_eprop.quant.saturation`).

``spike_agreement_lag1`` compares the second run one step later (the chip
delivers input spikes one step later than the paper model), and
``first_spike_difference_step`` is where the spike trains first part: the
networks are chaotic, so any difference soon changes most spikes.

Pairs: ``paper_vs_twin`` (model mismatch), ``twin_vs_fixed`` (quantization)
and ``paper_vs_fixed`` (both).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from compilers import compile_plan
from lava_eprop import __version__
from lava_eprop.engine.network import READOUT
from lava_eprop.engine.spec import error_steps, network_spec
from lava_eprop.errors import NumericalError, UserInputWarning
from lava_eprop.io import non_finite, write_json
from lava_eprop.quant import metrics as qm
from lava_eprop.quant import models, plots
from lava_eprop.quant.saturation import NOT_COUNTED, SOURCE, SaturationWatch
from lava_eprop.quant.twin import Arith, twin_weights
from lava_eprop.reference.network import mean_rate_hz
from lava_eprop.reference.params import init_weights, net_params
from lava_eprop.tasks import make_task
from lava_eprop.training.onchip import (
    after_trial,
    grid_before_training,
    trial_feedback,
    zero_autapses,
)

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Settings:
    """How much the report runs (the report's JSON states all of it)."""

    iterations: int = 10
    batch_size: int = 1
    eval_trials: int = 16
    seed: int = 0
    task_overrides: dict = field(default_factory=dict)


def _pair(a: models.Trial, b: models.Trial, tau_steps: float) -> dict:
    readout, membrane = qm.rmse_per_step(a.y, b.y), qm.rmse_per_step(a.v, b.v)
    cos = {k: qm.cosine(a.dw[k], b.dw[k]) for k in a.dw}
    return {"readout_rmse": float(np.sqrt(np.mean(readout ** 2))),
            "membrane_rmse": float(np.sqrt(np.mean(membrane ** 2))),
            "spike_agreement": qm.spike_agreement(a.z, b.z),
            "spike_agreement_lag1": qm.spike_agreement(a.z[:-1], b.z[1:]),
            "first_spike_difference_step": qm.first_difference(a.z, b.z),
            "van_rossum": qm.van_rossum(a.z, b.z, tau_steps),
            "dw_cosine": cos, "dw_cosine_min": min(cos.values()),
            "dw_norm_ratio": {k: _ratio(b.dw[k], a.dw[k]) for k in a.dw},
            "readout_rmse_per_step": readout.tolist(),
            "membrane_rmse_per_step": membrane.tolist()}


def _ratio(b: np.ndarray, a: np.ndarray) -> float | None:
    """``|b| / |a|`` (Frobenius norms); None when ``a`` is zero."""
    na = float(np.linalg.norm(a))
    return float(np.linalg.norm(b)) / na if na > 0 else None


def _scores(ev, kind: str) -> tuple[str, float]:
    return ("final_nmse", ev.nmse) if kind == "regression" else ("final_accuracy", ev.accuracy)


def quant_report(cfg, settings: Settings, progress: bool = True) -> tuple[dict, dict]:
    """Run the report; returns the JSON document and the probe trials (for plots).

    ``settings.batch_size`` and ``settings.seed`` replace ``training.batch_size`` and
    ``training.seed``."""
    cfg = cfg.with_overrides(batch_size=settings.batch_size, seed=settings.seed)
    task = make_task(cfg)
    task.check_spikes("quant-report's fixed-point model")
    kind, dt, seed = task.kind, cfg.network.dt, settings.seed
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plan = compile_plan(cfg)
    rng = np.random.default_rng(seed)
    w0 = init_weights(cfg, task.n_in, task.n_out, rng)
    t = cfg.training
    # the regulariser's n_err as lava-eprop train --engine fixed computes it (from the
    # mask alone: a dataset's shortage of held-out trials is said for the evaluations)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserInputWarning)
        n_err = error_steps(task.held_out(t.eval_trials, t.seed).mask,
                            kind == "classification")
    spec = network_spec(cfg, plan, w0, task.n_in, task.n_out, kind == "classification",
                        n_steps=task.n_steps, n_err=n_err)
    p = net_params(cfg)
    eta = cfg.fixed_point.learning_rate or t.learning_rate
    reg = (t.reg_coeff * n_err, t.reg_rate_hz)     # OnlineEprop divides by 1 x T dt
    symmetric = t.feedback == "symmetric"
    out_per_unit = spec.projection(READOUT).plan.weight_per_unit
    held = task.held_out(settings.eval_trials, seed)
    state = {"paper": w0.copy(), "twin": twin_weights(spec, w0, Arith(chip=False)),
             "fixed": grid_before_training(spec, seed)}      # as train --engine fixed
    watch = SaturationWatch()

    def twin_feedback():
        """``B 2^b``: symmetric feedback follows the learned readout between trials."""
        fb = state["twin"][READOUT][0].T / out_per_unit if symmetric else w0.fb
        return fb * 2.0 ** spec.feedback_exp

    def trial(model, x, targets, mask, rule_seed):
        if model == "paper":
            return models.paper_trial(spec, state["paper"], p, x, targets, mask, kind, eta,
                                      t.feedback, reg)
        if model == "twin":
            out = models.twin_trial(spec, state["twin"], twin_feedback(), x, targets, mask)
            if not cfg.network.self_connections:    # as the host does for the chip
                state["twin"] = zero_autapses(spec, state["twin"])
            return out
        out = models.fixed_trial(trial_feedback(spec, state["fixed"], symmetric), state["fixed"],
                                 x, targets, mask, rule_seed, watch)
        state["fixed"] = after_trial(spec, state["fixed"], seed, rule_seed - seed,
                                     cfg.network.self_connections)
        return out

    def evaluate(model):
        if model == "paper":
            return models.paper_evaluate(state["paper"], p, held, kind)
        if model == "twin":
            return models.twin_evaluate(spec, state["twin"], twin_feedback(), held, kind, dt)
        return models.fixed_evaluate(spec, state["fixed"], held, kind, dt)

    initial = {m: evaluate(m) for m in qm.MODELS}
    saved = {"paper": w0.copy(), "twin": dict(state["twin"]), "fixed": dict(state["fixed"])}
    probe = {m: trial(m, held.inputs[0], held.targets[0], held.mask[0], seed)._replace(
        target=held.targets[0], mask=held.mask[0]) for m in qm.MODELS}
    state.update(saved)           # training starts again from the initial weights
    curves = {m: [] for m in qm.MODELS}
    count = 0
    for _ in tqdm(range(settings.iterations), desc=f"quant-report {task.name}", unit="it",
                  disable=None if progress else True, leave=False):
        losses = dict.fromkeys(qm.MODELS, 0.0)
        for _ in range(settings.batch_size):
            batch = task.sample(1, rng)
            args = (batch.inputs[0], batch.targets[0], batch.mask[0], seed + count)
            for m in qm.MODELS:
                losses[m] += models.trial_loss(trial(m, *args), batch, kind, dt) \
                    / settings.batch_size
            count += 1
        for m in qm.MODELS:
            curves[m].append(losses[m])
    final = {m: evaluate(m) for m in qm.MODELS}

    tau_steps = cfg.network.tau_m / dt
    pairs = {f"{a}_vs_{b}": _pair(probe[a], probe[b], tau_steps)
             for a, b in (("paper", "twin"), ("twin", "fixed"), ("paper", "fixed"))}
    results = {}
    for m in qm.MODELS:
        name, value = _scores(final[m], kind)
        results[m] = {"initial_loss": initial[m].loss, "final_loss": final[m].loss,
                      name.replace("final", "initial"): _scores(initial[m], kind)[1],
                      name: value, "initial_rate_hz": mean_rate_hz(initial[m].record.z, dt),
                      "final_rate_hz": mean_rate_hz(final[m].record.z, dt),
                      "loss_curve": curves[m]}
    counts = {k: int(v) for k, v in sorted(watch.totals.items())}
    report = {
        "schema_version": SCHEMA_VERSION, "package_version": __version__,
        "task": task.name, "kind": kind, "config": cfg.source, "seed": seed,
        "settings": {"iterations": settings.iterations, "batch_size": settings.batch_size,
                     "training_trials": count, "eval_trials": settings.eval_trials,
                     "probe": "held-out trial 0, learning on, from the initial weights",
                     "n_steps": task.n_steps, "task_overrides": settings.task_overrides,
                     "task": dict(cfg.task), "learning_rate": eta,
                     "rounding": cfg.fixed_point.rounding,
                     "update": "online SGD every step, all three models",
                     "regulariser": (f"reg_coeff {t.reg_coeff:g} towards {t.reg_rate_hz:g} Hz, "
                                     f"times n_err {n_err:g} error steps per trial, not "
                                     "divided by the batch size (the chip's own scaling, "
                                     "lava_eprop.engine.spec.error_steps): paper on the "
                                     "running rate of the trial, twin and fixed on the "
                                     "neurons' rate trace (fixed_point.reg_tau_ms)"),
                     "feedback": (f"{t.feedback}" + (": paper follows W_out^T every step, "
                                                     "twin and fixed between trials"
                                                     if symmetric else "")),
                     "van_rossum_tau_steps": tau_steps},
        "pairs": pairs,
        "models": results,
        "saturation": {"source": SOURCE, "counts": counts,
                       "total": int(sum(counts.values())),
                       "runs": "the probe and every training trial of the fixed model",
                       "not_counted": list(NOT_COUNTED)},
        "compiler_warnings": sorted({str(w.message) for w in caught}),
    }
    report["metrics"] = flat_metrics(report)
    report["directions"] = qm.metric_directions(kind)
    return report, probe


def flat_metrics(report: dict) -> dict:
    """The values ``--fail-over`` checks, by name (:func:`metric_directions`)."""
    out = {}
    for pair, values in report["pairs"].items():
        for m in qm.PAIR_METRICS:
            out[f"{pair}.{m}"] = values[m]
    for model, values in report["models"].items():
        for key in ("final_loss", "final_nmse", "final_accuracy"):
            if key in values:
                out[f"{model}.{key}"] = values[key]
    out["saturation.total"] = report["saturation"]["total"]
    return out


def table(report: dict) -> str:
    """The report as plain-text tables."""
    pairs = list(report["pairs"])
    rows = [("readout RMSE", "readout_rmse"), ("membrane RMSE (v_th)", "membrane_rmse"),
            ("spike agreement", "spike_agreement"),
            ("spike agreement, lag 1", "spike_agreement_lag1"),
            ("first spike difference", "first_spike_difference_step"),
            ("van Rossum distance", "van_rossum")]
    st = report["settings"]
    lines = [(f"{report['task']}: {st['training_trials']} training trials, "
              f"{st['eval_trials']} held-out, {st['n_steps']} steps per trial"), "",
             f"{'probe trial':28s}" + "".join(f"{p:>16s}" for p in pairs)]
    for label, key in rows:
        lines.append(f"{label:28s}" + "".join(f"{report['pairs'][p][key]:16.4g}" for p in pairs))
    for proj in report["pairs"][pairs[0]]["dw_cosine"]:
        lines.append(f"{'dW cosine ' + proj:28s}"
                     + "".join(f"{report['pairs'][p]['dw_cosine'][proj]:16.4f}" for p in pairs))
    models_ = report["models"]
    score = "final_nmse" if report["kind"] == "regression" else "final_accuracy"
    lines += ["", f"{'after training':28s}" + "".join(f"{m:>16s}" for m in models_)]
    for key in ("initial_loss", "final_loss", score.replace("final", "initial"), score,
                "initial_rate_hz", "final_rate_hz"):
        lines.append(f"{key:28s}" + "".join(f"{models_[m][key]:16.4g}" for m in models_))
    sat = report["saturation"]
    hits = ", ".join(f"{k} {v}" for k, v in sat["counts"].items() if v) or "none"
    lines += ["", f"saturation events: total {sat['total']}: {hits}"]
    return "\n".join(lines) + "\n"


def write_report(out_dir, report: dict, probe: dict, dt: float) -> list[str]:
    """Write ``quant_report.json``, then the figures (each atomically); return the names.

    A NaN or Inf anywhere in ``report`` raises :class:`NumericalError` naming it,
    before anything is written (JSON cannot hold it)."""
    bad = non_finite(report)
    if bad is not None:
        raise NumericalError(f"quant-report: {bad.lstrip('.')} is NaN or Inf; nothing written "
                             "(check the config's learning rates, dt and targets)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "quant_report.json", report)
    return ["quant_report.json"] + plots.write_all(out_dir, report, probe, dt)
