"""The integer network both the Lava graph and the fast engine build: weights, parameters, rules.

:func:`network_spec` lowers a config, its fixed-point plan (:mod:`compilers`)
and float weights (:func:`lava_eprop.reference.params.init_weights`) to
integers:

* recurrent groups ``G`` as the plan has them (``lif`` neurons first, then
  ``alif``, the reference's order), each its own neuron population;
* plastic weights ``w = clip(round(weight_per_unit * W), -255, 255)`` per
  projection (``input->G``, ``recurrent->G`` with G's rows of ``W_in`` and
  ``W_rec``; ``recurrent->readout``), delivered ``<< weight_exp`` by
  ``LearningDense``;
* the feedback ``B_int = clip(round(B * 2^b), -255, 255)`` with the largest
  ``b`` that keeps ``max|B|`` within 255. B is held by the error process;
  for symmetric feedback the trainer copies the learned readout weights
  into it between trials (:meth:`NetworkSpec.with_symmetric_feedback`);
* per group, the learning-signal shift ``l_shift = b + 6 + log2(Lambda_out) -
  log2(Lambda_rec)``, so ``y3 - 64 = round(Lambda_rec * sum_k B_jk err_k)``
  up to the rounding of ``B`` and of the error payload;
* the firing-rate regulariser (``training.reg_coeff > 0``, :func:`reg_params`):
  each recurrent neuron keeps a rate trace and adds ``Lambda_rec`` times the
  regularisation signal ``c_reg n_err (f_j - f0) / (T dt)`` to its y3, so the
  tag filters it like the task term. This keeps the float loss's balance
  between the regulariser and the task error for the chip's own error: the
  chip learns trial by trial (no division by the batch size ``B``) and sums
  the per-step task error where the float classification loss averages it
  over the ``n_err`` error steps of a trial (:func:`error_steps`);
* the targets: regression ``round(y* Q_out 64)`` (readout register units),
  classification one-hot (0/1); the mask as 0/1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from compilers.plan import Plan, Projection
from lava_eprop.engine.neurons import (
    DECAY_SHIFT,
    REG_FRAC,
    UV_MAX,
    V_SHIFT,
    Y1_FRAC,
    ErrorParams,
    ReadoutParams,
    RecParams,
    error_params,
)
from lava_eprop.errors import UserError

W_MAX = 255               # 8-bit magnitude + sign (Lava's LearningDense / Dense weights)


@dataclass(frozen=True)
class ProjectionSpec:
    """One plastic projection: integer initial weights, exponent and compiled rule."""

    name: str
    weights: np.ndarray   # int64 (n_post, n_pre)
    weight_exp: int
    plan: Projection

    def rule(self, rng_seed: int | None = None):
        """The projection's :class:`~lava_eprop.loihi.rule.LearningRule`
        (``.to_lava()`` gives Lava's ``Loihi3FLearningRule``)."""
        return self.plan.rule(rng_seed=rng_seed)


@dataclass(frozen=True)
class GroupSpec:
    """A recurrent group: neurons ``offset .. offset + size - 1`` of the recurrent layer."""

    name: str
    size: int
    offset: int
    rec: RecParams


@dataclass(frozen=True)
class NetworkSpec:
    """Everything needed to build the integer e-prop network, either way.

    ``projections`` maps the plan's projection names (``input->lif``,
    ``recurrent->lif``, ``input->alif``, ``recurrent->alif``,
    ``recurrent->readout``) to their specs, in the plan's order; projection
    ``i`` uses the rule seed ``seed + 10 i``.
    """

    n_in: int
    n_rec: int
    n_out: int
    groups: tuple                   # GroupSpec, LIF first then ALIF
    readout: ReadoutParams
    error: ErrorParams
    feedback: np.ndarray            # int64 (n_rec, n_out), B * 2^feedback_exp
    feedback_exp: int
    projections: dict               # name -> ProjectionSpec
    readout_scale: float            # Q_out: register = y * Q_out * 64
    classification: bool
    rounding: str = "lava"          # fixed_point.rounding: "lava" or "stochastic"

    def projection(self, name: str) -> ProjectionSpec:
        return self.projections[name]

    def rule_seed(self, name: str, seed: int) -> int:
        return seed + 10 * list(self.projections).index(name)

    def with_weights(self, weights: dict) -> NetworkSpec:
        """The same network with other integer weights (name -> array)."""
        projs = {name: replace(p, weights=np.asarray(weights[name], np.int64))
                 for name, p in self.projections.items()}
        return replace(self, projections=projs)

    def with_symmetric_feedback(self, w_out: np.ndarray) -> NetworkSpec:
        """``B = W_out^T`` from integer readout weights ``w_out`` [n_out, n_rec], in this
        spec's feedback format (exponent ``feedback_exp``, 8 bits + sign)."""
        per_unit = self.projection("recurrent->readout").plan.weight_per_unit
        return replace(self, feedback=_quantize(np.asarray(w_out, float).T / per_unit,
                                                2.0 ** self.feedback_exp))

    def targets(self, targets: np.ndarray, n_steps: int) -> np.ndarray:
        """Task targets ``[..., T(, n_out)]`` -> int64 ``[..., T, n_out]`` for the error."""
        if self.classification:
            labels = np.asarray(targets, np.int64)
            return (labels[..., None] == np.arange(self.n_out)).astype(np.int64)
        scaled = np.round(np.asarray(targets, float) * self.readout_scale * 2 ** V_SHIFT)
        return np.clip(scaled, -UV_MAX + 1, UV_MAX - 1).astype(np.int64)


def _quantize(w: np.ndarray, per_unit: float) -> np.ndarray:
    return np.clip(np.round(np.asarray(w, float) * per_unit), -W_MAX, W_MAX).astype(np.int64)


def feedback_format(fb: np.ndarray) -> tuple[np.ndarray, int]:
    """``(B_int, b)``: ``B_int = round(B 2^b)`` with the largest ``b`` keeping |B_int| <= 255."""
    top = float(np.abs(fb).max())
    b = 0 if top == 0 else math.floor(math.log2(W_MAX / top))
    return _quantize(fb, 2.0 ** b), b


def _rec_params(g, l_shift: int) -> RecParams:
    alif = g.alif
    eps = alif is not None and alif.y1_per_y2 is not None
    return RecParams(du=g.du, dv=g.dv, vth=g.vth, n_ref=g.refractory_steps, y2_mant=g.y2_mant,
                     y2_shift=g.y2_shift, l_shift=l_shift,
                     da=0 if alif is None else alif.da, beta_v=0 if alif is None else alif.beta_v,
                     y1_leak=alif.y1_leak if eps else 0,
                     y1_mant=round(alif.y1_per_y2 * 2 ** Y1_FRAC) if eps else 0)


def error_steps(mask, classification: bool) -> float:
    """``n_err``: the mean number of error steps per trial of ``mask`` [trials, T] for
    classification, 1 for regression.

    The float loss divides a classification batch's cross-entropy by its
    number of masked steps and a regression batch's squared error by its
    size; the chip's error is the per-step error of one trial, not divided by
    either. Relative to it, the float regulariser ``c_reg (f - f0) / (B T dt)``
    is therefore ``c_reg n_err (f - f0) / (T dt)`` (:func:`reg_params`).
    """
    if not classification:
        return 1.0
    per_trial = np.asarray(mask, float).reshape(-1, np.shape(mask)[-1]).sum(axis=-1)
    return max(float(per_trial.mean()), 1.0)


def reg_params(cfg, y3_per_signal: float, n_steps: int, n_err: float = 1.0) -> dict:
    """Integer parameters of the on-chip firing-rate regulariser (RecParams fields).

    The rate trace ``f`` decays with ``f_decay = round(4096 dt / reg_tau)`` and
    jumps by ``f_impulse = 2^(10 + floor(log2 f_decay))`` per spike, so at a
    steady rate of ``p`` spikes per step ``f ~ f_impulse p 4096 / f_decay``
    (at most 2^22) and ``f_target = round(f0 dt 4096 f_impulse / f_decay)``.
    The signal ``c_reg n_err (f_j - f0) / (T dt)`` (``f_j`` in spikes/ms,
    ``T = n_steps``, ``n_err`` from :func:`error_steps`; no batch size: the
    chip applies every trial's update at once) is then ``K (f - f_target)``
    with ``K = c_reg n_err f_decay / (T dt^2 4096 f_impulse)``; in units of 2^-16 of y3
    ``Lambda K 2^16 = reg_mant 2^-reg_shift``, ``reg_mant`` in 128..255.
    Empty when ``training.reg_coeff`` is 0.
    """
    t, dt = cfg.training, cfg.network.dt
    if t.reg_coeff == 0:
        return {}
    tau = cfg.fixed_point.reg_tau_ms
    d = round(2 ** DECAY_SHIFT * dt / tau)
    if not 1 <= d <= 2 ** DECAY_SHIFT - 1:
        raise UserError(f"fixed_point.reg_tau_ms = {tau:g} gives a 12-bit rate decay of {d} "
                        f"(allowed: reg_tau_ms between {dt * 4096 / 4095.5:.4g} and "
                        f"{dt * 4096 / 1.5:.4g} at dt = {dt:g})")
    impulse = 2 ** (10 + math.floor(math.log2(d)))
    target = round(t.reg_rate_hz / 1000.0 * dt * 2 ** DECAY_SHIFT * impulse / d)
    k = t.reg_coeff * n_err * d / (n_steps * dt ** 2 * 2 ** DECAY_SHIFT * impulse)
    scale = y3_per_signal * k * 2 ** REG_FRAC
    shift = math.floor(math.log2(255 / scale))
    if shift < 0:
        raise UserError(f"training.reg_coeff = {t.reg_coeff:g} is too large for the on-chip "
                        f"regulariser's 8-bit scale (allowed: reg_coeff <= "
                        f"{t.reg_coeff * 255 / scale:.4g} with these settings)")
    return dict(f_decay=d, f_impulse=impulse, f_target=min(target, UV_MAX - 1),
                reg_mant=round(scale * 2 ** shift), reg_shift=shift)


def network_spec(cfg, plan: Plan, weights, n_in: int, n_out: int,
                 classification: bool, n_steps: int | None = None,
                 n_err: float = 1.0) -> NetworkSpec:
    """Integer spec of the network of ``plan`` with float ``weights`` (post x pre);
    ``classification`` selects the softmax cross-entropy error (the task's kind);
    ``n_steps`` (the trial length) enables the regulariser of ``training.reg_coeff``,
    ``n_err`` (:func:`error_steps`) scales it."""
    ro = plan.group("readout")
    fb, b = feedback_format(weights.fb)
    groups, projs, offset = [], {}, 0
    for g in (g for g in plan.groups if g.name != "readout"):
        l_shift = b + 6 + int(math.log2(ro.y3_per_signal)) - int(math.log2(g.y3_per_signal))
        rec = _rec_params(g, l_shift)
        if n_steps is not None:
            rec = rec._replace(**reg_params(cfg, g.y3_per_signal, n_steps, n_err))
        groups.append(GroupSpec(g.name, g.size, offset, rec))
        for pre, w in (("input", weights.w_in), ("recurrent", weights.w_rec)):
            p = plan.projection(f"{pre}->{g.name}")
            projs[p.name] = ProjectionSpec(p.name, _quantize(w[offset:offset + g.size],
                                                             p.weight_per_unit), p.weight_exp, p)
        offset += g.size
    p = plan.projection("recurrent->readout")
    projs[p.name] = ProjectionSpec(p.name, _quantize(weights.w_out, p.weight_per_unit),
                                   p.weight_exp, p)
    return NetworkSpec(n_in=n_in, n_rec=offset, n_out=n_out, groups=tuple(groups),
                       readout=ReadoutParams(ro.du, ro.dv),
                       error=error_params(classification, ro.voltage_scale, ro.y3_per_signal),
                       feedback=fb, feedback_exp=b, projections=projs, readout_scale=ro.voltage_scale,
                       classification=bool(classification),
                       rounding=cfg.fixed_point.rounding)
