"""What the products of a learning rule read during one learning epoch.

Mirrors ``_extract_applier_args`` / ``_extract_applier_evaluated_traces`` of
``LearningConnectionModelBitApproximate``
(``lava/magma/core/model/py/connection.py``) and the factor evaluation of
``LearningRuleApplierBitApprox._compute_factor``: a trace is read at the
step its product's dependency names (the presynaptic neuron's last spike of
the epoch for ``x0``, the postsynaptic neuron's for ``y0``, the end of the
epoch for ``u``), gets its constant added and is saturated to its width.

Saturation is elementwise, so it is applied to the neuron vectors before
they are expanded to synapses. Shapes broadcast to
(n_instances, n_post, n_pre): pre-side values are (n, 1, n_pre), post-side
values (n, n_post, 1), values read at another neuron's spike step
(n, n_post, n_pre).
"""
from __future__ import annotations

import numpy as np

from lava_eprop.engine import rule_eval
from lava_eprop.engine.traces import at_other_time, at_own_time
from lava_eprop.loihi import symbols as sym


class EpochOperands:
    """Operands of one epoch; implements :class:`rule_eval.Operands`.

    Parameters
    ----------
    x0, tx : ndarray, (n_instances, n_pre)
        Pre-spike flags and within-epoch spike steps.
    y0, ty : ndarray, (n_instances, n_post)
        Post-spike flags and within-epoch spike steps.
    u : int
        The ``u<k>`` dependency of this epoch (0 or 1).
    histories : dict
        Trace name -> list of (n_instances, n) values at steps 0..t_epoch.
    synaptic : dict
        Lava Var name (weights, tag_1, tag_2) -> (values, whether every value
        already lies within the 9-bit factor range).
    """

    def __init__(self, *, x0, y0, tx, ty, u: int, histories: dict, synaptic: dict) -> None:
        self._x0, self._y0, self._tx, self._ty, self._u = x0, y0, tx, ty, u
        self._histories = histories
        self._synaptic = synaptic
        self._cache = {}

    def dependency(self, name: str):
        if name == sym.U:
            return self._u
        if name == sym.X0:
            return self._x0[:, None, :]
        return self._y0[:, :, None]

    def factor(self, factor: rule_eval.FactorPlan, dependency: str) -> np.ndarray:
        key = (id(factor), dependency)  # plans outlive the epoch: ids are stable
        if key not in self._cache:
            self._cache[key] = self._evaluate(factor, dependency)
        return self._cache[key]

    def _evaluate(self, factor: rule_eval.FactorPlan, dependency: str) -> np.ndarray:
        if factor.var == sym.C:
            bound = 2 ** factor.width
            return np.asarray(np.clip(factor.const, -bound, bound - 1)).astype(np.int32)
        if factor.var in (sym.X0, sym.Y0):
            flags = self.dependency(factor.var).astype(np.int32)
            return rule_eval.saturate_factor(flags, factor)
        if factor.var in sym.SYNAPTIC_VARIABLES:
            values, in_range = self._synaptic[sym.SYNAPTIC_VARIABLE_VAR_MAPPING[factor.var]]
            if factor.const == 0 and not factor.is_sgn and in_range:
                return values  # saturation would change nothing
            return rule_eval.saturate_factor(values, factor)
        history = [rule_eval.saturate_factor(h, factor) for h in self._histories[factor.var]]
        pre = factor.var in sym.PRE_TRACES
        if dependency == sym.U:
            return history[-1][:, None, :] if pre else history[-1][:, :, None]
        if dependency == sym.X0:
            if pre:
                return at_own_time(history, self._tx)[:, None, :]
            return at_other_time(history, self._tx)
        if pre:  # y0: pre trace at each post neuron's spike step
            return at_other_time(history, self._ty).transpose(0, 2, 1)
        return at_own_time(history, self._ty)[:, :, None]
