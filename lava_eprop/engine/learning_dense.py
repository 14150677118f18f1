"""Lava's fixed-point ``LearningDense`` for many instances at once, bit-exact.

Mirrors ``PyLearningDenseModelBitApproximate`` (``lava/proc/dense/models.py``,
Lava 0.10.0) with a leading axis of independent instances: each instance is
one chip's connection with its own weights, tags and traces, learning with
the same rule. The step's order of operations, widths and random numbers are
specified, and written once, in :mod:`lava_eprop.engine.fused` (spiking
phase, trace histories) and :mod:`lava_eprop.engine.rule_codegen` (the
synapse update of the connection's rules, whose integer semantics
:mod:`lava_eprop.engine.rule_eval` gives); this class holds the state, draws
the random numbers and calls that code, compiled by numba or, with
``fused=False``, interpreted by Python (the same source; slow).

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
rounding in the synapse update (:mod:`lava_eprop.engine.rule_eval`: every
product's right shift and every synapse's accumulator rounded with a number
of its own), the model :mod:`process_models.learning_dense` runs in Lava.
Its numbers are keyed by each instance's ``rng_seed``, the step and the
variable (:mod:`lava_eprop.engine.counter_rng`); everything else, trace
random numbers included, is as above.

The kernels update the state arrays in place: assign only C-ordered arrays
of the same shape and dtype.
"""
from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence

import numpy as np

from lava_eprop.engine import fused as fused_kernel
from lava_eprop.engine import rule_codegen, rule_eval
from lava_eprop.engine.fused import POST_TRACES, PRE_TRACES
from lava_eprop.engine.randoms import TraceRandomStreams, synaptic_variable_stream
from lava_eprop.loihi.constants import (
    W_TRACE_FRACTIONAL_PART,
    W_WEIGHTS_U,
    GradedSpikeCfg,
    SignMode,
    as_sign_mode,
)
from lava_eprop.loihi.rule import LearningRule, as_learning_rule

STATE_VARS = ("weights", "tag_1", "tag_2", "x0", "tx", "x1", "x2", "y0", "ty",
              "y1", "y2", "y3", "a_buff")
#: Initial synaptic variables must fit 32 bits once shifted into the accumulator.
_INITIAL_LIMIT = 2 ** 23
#: Steps whose random numbers are drawn at once.
_RANDOM_CHUNK = 256
#: Random numbers a step reads (``fused_kernel.RANDOM_COLUMNS``).
_N_RANDOM = len(fused_kernel.RANDOM_COLUMNS)
#: A side's trace parameters, each (k, 1), k its traces; in the order of the
#: kernel's trace parameter rows (``fused_kernel.TRACE_PARAMS``).
TraceParams = namedtuple("TraceParams", fused_kernel.TRACE_PARAMS)


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
        Run each step compiled by numba (default) or, with False, the same
        kernels interpreted by Python (slow; for checking the compiler).
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
        Whether the steps run compiled (else interpreted).
    """

    def __init__(self, *, weights, learning_rule: LearningRule, n_instances: int = 1,
                 tag_1=None, tag_2=None, num_weight_bits: int = 8, weight_exp: int = 0,
                 sign_mode: SignMode = SignMode.MIXED, num_message_bits: int = 0,
                 graded_spike_cfg: GradedSpikeCfg = GradedSpikeCfg.USE_REGULAR_IMPULSE,
                 rng_seeds: Sequence[int] | None = None,
                 fused: bool = True, rounding: str = "lava") -> None:
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
        self.fused = bool(fused)
        self.rounding = rounding
        self._init_kernel()

    def _trace_params(self, names: Sequence[str]) -> TraceParams:
        """Per trace (k, 1): the decay factor ``exp(-1/tau)`` as Lava computes it (0.0
        for ``tau == 0``: the trace stays 0 in the epoch history), and the impulse's
        integer part and 8-bit fraction (Lava's ``_decompose_impulses``)."""
        taus = np.array([getattr(self.rule, f"{name}_tau") for name in names], float)
        decay = np.zeros((len(names), 1))
        decay[taus != 0] = np.exp(-1 / taus[taus != 0][:, None])
        impulses = np.array([getattr(self.rule, f"{name}_impulse") for name in names], float)
        whole = np.floor(impulses)
        frac = np.round((impulses - whole) * 2 ** W_TRACE_FRACTIONAL_PART)
        return TraceParams(decay=decay, impulse_int=whole.astype(np.int64)[:, None],
                           impulse_frac=frac.astype(np.int64)[:, None])

    @property
    def counters(self) -> dict:
        """Saturation and wrap-around events so far, summed over instances:
        ``weights``, ``tag_1``, ``tag_2`` (synapse-epochs whose update a
        wrap or saturation changed: the 32-bit product, the 16-bit product or
        accumulator, the sign, the 9-bit variable), ``x1``, ``x2``, ``y1``,
        ``y2``, ``y3`` (impulse additions the 7-bit saturation changed),
        ``a_buff`` (activations outside int32, wrapped when sent)."""
        return {name: int(n) for name, n in zip(fused_kernel.COUNTERS, self._counts)}

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
        if self.time_step - self._random_first >= len(self._random):
            self._draw_random_chunk()
        post_shape = (self.n_instances, self.n_post)
        as_int64 = self._as_int64
        args = (self.time_step, as_int64(s_in, (self.n_instances, self.n_pre)),
                as_int64(s_in_bap, post_shape), as_int64(y1, post_shape),
                as_int64(y2, post_shape), as_int64(y3, post_shape), self.weights, self.tag_1,
                self.tag_2, self.x_traces, self.y_traces, self.tx, self.ty, self.y0,
                self.a_buff, self._random[self.time_step - self._random_first], *self._static)
        if self.fused:
            return self._step(*args)
        with np.errstate(over="ignore"):  # NumPy scalars warn where the compiled code wraps
            return self._step(*args)

    # ----------------------------------------------------------------- kernel
    def _init_kernel(self) -> None:
        """Tables and contiguous state arrays for :func:`fused_kernel.step`."""
        self._tables = fused_kernel.encode_rules(self._plans, self.sign_mode)
        self._module = rule_codegen.connection_module(*self._tables, rounding=self.rounding,
                                                      interpreted=not self.fused)
        self._step = self._module.step
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
        return self._step

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

    # ------------------------------------------------------------------ state
    def snapshot(self) -> dict:
        """Copies of the state arrays (Lava Var names) and the time step."""
        state = {name: np.array(getattr(self, name)) for name in STATE_VARS}
        state["time_step"] = self.time_step
        return state
