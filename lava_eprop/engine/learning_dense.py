"""Vectorised, bit-exact emulation of Lava's fixed-point ``LearningDense``.

Mirrors ``PyLearningDenseModelBitApproximate`` (``lava/proc/dense/models.py``)
on top of ``LearningConnectionModelBitApproximate`` /
``PyLearningConnection`` (``lava/magma/core/model/py/connection.py``), Lava
0.10.0, with a leading axis of independent instances: each instance is one
chip's connection with its own weights, tags and traces, learning with the
same rule.

Per-step order of operations (step ``ts = 1, 2, ...``; ``T = t_epoch``;
``k(ts) = ts mod T``, or ``T`` when that is 0; widths as on Loihi 2)::

    spiking phase (run_spk)
      0. on the first step only: truncate the initial weights to
         num_weight_bits (w = (w >> b) << b, b = 8 - num_weight_bits + [mixed];
         sign flipped around it for inhibitory weights)
      1. a_out = a_buff of the previous step (0 at ts = 1), sent as int32
      2. a_buff = (sum of w[:, i] over spiking pre i)   binary spikes, or
                  int32(w . payload)                     num_message_bits > 0,
         then << weight_exp (weight_exp > 0) or >> -weight_exp (arithmetic)
      3. pre spikes (s_in != 0): a neuron already spiking earlier in this
         epoch (tx > 0) gets its impulses added at once, x1 and x2:
         x = clip(x + floor(I) + [0 < frac8(I)], 0, 127);
         then tx = k(ts) for every spiking neuron
      4. advance the pre and post trace random streams
      5. 2F / 3F rules (plain rules skip 5): y0 |= bap; a post neuron
         already spiking in this epoch gets impulses on y1, y2, y3 with the
         post impulse integer r_i: y = clip(y + floor(I) + [r_i < frac8(I)],
         0, 127); ty = k(ts) for every spiking neuron
         3F rules then set y1, y2, y3 = the received values (no clipping)
      6. advance the pre and post trace random streams again
    learning phase (run_lrn), when ts mod T == 0
      7. advance the synaptic-variable random stream
      8. x0 = tx > 0, y0 = ty > 0
      9. epoch histories of the traces (steps 0..T, step 0 = stored value):
         step t = stochastic decay of step t-1 with the stream's current
         double r_d (floor(e^(-1/tau) v) + [r_d < frac]), or 0 if tau = 0,
         then an impulse (as in 3, but with the current impulse integer) on
         neurons whose tx (ty) equals t. For 3F rules y taus are 65535 and
         impulses 0: the y values a rule reads are the received ones moved
         one unit towards 0 with probability |y| / 65535 per epoch step, and
         clipped to [0, 127] at the post neuron's bap step (a negative y of
         a neuron that spiked reads as 0); the stored y are unchanged
     10. x1, x2 = history at T; 2F rules also y1, y2, y3 = history at T
         (3F rules keep the received y values)
     11. dw, dd, dt (in that order, each reading w, d, t from before the
         epoch) as in :mod:`lava_eprop.engine.rule_eval`, traces read at
         step tx (x0 products), ty (y0 products) or T (u products);
         u = 1 if (ts div T) mod 2^k == 0
     12. x0 = y0 = tx = ty = 0

Random numbers (see :mod:`lava_eprop.engine.randoms`): one pre-trace pair
(decay double, impulse integer) seeded ``rng_seed``/``rng_seed + 1``, one
post pair ``rng_seed + 2``/``rng_seed + 3`` and one synaptic-variable double
with seed 2 (Lava ignores ``rng_seed`` there); each number is shared by all
synapses and traces of an instance.

Multiple instances: instance ``i`` reproduces, bit for bit, an independent
Lava run of ``LearningDense`` with the same rule whose ``rng_seed`` is
``rng_seeds[i]`` (default: the rule's own seed for every instance, so all
instances then see identical trace random numbers). The synaptic-variable
numbers are identical across instances in any case, since Lava seeds them
with 2.

Only ``GradedSpikeCfg.USE_REGULAR_IMPULSE`` (Lava's default) is emulated.

``rounding="stochastic"`` runs the stochastic model instead of Lava's
rounding in step 11 (:mod:`lava_eprop.engine.rule_eval`: every product's
right shift and every synapse's accumulator rounded with a number of its
own), the model :mod:`process_models.learning_dense` runs in Lava. Its
numbers are keyed by each instance's ``rng_seed``, the step and the
variable (:mod:`lava_eprop.engine.counter_rng`); everything else, trace
random numbers included, is as above.

Two implementations of this specification: the NumPy methods of
:class:`LearningDenseEngine` (the readable one) and the compiled path of
:mod:`lava_eprop.engine.fused` and :mod:`lava_eprop.engine.rule_codegen`
(numba; used when numba is installed, unless ``fused=False``). They agree
bit for bit, and count the same saturation and wrap-around events
(:attr:`LearningDenseEngine.counters`). The compiled path updates the state
arrays in place: assign only C-ordered arrays of the same shape and dtype.
"""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence

