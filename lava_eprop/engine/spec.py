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
  ``b`` that keeps ``max|B|`` within 255. Symmetric feedback uses the initial
  ``W_out^T``: B is held by the error process and does not follow the
  readout weights as they learn (a documented limitation);
* per group, the learning-signal shift ``l_shift = b + 6 + log2(Lambda_out) -
  log2(Lambda_rec)``, so ``y3 - 64 = round(Lambda_rec * sum_k B_jk err_k)``
  up to the rounding of ``B`` and of the error payload;
* the targets: regression ``round(y* Q_out 64)`` (readout register units),
  classification one-hot (0/1); the mask as 0/1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from compilers.plan import Plan, Projection
from lava_eprop.engine.neurons import (
    UV_MAX,
    V_SHIFT,
    Y1_FRAC,
    ErrorParams,
    ReadoutParams,
    RecParams,
    error_params,
)

W_MAX = 255               # 8-bit magnitude + sign (Lava's LearningDense / Dense weights)


@dataclass(frozen=True)
class ProjectionSpec:
    """One plastic projection: integer initial weights, exponent and compiled rule."""

    name: str
    weights: np.ndarray   # int64 (n_post, n_pre)
    weight_exp: int
    plan: Projection

    def rule(self, rng_seed: int | None = None):
        return self.plan.learning_rule(rng_seed=rng_seed)


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

    def projection(self, name: str) -> ProjectionSpec:
        return self.projections[name]

    def rule_seed(self, name: str, seed: int) -> int:
        return seed + 10 * list(self.projections).index(name)

    def with_weights(self, weights: dict) -> NetworkSpec:
        """The same network with other integer weights (name -> array)."""
        projs = {name: replace(p, weights=np.asarray(weights[name], np.int64))
                 for name, p in self.projections.items()}
        return replace(self, projections=projs)

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


def network_spec(cfg, plan: Plan, weights, n_in: int, n_out: int,
                 classification: bool) -> NetworkSpec:
    """Integer spec of the network of ``plan`` with float ``weights`` (post x pre);
    ``classification`` selects the softmax cross-entropy error (the task's kind)."""
    ro = plan.group("readout")
    fb, b = feedback_format(weights.fb)
    groups, projs, offset = [], {}, 0
    for g in (g for g in plan.groups if g.name != "readout"):
        l_shift = b + 6 + int(math.log2(ro.y3_per_signal)) - int(math.log2(g.y3_per_signal))
        groups.append(GroupSpec(g.name, g.size, offset, _rec_params(g, l_shift)))
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
                       classification=bool(classification))
