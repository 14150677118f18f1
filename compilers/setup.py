"""What the compiler reads from a config: float constants, sizes, rates, options.

The float constants follow :mod:`lava_eprop.reference.params` (recomputed
here: the compiler does not import the runtime): ``alpha = exp(-dt/tau_m)``,
``rho = exp(-dt/tau_a)``, ``kappa = exp(-dt/tau_out)``, ``s_in = 1 - alpha``
with ``input_scaling`` (else 1), ``s_out = 1 - kappa`` with
``readout_scaling`` (else 1), ``beta`` defaulting to
``1.7 (1 - rho) / (1 - alpha)``.
"""
from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from compilers import neurons as nrn
from compilers.checks import Checker, at_least, between, equal
from lava_eprop.errors import UserError
from lava_eprop.tasks import task_shape
from lava_eprop.tasks.dataset import training_input_rate_hz


@dataclass(frozen=True)
class Setup:
    """Float constants and sizing inputs of one compilation."""

    cfg: object
    dt: float
    alpha: float
    kappa: float
    rho: float
    s_in: float
    s_out: float
    beta: float
    n_in: int
    n_out: int
    rate_in: float
    rate_in_key: str
    eta: float
    eta_key: str
    lam: float

    @property
    def v_th(self) -> float:
        return self.cfg.network.v_th

    @property
    def gamma(self) -> float:
        return self.cfg.network.dampening

    @property
    def n_ref(self) -> int:
        return self.cfg.network.refractory_steps

    @property
    def n_rec(self) -> int:
        return self.cfg.network.n_rec

    @property
    def tau_a(self) -> float:
        return self.cfg.network.tau_a

    @property
    def tau_out(self) -> float:
        return self.cfg.network.tau_out

    @property
    def rate_rec(self) -> float:
        return self.cfg.training.reg_rate_hz

    @property
    def headroom(self) -> float:
        return self.cfg.fixed_point.headroom

    @property
    def error_max(self) -> float:
        return self.cfg.fixed_point.error_max

    @property
    def drop_eps(self) -> bool:
        return self.cfg.fixed_point.drop_alif_eps

    @property
    def options(self) -> dict:
        """The ``fixed_point`` section with its nulls resolved."""
        return {**dict(self.cfg.fixed_point), "learning_rate": self.eta,
                "input_rate_hz": self.rate_in}

    @property
    def recurrent_groups(self) -> list[tuple[str, int, str]]:
        """``(name, size, model)``: LIF neurons first, then ALIF (the reference's order)."""
        net = self.cfg.network
        n_alif = 0 if net.neuron == "lif" else (
            net.n_rec if net.n_adaptive is None else net.n_adaptive)
        groups = [("lif", net.n_rec - n_alif, "lif"), ("alif", n_alif, "alif")]
        return [g for g in groups if g[1] > 0]

    def weight_spec(self, pre: str) -> nrn.WeightSpec:
        """The weights of the projections from ``pre`` (input, recurrent or readout)."""
        net, fp = self.cfg.network, self.cfg.fixed_point
        key, fan_in, exp_key, s = {
            "input": ("w_in_scale", self.n_in, "weight_exp_in", self.s_in),
            "recurrent": ("w_rec_scale", self.n_rec, "weight_exp_rec", self.s_in),
            "readout": ("w_out_scale", self.n_rec, "weight_exp_out", self.s_out)}[pre]
        scale = net[key] or 1.0
        return nrn.WeightSpec(pre, f"network.{key}", scale, scale / math.sqrt(fan_in), s,
                              f"fixed_point.{exp_key}", fp[exp_key], fp.weight_range, fan_in)


def trace_steps(tau: float, dt: float) -> int:
    """``x1_tau``: ``tau / dt`` rounded half up (Lava's traces decay by ``exp(-1/x1_tau)``)."""
    return math.floor(tau / dt + 0.5)