import numpy as np

from lava_eprop.engine import fused as fused_kernel
from lava_eprop.engine import rule_codegen, rule_eval
from lava_eprop.engine.fused import POST_TRACES, PRE_TRACES
from lava_eprop.engine.operands import EpochOperands
from lava_eprop.engine.randoms import TraceRandomStreams, synaptic_variable_stream
from lava_eprop.engine.traces import (
    add_impulse,
    decay_factors,
    epoch_history,
    split_impulses,
)
from lava_eprop.loihi.constants import (
    W_WEIGHTS_S,
    W_WEIGHTS_U,
    GradedSpikeCfg,
    SignMode,
    as_sign_mode,
)
from lava_eprop.loihi.rule import LearningRule, as_learning_rule

STATE_VARS = ("weights", "tag_1", "tag_2", "x0", "tx", "x1", "x2", "y0", "ty",
              "y1", "y2", "y3", "a_buff")
_SYNAPTIC = ("weights", "tag_1", "tag_2")
#: Synaptic variables in [-2^9, 2^9 - 1] need no saturation as factors.
_FACTOR_LIMIT = 2 ** W_WEIGHTS_S
#: Initial synaptic variables must fit 32 bits once shifted into the accumulator.
_INITIAL_LIMIT = 2 ** 23
#: Steps whose random numbers the compiled path draws at once.
_RANDOM_CHUNK = 256
#: Random numbers a step of the compiled path reads (``fused_kernel.RANDOM_COLUMNS``).
_N_RANDOM = len(fused_kernel.RANDOM_COLUMNS)
#: A side's trace parameters, each (k, 1), k its traces; in the order of the
#: compiled path's trace parameter rows (``fused_kernel.TRACE_PARAMS``).
TraceParams = namedtuple("TraceParams", fused_kernel.TRACE_PARAMS)


def _wrap_int32(values: np.ndarray) -> np.ndarray:
    """Two's-complement wrap to 32 bits (what an int32 register/port does)."""
    return values.astype(np.int64).astype(np.int32)


def _unstack(history: list) -> list:
    """Per-trace histories from stacked ones: k lists of (n_instances, n)."""
    return [[step[:, k] for step in history] for k in range(history[0].shape[1])]


def truncate_weights(weights: np.ndarray, sign_mode: SignMode,
                     num_weight_bits: int) -> np.ndarray:
    """Drop the low bits Lava drops on the first step (``truncate_weights``);
    ``sign_mode`` may also be Lava's ``SignMode``."""
    sign_mode = as_sign_mode(sign_mode)
    flip = -1 if sign_mode == SignMode.INHIBITORY else 1
    # 8-bit weight magnitude (+ sign bit when mixed) keeps num_weight_bits
    bits = W_WEIGHTS_U - num_weight_bits + int(sign_mode == SignMode.MIXED)
    magnitude = flip * weights.astype(np.int32)
    return (flip * ((magnitude >> bits) << bits)).astype(np.int32)


