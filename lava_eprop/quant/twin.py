"""The twin: the fixed-point e-prop network's own dynamics, in float64.

The twin runs the model the chip runs (:class:`lava_eprop.engine.FastNetwork`,
the Lava graph) with every quantity a real number: the same integer
parameters as the compiler realised them (12-bit decays, threshold ``vth <<
6``, ``y2_mant / 2^y2_shift``, learning-signal shifts, the rules' real
coefficients ``m 2^e / 2^S``), in the same register units, in the same order
of operations, but with no rounding, truncation, wrapping or saturation:

* neurons: the equations of :mod:`lava_eprop.engine.neurons` (``REC_STEP``,
  ``READOUT_STEP``, ``ERROR_STEP``) in ``FloatArithmetic``: exact decays
  ``x (4096 - d) / 4096``, exact shifts, the exact softmax; reset by
  subtraction with the previous spike, strict ``>`` threshold, refractory
  counter, ``y1..y3`` as the neuron sends them (``y3 - 64 = Lambda L`` of the
  previous step, plus the on-chip firing-rate regulariser's term from the
  neuron's rate trace ``f``);
* synapses (:class:`TwinDense`), Lava's ``LearningDense`` with ``t_epoch = 1``:
  the activation ``w . s * 2^weight_exp`` is sent one step later; the trace
  ``x1[t] = exp(-1/x1_tau) x1[t-1] + x1_impulse s[t]`` includes the spike of
  the same step (the one-step pairing of x1 with the spike); received
  ``y`` values are read multiplied by ``exp(-1/65535)`` (the expectation of
  Lava's stochastic decay of third factors with tau 65535); ``dw``, ``dd``,
  ``dt`` all read ``w``, ``d``, ``t`` from before the step's update;
* initial weights are the float weights times ``weight_per_unit``, not
  rounded; the feedback is ``B 2^b`` (:func:`lava_eprop.engine.spec.feedback_format`;
  symmetric feedback: the caller sets it to the learned ``W_out^T`` between
  trials, as the on-chip trainer does);
  regression targets are ``y* Q 64``, not rounded.

With ``chip=True`` the twin rounds where the chip rounds in its *forward*
path: initial weights ``clip(round(.), +-255)`` with Lava's first-step drop
of the least significant bit, activations shifted with floor, decays
truncated towards zero, 24-bit wrap of ``u`` and saturation of ``v`` and
``b``, ``y2``, ``y1`` and ``y3`` rounded as the kernels do, the rate trace
truncated and the regulariser's term rounded with its residual carried. Stepped
with ``learn=False`` and the error masked out, its spikes, membranes and
readout then equal the fixed-point run's bit for bit as long as it holds the
fixed-point run's weights: from the start until the first weight change of
that run, and for the whole run when it is given that run's weights after
every step (:meth:`TwinNetwork.set_weights`). Masking the error does not stop
the fixed-point run's learning when the firing-rate regulariser is on
(``training.reg_coeff > 0``): its term reaches ``y3``, so weights change
(first in step 398 in ``tests/test_quant_twin.py``), and a twin on its own
weights drifts from there. Learning cannot be made bit-exact this way: Lava's
learning engine rounds the ``x1`` decay, impulses and every
``w``/``t``/``d`` update stochastically with one random number per step and
connection drawn from its own generators (:mod:`lava_eprop.engine.randoms`),
and it reads ``y`` through a stochastic decay; reproducing that is the fast
engine itself.
"""
from __future__ import annotations

import math

import numpy as np

from lava_eprop.engine.neurons import (
    FLOAT_EXACT,
    FloatArithmetic,
    ReadoutState,
    RecParams,
    RecState,
    forms,
    rec_initial,
)
from lava_eprop.engine.spec import W_MAX, NetworkSpec

#: Lava decays received third factors with tau 65535 before a 3F rule reads them.
Y_READ_DECAY = math.exp(-1.0 / 65535)
READOUT = "recurrent->readout"


Arith = FloatArithmetic
"""The few operations where the chip rounds: ``Arith(chip=False)`` exact, ``Arith(chip=True)``
the chip's (:class:`lava_eprop.engine.neurons.FloatArithmetic`)."""

TwinState = RecState
"""The twin's recurrent state: the fields of the integer kernel's :class:`RecState`
(``u, v, b, z, r, f, q``) as float64 in register units (``q`` stays 0 without rounding)."""


def twin_initial(shape, p: RecParams) -> TwinState:
    """Zero state with the rate trace at its target (the regulariser starts silent)."""
    return TwinState(*(np.asarray(x, float) for x in rec_initial(shape, p)))


def rec_step(s: TwinState, a_in, l_in, p: RecParams, ar: Arith):
    """One step of the recurrent LIF / ALIF neuron: :data:`~lava_eprop.engine.neurons.REC_STEP`
    in ``ar``. Returns the new state and ``(z, y1, y2, y3)`` as sent."""
    return forms(ar).rec_step(s, a_in, l_in, p)