def make_setup(cfg, check: Checker) -> Setup:
    """Derive the float constants; refuse what has no on-chip rule at all."""
    net, train, fp = cfg.network, cfg.training, cfg.fixed_point
    if train.method != "eprop":
        check.refuse("training.method", train.method, "only e-prop has an on-chip learning "
                     "rule", equal("training.method", "eprop"))
    if net.dampening == 0:
        check.refuse("network.dampening", net.dampening, "a zero pseudo-derivative leaves "
                     "nothing to learn on chip", at_least("network.dampening", 0, strict=True))
    dt = net.dt
    for key in ("tau_m", "tau_out"):   # x1_tau = floor(tau/dt + 0.5) in 1..255 (8 bits)
        if not 0.5 <= net[key] / dt < 255.5:
            check.refuse(f"network.{key}", net[key], f"x1_tau = tau/dt = {net[key] / dt:.4g} "
                         f"steps at dt = {dt:g} does not round to 1..255",
                         between(f"network.{key}", 0.5 * dt, 255.5 * dt, high_strict=True))
    alpha, kappa, rho = (math.exp(-dt / tau) for tau in (net.tau_m, net.tau_out, net.tau_a))
    beta = 0.0
    if net.neuron == "alif":
        beta = net.beta if net.beta is not None else 1.7 * (1 - rho) / (1 - alpha)
    n_in, n_out = io_sizes(cfg)
    rate_in, rate_key = fp.input_rate_hz, "fixed_point.input_rate_hz"
    if rate_in is None and cfg.task["name"] == "dataset":
        rate_in = training_input_rate_hz(cfg.task, cfg.base_dir, dt)
    elif rate_in is None:
        rate_in, rate_key = cfg.task["input_rate_hz"], "task.input_rate_hz"
    eta, eta_key = fp.learning_rate, "fixed_point.learning_rate"
    if eta is None:
        eta, eta_key = train.learning_rate, "training.learning_rate"
    fb_key, fb_scale = ("network.w_out_scale", net.w_out_scale or 1.0) \
        if train.feedback == "symmetric" else ("training.feedback_scale", train.feedback_scale)
    b_max = fp.weight_range * fb_scale / math.sqrt(net.n_rec)   # a zero w_out_scale: as 1
    lam = nrn.signal_scale(fp.error_max * n_out * b_max)
    if lam is None:
        _refuse_signal_range(check, {"fixed_point.error_max": fp.error_max,
                                     "fixed_point.weight_range": fp.weight_range,
                                     fb_key: fb_scale}, n_out / math.sqrt(net.n_rec))
    return Setup(cfg, dt, alpha, kappa, rho, (1 - alpha) if net.input_scaling else 1.0,
                 (1 - kappa) if net.readout_scaling else 1.0, beta, n_in, n_out, rate_in,
                 rate_key, eta, eta_key, lam)


def _refuse_signal_range(check: Checker, factors: dict, rest: float):
    """Learning signals up to ``rest * prod(factors)`` leave the float range of ``Lambda``:
    name the factor furthest from 1, with the range that brings the product into
    :data:`compilers.neurons.SIGNAL_RANGE` (computed in log2, as the product may underflow)."""
    log_signal = math.log2(rest) + sum(math.log2(x) for x in factors.values())
    key = max(factors, key=lambda k: abs(math.log2(factors[k])))
    log_other = log_signal - math.log2(factors[key])
    low, high = (math.log2(bound) - log_other for bound in nrn.SIGNAL_RANGE)
    check.refuse(key, factors[key], f"learning signals up to 2^{log_signal:.1f} (error_max * "
                 "n_out * weight_range * feedback std) cannot be scaled into y3",
                 between(key, 2.0 ** min(low, 1023.0), 2.0 ** min(high, 1023.0)))


def io_sizes(cfg) -> tuple[int, int]:
    """``(n_in, n_out)`` of the task: its type's :meth:`~lava_eprop.tasks.Task.shape`,
    or a dataset's read from its ``.npz`` header."""
    task = cfg.task
    if task["name"] != "dataset":
        shape = task_shape(cfg)
        return shape.n_in, shape.n_out
    path = Path(task["path"])
    path = path if path.is_absolute() else Path(cfg.base_dir) / path
    try:
        with np.load(path, allow_pickle=False) as data:
            inputs, targets = data["inputs"], data["targets"]
            n_in = int(inputs.shape[-1])
            if targets.ndim == 1:
                return n_in, max(int(targets.max()) + 1, 2)
            return n_in, int(targets.shape[-1])
    except (OSError, KeyError, ValueError, IndexError, EOFError, zipfile.BadZipFile) as exc:
        raise UserError(f"task.path = '{task['path']}': cannot read inputs and targets to size "
                        f"the network ({type(exc).__name__}: {exc}) (allowed: an .npz with "
                        "'inputs' [N, T, n_in] and 'targets' [N] or [N, T, n_out])") from None