class LearningDenseEngine:
    """``n_instances`` copies of a fixed-point ``LearningDense``, stepped together.

    Parameters
    ----------
    weights : array_like, int, (n_post, n_pre) or (n_instances, n_post, n_pre)
        Initial weights (cast to int32 as Lava does; truncated on step 1).
    learning_rule : LearningRule or Lava rule
        The rule: a :class:`~lava_eprop.loihi.rule.LearningRule` or Lava's
        ``Loihi3FLearningRule``, ``Loihi2FLearningRule`` or their plain base
        class, each kind handled as Lava handles it.
    n_instances : int
        Number of independent instances.
    tag_1, tag_2 : array_like, optional
        Initial tags ``t`` and ``d`` (zeros by default), shaped like weights.
    num_weight_bits, weight_exp, sign_mode, num_message_bits
        As for Lava's ``LearningDense`` (sign_mode defaults to MIXED there;
        the product's or Lava's ``SignMode``).
    graded_spike_cfg : GradedSpikeCfg
        Only ``USE_REGULAR_IMPULSE`` is supported.
    rng_seeds : sequence of int, optional
        Per-instance ``rng_seed`` (default: ``learning_rule.rng_seed``).
    fused : bool, optional
        Run each step compiled (:mod:`lava_eprop.engine.fused`) or with the
        NumPy methods; default: compiled when numba is installed.
    rounding : {"lava", "stochastic"}
        ``lava`` (default): Lava's arithmetic; ``stochastic``: the
        stochastic model (module docstring).

    Attributes
    ----------
    weights, tag_1, tag_2 : ndarray, int32, (n_instances, n_post, n_pre)
        Synaptic variables ``w``, ``t`` (tag_1) and ``d`` (tag_2); Lava holds
        the same values (tags as int64).
    x0, tx : ndarray, (n_instances, n_pre)
        Pre dependency flag and within-epoch step of the last pre spike.
    y0, ty : ndarray, (n_instances, n_post)
        The same for post spikes.
    x_traces : ndarray, int64, (n_instances, 2, n_pre)
        x1, x2 (also readable as ``x1``, ``x2``).
    y_traces : ndarray, int64, (n_instances, 3, n_post)
        y1, y2, y3 (also readable as ``y1``, ``y2``, ``y3``).
    a_buff : ndarray, int64, (n_instances, n_post)
        Activation to be sent on the next step.
    time_step : int
        Steps run so far.
    fused : bool
        Whether the compiled path runs the steps.
    """

    def __init__(self, *, weights, learning_rule: LearningRule, n_instances: int = 1,
                 tag_1=None, tag_2=None, num_weight_bits: int = 8, weight_exp: int = 0,
                 sign_mode: SignMode = SignMode.MIXED, num_message_bits: int = 0,
                 graded_spike_cfg: GradedSpikeCfg = GradedSpikeCfg.USE_REGULAR_IMPULSE,
                 rng_seeds: Sequence[int] | None = None,
                 fused: bool | None = None, rounding: str = "lava") -> None:
        if rounding not in rule_codegen.ROUNDINGS:
            raise ValueError(f"rounding must be one of {rule_codegen.ROUNDINGS}, "
                             f"got {rounding!r}")
        if graded_spike_cfg != GradedSpikeCfg.USE_REGULAR_IMPULSE:
            raise NotImplementedError("only GradedSpikeCfg.USE_REGULAR_IMPULSE is emulated, "
                                      f"got {graded_spike_cfg!r}")
        sign_mode = as_sign_mode(sign_mode)
        if sign_mode not in (SignMode.MIXED, SignMode.EXCITATORY, SignMode.INHIBITORY):
            raise ValueError("sign_mode must be MIXED, EXCITATORY or INHIBITORY, "
                             f"got {sign_mode!r}")
        weights = np.asarray(weights)
        self.n_post, self.n_pre = weights.shape[-2:]
        if self.n_pre >= _INITIAL_LIMIT // 2:
            raise ValueError("at most 2^22 presynaptic neurons are supported")
        self.n_instances = n_instances
        shape = (n_instances, self.n_post, self.n_pre)
        initial = {"weights": weights, "tag_1": 0 if tag_1 is None else tag_1,
                   "tag_2": 0 if tag_2 is None else tag_2}
        for name, values in initial.items():
            values = np.broadcast_to(np.asarray(values), shape).astype(np.int64)
            if values.size and np.abs(values).max() >= _INITIAL_LIMIT:
                raise ValueError(f"initial {name} must lie within +-2^23")
            setattr(self, name, values.astype(np.int32, order="C"))  # the kernel needs C order
        self._within_factor_range = {}
        self._check_factor_range()
        self.num_weight_bits = num_weight_bits
        self.weight_exp = weight_exp
        self.sign_mode = sign_mode
        self.num_message_bits = num_message_bits
        learning_rule = as_learning_rule(learning_rule)
        self.rule = learning_rule
        self.rule_kind = learning_rule.kind  # plain: Lava reads neither bap nor y values
        self.t_epoch = learning_rule.t_epoch
        self._plans = rule_eval.compile_rules(learning_rule)
        used = {f.var for plan in self._plans for p in plan.products for f in p.factors}
        self._post_history_needed = self.rule_kind == "2F" or bool(used & set(POST_TRACES))
        self._x_params = self._trace_params(PRE_TRACES)
        self._y_params = self._trace_params(POST_TRACES)
        seeds = np.asarray([learning_rule.rng_seed] * n_instances if rng_seeds is None
                           else rng_seeds, dtype=np.int64)
        if seeds.shape != (n_instances,):
            raise ValueError(f"rng_seeds needs {n_instances} seeds, got {seeds.shape}")
        self._seeds = seeds
        self._x_random = TraceRandomStreams(seeds, seeds + 1)
        self._y_random = TraceRandomStreams(seeds + 2, seeds + 3)
        self._syn_random = synaptic_variable_stream(n_instances)

        pre, post = (n_instances, self.n_pre), (n_instances, self.n_post)
        self.x0, self.tx = np.zeros(pre, bool), np.zeros(pre, np.int64)
        self.y0, self.ty = np.zeros(post, bool), np.zeros(post, np.int64)
        self.x_traces = np.zeros((n_instances, len(PRE_TRACES), self.n_pre), np.int64)
        self.y_traces = np.zeros((n_instances, len(POST_TRACES), self.n_post), np.int64)
        self.a_buff = np.zeros(post, np.int64)
        self.time_step = 0
        self._counts = np.zeros(len(fused_kernel.COUNTERS), np.int64)
        if fused and not fused_kernel.AVAILABLE:
            raise ValueError("fused=True needs numba, which is not installed")
        self.fused = fused_kernel.AVAILABLE if fused is None else bool(fused)
        self.rounding = rounding
        if self.fused:
            self._init_fused()

    def _trace_params(self, names: Sequence[str]) -> TraceParams:
        """Decay factors, impulse integer parts and impulse fractions of the traces."""
        taus = [getattr(self.rule, f"{name}_tau") for name in names]
        impulse_int, impulse_frac = split_impulses(
            [getattr(self.rule, f"{name}_impulse") for name in names])
        return TraceParams(decay=decay_factors(taus), impulse_int=impulse_int,
                           impulse_frac=impulse_frac)

    @property
    def counters(self) -> dict:
        """Saturation and wrap-around events so far, summed over instances:
        ``weights``, ``tag_1``, ``tag_2`` (synapse-epochs whose update a
        wrap or saturation changed: the 32-bit product, the 16-bit product or
        accumulator, the sign, the 9-bit variable), ``x1``, ``x2``, ``y1``,
        ``y2``, ``y3`` (impulse additions the 7-bit saturation changed),
        ``a_buff`` (activations outside int32, wrapped when sent)."""
        return {name: int(n) for name, n in zip(fused_kernel.COUNTERS, self._counts)}

    def _count(self, name: str, events) -> None:
        self._counts[fused_kernel.COUNTERS.index(name)] += int(events)

    @property
    def x1(self) -> np.ndarray:
        return self.x_traces[:, 0]

    @property
    def x2(self) -> np.ndarray:
        return self.x_traces[:, 1]

    @property
    def y1(self) -> np.ndarray:
        return self.y_traces[:, 0]

    @property
    def y2(self) -> np.ndarray:
        return self.y_traces[:, 1]

    @property
    def y3(self) -> np.ndarray:
        return self.y_traces[:, 2]

    # ------------------------------------------------------------------ steps
    def step(self, s_in, s_in_bap=None, y1=None, y2=None, y3=None) -> np.ndarray:
        """Run one time step; return ``a_out`` as Lava sends it.

        Parameters
        ----------
        s_in : array_like, (n_instances, n_pre)
            Pre spikes (nonzero = spike) or graded payloads
            (``num_message_bits > 0``); any shape broadcastable to it.
        s_in_bap : array_like, (n_instances, n_post), optional
            Post spikes (back-propagating action potentials); read by 2F and
            3F rules. Missing = no spike (an unconnected Lava port).
        y1, y2, y3 : array_like, (n_instances, n_post), optional
            Third factors sent by the post neurons (integers); read by 3F
            rules. Missing = 0.

        Returns
        -------
        ndarray, int32, (n_instances, n_post)
            The activation computed on the previous step.
        """
        self.time_step += 1
        if self.time_step == 1:
            self.weights = truncate_weights(self.weights, self.sign_mode, self.num_weight_bits)
            self._check_factor_range()
        if self.fused:
            return self._step_fused(s_in, s_in_bap, y1, y2, y3)
        a_out = _wrap_int32(self.a_buff)  # a_out port: 32-bit
        self._count("a_buff", np.count_nonzero(a_out != self.a_buff))
        s_in = np.broadcast_to(np.asarray(s_in), (self.n_instances, self.n_pre))
        spiked = s_in.astype(bool)
        self.a_buff = self._activation(s_in, spiked)

        self._pre_spikes(spiked)
        self._x_random.advance()
        self._y_random.advance()
        if self.rule_kind != "plain":
            self._post_spikes(self._post_vector(s_in_bap).astype(bool))
        if self.rule_kind == "3F":
            for k, values in enumerate((y1, y2, y3)):
                self.y_traces[:, k] = self._post_vector(values)
        self._x_random.advance()
        self._y_random.advance()
        if self.time_step % self.t_epoch == 0:
            self._learn()
        return a_out

    def _check_factor_range(self) -> None:
        for name in _SYNAPTIC:
            values = getattr(self, name)
            self._within_factor_range[name] = bool(
                values.size == 0
                or (values.min() >= -_FACTOR_LIMIT and values.max() < _FACTOR_LIMIT))

    def _post_vector(self, values) -> np.ndarray:
        shape = (self.n_instances, self.n_post)
        if values is None:
            return np.zeros(shape, np.int64)
        return np.broadcast_to(np.asarray(values), shape).astype(np.int64)

    def _activation(self, s_in: np.ndarray, spiked: np.ndarray) -> np.ndarray:
        """Dendritic accumulation, int64 (sent, wrapped to int32, next step)."""
        if self.num_message_bits > 0:
            acc = np.einsum("ipq,iq->ip", self.weights.astype(np.int64), s_in.astype(np.int64))
            acc = _wrap_int32(acc).astype(np.int64)  # int32 dot product in Lava
        else:  # sum of the spiking columns (Lava sums in int64; int32 suffices,
            # |sum| <= n_pre * 2^9 < 2^31, and is faster)
            acc = np.einsum("ipq,iq->ip", self.weights, spiked.astype(np.int32)).astype(np.int64)
        if self.weight_exp > 0:  # shared weight exponent (arithmetic shifts)
            return acc << self.weight_exp
        return acc >> -self.weight_exp

    def _within_epoch_step(self) -> int:
        return self.time_step % self.t_epoch or self.t_epoch

    def _pre_spikes(self, spiked: np.ndarray) -> None:
        """Repeated pre spikes within an epoch: immediate impulses (random 0)."""
        repeat = ((self.tx > 0) & spiked)[:, None, :]
        if repeat.any():
            bumped, clipped = add_impulse(self.x_traces, 0, self._x_params.impulse_int,
                                          self._x_params.impulse_frac)
            self.x_traces = np.where(repeat, bumped, self.x_traces)
            self._count_traces(PRE_TRACES, (clipped & repeat).sum(axis=(0, 2)))
        self.tx[spiked] = self._within_epoch_step()

    def _post_spikes(self, bap: np.ndarray) -> None:
        """Post spikes: y0 flag, immediate impulses on repeats, spike step."""
        self.y0 |= bap
        repeat = ((self.ty > 0) & bap)[:, None, :]
        if repeat.any():
            bumped, clipped = add_impulse(self.y_traces, self._y_random.impulse.value,
                                          self._y_params.impulse_int,
                                          self._y_params.impulse_frac)
            self.y_traces = np.where(repeat, bumped, self.y_traces)
            self._count_traces(POST_TRACES, (clipped & repeat).sum(axis=(0, 2)))
        self.ty[bap] = self._within_epoch_step()

    def _count_traces(self, names: Sequence[str], events: np.ndarray) -> None:
        for name, n in zip(names, events):
            self._count(name, n)

    # --------------------------------------------------------------- learning
    def _learn(self) -> None:
        self._syn_random.advance()
        self.x0 = self.tx > 0
        self.y0 = self.ty > 0
        x_history = self._history(self.x_traces, self._x_params, self.tx, self._x_random,
                                  PRE_TRACES)
        self.x_traces = x_history[-1]
        y_history = None
        if self._post_history_needed:
            y_history = self._history(self.y_traces, self._y_params, self.ty, self._y_random,
                                      POST_TRACES)
            if self.rule_kind == "2F":  # 3F rules keep the received y values
                self.y_traces = y_history[-1]

        k = self.rule.decimate_exponent
        u = int(k is not None and (self.time_step // self.t_epoch) % 2 ** k == 0)
        histories = dict(zip(PRE_TRACES, _unstack(x_history)))
        if y_history is not None:
            histories.update(zip(POST_TRACES, _unstack(y_history)))
        operands = EpochOperands(
            x0=self.x0, y0=self.y0, tx=self.tx, ty=self.ty, u=u, histories=histories,
            synaptic={name: (getattr(self, name), self._within_factor_range[name])
                      for name in _SYNAPTIC})
        random = self._syn_random.value  # (n_instances, 1, 1)
        new = {}
        for plan in self._plans:
            draws = None if self.rounding == "lava" else rule_eval.synapse_draws(
                plan, self._seeds, self.time_step, self.weights.shape)
            new[plan.target] = rule_eval.update(plan, getattr(self, plan.target), operands,
                                                random, self.sign_mode, draws)
        for target, (values, saturated) in new.items():
            setattr(self, target, values)
            self._within_factor_range[target] = True
            self._count(target, saturated)

        self.x0 = np.zeros_like(self.x0)
        self.y0 = np.zeros_like(self.y0)
        self.tx = np.zeros_like(self.tx)
        self.ty = np.zeros_like(self.ty)

    def _history(self, traces, params: TraceParams, spike_time, streams: TraceRandomStreams,
                 names: Sequence[str]) -> list:
        history, saturated = epoch_history(traces, params.decay, spike_time, self.t_epoch,
                                           streams.decay.value, streams.impulse.value,
                                           params.impulse_int, params.impulse_frac)
        self._count_traces(names, saturated)
        return history

    # --------------------------------------------------------- compiled path
    def _init_fused(self) -> None:
        """Tables and contiguous state arrays for :func:`fused_kernel.step`."""
        self._tables = fused_kernel.encode_rules(self._plans, self.sign_mode)
        self._module = rule_codegen.connection_module(*self._tables, rounding=self.rounding)
        self._compiled_step = self._module.step
        k = self.rule.decimate_exponent
        config = {"kind": fused_kernel.KINDS[self.rule_kind], "t_epoch": self.t_epoch,
                  "graded": int(self.num_message_bits > 0), "weight_exp": self.weight_exp,
                  "post_history": int(self._post_history_needed),
                  "dec_exp": -1 if k is None else k}
        self._config = np.array([config[name] for name in fused_kernel.CONFIG_FIELDS],
                                np.int64)
        # fused_kernel.TRACE_PARAMS x trace, float64
        self._x_table = np.concatenate(self._x_params, axis=1).T.astype(np.float64).copy()
        self._y_table = np.concatenate(self._y_params, axis=1).T.astype(np.float64).copy()
        self._zeros = {shape: np.zeros(shape, np.int64) for shape in
                       ((self.n_instances, self.n_pre), (self.n_instances, self.n_post))}
        self._random, self._random_first = np.empty((0, self.n_instances, _N_RANDOM)), 1
        rules, products, _ = self._tables
        n, n_products = self.n_instances, len(products)
        self._learning_buffers = (  # what fused_kernel.step fills for the synapse update
            np.zeros((n, n_products, self.n_pre), np.int64),
            np.zeros((n, n_products, self.n_post), np.int64),
            np.zeros((n, self.t_epoch + 1, len(PRE_TRACES), self.n_pre), np.int64),
            np.zeros((n, self.t_epoch + 1, len(POST_TRACES), self.n_post), np.int64),
            np.zeros((n, len(rules)), np.int64))
        self._static = (self._config, self._x_table, self._y_table, *self._tables, self._counts,
                        *self._learning_buffers, self._seeds)  # arguments that never change

    def _draw_random_chunk(self, first: int | None = None) -> None:
        """The random numbers of step ``first`` (default: this step) and the next
        ones, (steps, n_instances, len(RANDOM_COLUMNS)), in the columns
        :func:`fused_kernel.step` reads them from (``fused_kernel.RANDOM_COLUMNS``;
        two advances of the trace streams per step, one of the synaptic stream
        per epoch)."""
        first = self.time_step if first is None else first  # the chunk starts here
        steps = np.arange(first, first + _RANDOM_CHUNK)
        x_decay, x_impulse = (s.take(2 * _RANDOM_CHUNK) for s in
                              (self._x_random.decay, self._x_random.impulse))
        y_decay, y_impulse = (s.take(2 * _RANDOM_CHUNK) for s in
                              (self._y_random.decay, self._y_random.impulse))
        table = np.zeros((_RANDOM_CHUNK, self.n_instances, _N_RANDOM))
        columns = {"y_impulse_early": y_impulse[:, 0::2], "x_decay": x_decay[:, 1::2],
                   "x_impulse": x_impulse[:, 1::2], "y_decay": y_decay[:, 1::2],
                   "y_impulse": y_impulse[:, 1::2]}  # first advance 0::2, second 1::2
        for name, draws in columns.items():
            table[:, :, fused_kernel.RANDOM_COLUMNS.index(name)] = draws.T
        learns = steps % self.t_epoch == 0
        table[learns, :, fused_kernel.RAND_SYNAPTIC] = self._syn_random.take(int(learns.sum())).T
        self._random = table
        self._random_first = first

    def kernel_arguments(self, count: int) -> tuple:
        """What a compiled loop over the next ``count`` steps passes to
        :attr:`compiled_step`: the state arrays (weights, tag_1, tag_2,
        x_traces, y_traces, tx, ty, y0, a_buff; updated in place), the steps'
        random rows (:meth:`random_rows`) and the arguments that never change.
        The loop must start after step 1 (the weights' truncation) and the
        caller adds ``count`` to :attr:`time_step` after it."""
        state = (self.weights, self.tag_1, self.tag_2, self.x_traces, self.y_traces, self.tx,
                 self.ty, self.y0, self.a_buff)
        return state, self.random_rows(count), self._static

    @property
    def compiled_step(self):
        """The connection's compiled step (``step`` of :func:`rule_codegen.connection_module`)."""
        return self._compiled_step

    def random_rows(self, count: int) -> np.ndarray:
        """The compiled step's random numbers of the next ``count`` steps
        (``time_step + 1`` on), (count, n_instances, len(RANDOM_COLUMNS)),
        C-ordered: the rows ``count`` calls of :meth:`step` would read, drawn
        in the same chunks (the streams then stand where those calls leave
        them)."""
        parts, step, end = [], self.time_step + 1, self.time_step + 1 + count
        while step < end:
            if step - self._random_first >= len(self._random):
                self._draw_random_chunk(step)
            start = step - self._random_first
            n = min(len(self._random) - start, end - step)
            parts.append(self._random[start:start + n])
            step += n
        if not parts:
            return np.zeros((0, self.n_instances, _N_RANDOM))
        return np.ascontiguousarray(np.concatenate(parts))

    def _as_int64(self, values, shape) -> np.ndarray:
        """``values`` as the kernel reads them: C-ordered int64 of ``shape``."""
        if type(values) is np.ndarray:
            if values.dtype == np.int64 and values.shape == shape and values.flags.c_contiguous:
                return values
        elif values is None or (np.isscalar(values) and values == 0):
            return self._zeros[shape]
        return np.ascontiguousarray(np.broadcast_to(np.asarray(values), shape), np.int64)

    def _step_fused(self, s_in, s_in_bap, y1, y2, y3) -> np.ndarray:
        if self.time_step - self._random_first >= len(self._random):
            self._draw_random_chunk()
        post_shape = (self.n_instances, self.n_post)
        as_int64 = self._as_int64
        return self._compiled_step(
            self.time_step, as_int64(s_in, (self.n_instances, self.n_pre)),
            as_int64(s_in_bap, post_shape), as_int64(y1, post_shape), as_int64(y2, post_shape),
            as_int64(y3, post_shape), self.weights, self.tag_1, self.tag_2, self.x_traces,
            self.y_traces, self.tx, self.ty, self.y0, self.a_buff,
            self._random[self.time_step - self._random_first], *self._static)

    # ------------------------------------------------------------------ state
    def snapshot(self) -> dict:
        """Copies of the state arrays (Lava Var names) and the time step."""
        state = {name: np.array(getattr(self, name)) for name in STATE_VARS}
        state["time_step"] = self.time_step
        return state