class TwinDense:
    """Float ``LearningDense`` with the plan's rules, ``n_instances`` copies.

    Parameters
    ----------
    weights : ndarray, (n_instances, n_post, n_pre)
        Weights in integer units (``weight_per_unit * W``), float.
    projection : compilers.plan.Projection
        Rules, ``x1_impulse``, ``x1_tau`` and ``weight_exp``.
    ar : Arith
        With ``chip``, the activation is shifted with floor.
    """

    def __init__(self, weights: np.ndarray, projection, ar: Arith) -> None:
        self.w = np.array(weights, float)
        self.t = np.zeros_like(self.w)
        self.d = np.zeros_like(self.w)
        self.x1 = np.zeros(self.w.shape[:1] + self.w.shape[2:])
        self.a_buff = np.zeros(self.w.shape[:2])
        self.weight_exp = projection.weight_exp
        self.x1_decay = math.exp(-1.0 / projection.x1_tau)
        self.x1_impulse = float(projection.x1_impulse)
        self.rules = {target[1:]: products for target, products in projection.products().items()}
        self.ar = ar

    def step(self, s_in, y=(0.0, 0.0, 0.0), learn: bool = True) -> np.ndarray:
        """One step: send last step's activation, take spikes ``s_in`` [I, n_pre] and the
        third factors ``y = (y1, y2, y3)`` [I, n_post] of the post neurons, learn."""
        a_out = self.a_buff
        self.a_buff = self.ar.shr(np.einsum("ipq,iq->ip", self.w, np.asarray(s_in, float)),
                                  -self.weight_exp)
        self.x1 = self.x1_decay * self.x1 + self.x1_impulse * np.asarray(s_in, float)
        if learn:
            values = {"x1": self.x1[:, None, :], "w": self.w, "t": self.t, "d": self.d}
            for k, yk in enumerate(y, start=1):
                values[f"y{k}"] = Y_READ_DECAY * np.asarray(yk, float)[..., None]
            changes = {target: sum(p.coefficient * math.prod(values[f] + o for f, o in p.factors)
                                   for p in products)
                       for target, products in self.rules.items()}
            for target, change in changes.items():
                setattr(self, target, getattr(self, target) + change)
        return a_out


def twin_weights(spec: NetworkSpec, float_weights, ar: Arith) -> dict:
    """Initial weights per projection (instance axis of 1) in integer units: exact, or
    with ``chip`` as the fixed-point network holds them after its first step."""
    rows = {g.name: slice(g.offset, g.offset + g.size) for g in spec.groups}
    out = {}
    for name, p in spec.projections.items():
        pre, post = name.split("->")
        w = float_weights.w_out if post == "readout" else \
            (float_weights.w_in if pre == "input" else float_weights.w_rec)[rows[post]]
        w = np.asarray(w, float) * p.plan.weight_per_unit
        if ar.chip:    # round to 8 bits + sign; Lava drops the LSB of mixed weights on step 1
            w = 2.0 * np.floor(np.clip(np.round(w), -W_MAX, W_MAX) / 2.0)
        out[name] = w[None]
    return out


class TwinNetwork:
    """The twin of :class:`lava_eprop.engine.FastNetwork`, stepped in the same order.

    Parameters
    ----------
    spec : NetworkSpec
        Parameters (its integer weights are not used).
    weights : dict
        Initial weights per projection, (1, n_post, n_pre) integer units
        (:func:`twin_weights`).
    feedback : ndarray, (n_rec, n_out)
        ``B 2^feedback_exp``.
    chip : bool
        Round the forward path as the chip does (see the module docstring).
    n_instances : int
        Independent copies, all starting from ``weights``.
    """

    def __init__(self, spec: NetworkSpec, weights: dict, feedback: np.ndarray,
                 chip: bool = False, n_instances: int = 1) -> None:
        self.spec, self.ar = spec, Arith(chip)
        self.dense = {name: TwinDense(np.broadcast_to(weights[name], (n_instances,)
                                                      + np.shape(weights[name])[-2:]),
                                      spec.projection(name).plan, self.ar)
                      for name in spec.projections}
        self.rec = {g.name: twin_initial((n_instances, g.size), g.rec) for g in spec.groups}
        self.readout_u = self.readout_v = np.zeros((n_instances, spec.n_out))
        self.l_buff = np.zeros((n_instances, spec.n_rec))
        self.feedback = np.asarray(feedback, float)

    def step(self, x, target, mask, learn: bool = True) -> np.ndarray:
        """One step, as :meth:`FastNetwork.step`; ``x`` [I, n_in], ``target`` [I, n_out] in
        register units (regression) or one-hot, ``mask`` [I]; returns the spikes [I, n_rec]."""
        outs = {}
        for g in self.spec.groups:
            a_in = self.dense[f"input->{g.name}"].a_buff + self.dense[f"recurrent->{g.name}"].a_buff
            l_in = self.l_buff[:, g.offset:g.offset + g.size]
            self.rec[g.name], outs[g.name] = rec_step(self.rec[g.name], a_in, l_in, g.rec, self.ar)
        z = np.concatenate([o[0] for o in outs.values()], -1)
        a_out = self.dense[READOUT].a_buff
        for g in self.spec.groups:
            y = outs[g.name][1:]
            self.dense[f"input->{g.name}"].step(x, y, learn)
            self.dense[f"recurrent->{g.name}"].step(z, y, learn)
        self.readout_u, self.readout_v = forms(self.ar).readout_step(
            ReadoutState(self.readout_u, self.readout_v), a_out, self.spec.readout)
        e, y3_out = forms(FLOAT_EXACT).error_step(self.readout_v, target, mask, self.spec.error)
        self.l_buff = e @ self.feedback.T
        self.dense[READOUT].step(z, (0.0, 0.0, y3_out), learn)
        return z

    def membrane(self) -> np.ndarray:
        """``v`` of every recurrent neuron, groups concatenated [I, n_rec]."""
        return np.concatenate([self.rec[g.name].v for g in self.spec.groups], -1)

    def weights(self) -> dict:
        """Current weights per projection, [I, n_post, n_pre] integer units."""
        return {name: d.w for name, d in self.dense.items()}

    def set_weights(self, weights: dict) -> None:
        """Replace the weights of the projections named in ``weights``, [I, n_post, n_pre]
        integer units (e.g. the fixed-point run's after a step); the next step sends
        activations computed from them, one step later."""
        for name, w in weights.items():
            self.dense[name].w = np.array(np.broadcast_to(w, self.dense[name].w.shape), float)