def notes_for(cfg, s: Setup) -> list[str]:
    """What the plan cannot carry over from the float config, in words."""
    net, train = cfg.network, cfg.training
    notes = [(f"On chip the weights learn by online SGD every step with learning rate {s.eta:g} "
              f"({s.eta_key}).")]
    if cfg.task["name"] == "dataset" and cfg.fixed_point.input_rate_hz is None:
        notes.append(f"fixed_point.input_rate_hz = null: the input traces are sized for "
                     f"{s.rate_in:.4g} Hz, the mean rate of the dataset's training inputs "
                     "(over trials, channels and steps).")
    if train.optimizer != "sgd" or train.update != "online":
        notes.append(f"training.optimizer = {train.optimizer} and training.update = "
                     f"{train.update} describe the float training only.")
    if train.lr_decay < 1:
        notes.append(f"Learning-rate schedule: the host scales each trial's weight change by "
                     f"training.lr_decay = {train.lr_decay:g} every training.lr_decay_every = "
                     f"{train.lr_decay_every} iterations (rounded stochastically when it reads "
                     "the weights between trials); the rules keep their coefficients.")
    notes.append("Each epoch the rules read x1 (with this step's presynaptic spike) and the y "
                 "values received this step, and w, t, d from before the update: y2 must be the "
                 "psi that this x1 drives, y3 of a recurrent group the learning signal of the "
                 "previous step (the tag is one step old), y3 of the readout the error that "
                 "matches this step's x1.")
    if s.recurrent_groups[-1][0] == "alif" and not s.drop_eps and s.beta > 0:
        notes.append("ALIF eps is held in d (Lava's tag_2). Lava documents tag_2 as the "
                     "synaptic delay; its CPU models ignore it for delivery, but on Loihi 2 "
                     "learning it could move spike delivery. Hardware-safe: "
                     "fixed_point.drop_alif_eps: true.")
    if train.reg_coeff > 0:
        notes.append("The firing-rate regulariser is added to y3 by the neurons from a rate "
                     f"trace (time constant fixed_point.reg_tau_ms = "
                     f"{cfg.fixed_point.reg_tau_ms:g} ms, not the trial mean); on chip the tag "
                     "filters it like the task term (the float reference applies it to the "
                     "unfiltered eligibility). Its strength keeps the float loss's balance with "
                     "the chip's error, which is summed per step of one trial: c_reg n_err "
                     "(f - f0) / (T dt), n_err the error steps per trial for classification "
                     "(1 for regression), not divided by the batch size.")
    if cfg.fixed_point.rounding == "stochastic":
        notes.append("fixed_point.rounding = stochastic: on the CPU (--engine fixed and "
                     "--engine lava) these rules' products and synapses round stochastically, "
                     "each with a number of its own, where Lava's own LearningDense model "
                     "floors products and shares one number per step (a hypothesis about "
                     "Loihi 2); the rules, the hardware graph and the exported configuration "
                     "are the same.")
    if train.feedback == "adaptive":
        notes.append("Adaptive feedback: B is not a plastic projection here; it stays fixed.")
    if train.feedback == "symmetric":
        notes.append("Symmetric feedback: B (held by the error process) is set to the learned "
                     "W_out^T between trials, constant within a trial.")
    if net.readout_bias:
        notes.append("Readout biases have no synapse and are not learned by these rules.")
    if not net.self_connections:
        notes.append("A LearningDense updates every synapse, so the recurrent autapses "
                     "learn within a trial; lava-eprop train --engine fixed/lava and "
                     "quant-report set them back to zero after every trial, deploy --learn "
                     "after its trial.")
    return notes
