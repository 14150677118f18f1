"""The step of Lava's fixed-point ``LearningDense``, written once (numba).

Mirrors ``PyLearningDenseModelBitApproximate`` (``lava/proc/dense/models.py``)
on top of ``LearningConnectionModelBitApproximate`` /
``PyLearningConnection`` (``lava/magma/core/model/py/connection.py``), Lava
0.10.0, with a leading axis of independent instances. One time step is
:func:`step` (here, generic) and then, on learning steps, the synapse update
that :mod:`lava_eprop.engine.rule_codegen` generates for the connection's
rules (:mod:`lava_eprop.engine.rule_eval` gives its integer semantics); both
run compiled, or interpreted by Python (numba's ``DISABLE_JIT``:
``LearningDenseEngine(fused=False)``), the same source either way.

Per-step order of operations (step ``ts = 1, 2, ...``; ``T = t_epoch``;
``k(ts) = ts mod T``, or ``T`` when that is 0; widths as on Loihi 2)::

    spiking phase (run_spk)
      0. on the first step only: truncate the initial weights to
         num_weight_bits (done by LearningDenseEngine)
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
         double r_d (floor(e^(-1/tau) v) + [r_d < frac], the product in
         float64; 0 if tau = 0), then an impulse (as in 3, but with the
         current impulse integer) on neurons whose tx (ty) equals t. For 3F
         rules y taus are 65535 and impulses 0: the y values a rule reads
         are the received ones moved one unit towards 0 with probability
         |y| / 65535 per epoch step, and clipped to [0, 127] at the post
         neuron's bap step (a negative y of a neuron that spiked reads as
         0); the stored y are unchanged
     10. x1, x2 = history at T; 2F rules also y1, y2, y3 = history at T
         (3F rules keep the received y values)
     11. dw, dd, dt (in that order, each reading w, d, t from before the
         epoch) as in :mod:`lava_eprop.engine.rule_eval`, traces read at
         step tx (x0 products), ty (y0 products) or T (u products);
         u = 1 if (ts div T) mod 2^k == 0
     12. x0 = y0 = tx = ty = 0

An impulse ``I`` is stored as ``floor(I)`` and an 8-bit fraction
``round((I - floor(I)) 2^8)`` (Lava's ``_decompose_impulses``).

The compiled rules (:class:`~lava_eprop.engine.rule_eval.RulePlan`) are
encoded as small integer tables (:func:`encode_rules`): one row per rule, per
product and per factor, their columns named by :data:`RULE_COLUMNS`,
:data:`PRODUCT_COLUMNS` and :data:`FACTOR_COLUMNS` (the kernels index them
through constants derived from those names, ``R_*``, ``P_*``, ``F_*``, which
numba compiles in as literals; the codes, the random row and the
configuration are named the same way). A product is evaluated as
``mantissa * (pre-side factors)[q] * (post-side factors)[j] * (synapse
factors)[j, q]``: the pre and post parts are computed once per neuron.

Both parts count saturation and wrap-around events (see :data:`COUNTERS`).
"""
from __future__ import annotations

import numba
import numpy as np

from lava_eprop import kernel_cache  # noqa: F401  keys the numba cache below
from lava_eprop.engine import rule_eval
from lava_eprop.loihi import symbols as sym
from lava_eprop.loihi.constants import W_TRACE

#: Counted events, in the order of the counter array: updates of weights,
#: tag_1 (t) and tag_2 (d) in which a wrap or a saturation acted (32-bit
#: product, 16-bit product and accumulator, sign, 9-bit variable;
#: synapse-epochs); 7-bit trace saturation at an impulse (neuron-steps);
#: ``a_buff`` values wrapped to int32 when sent as ``a_out`` (neuron-steps).
COUNTERS = ("weights", "tag_1", "tag_2", "x1", "x2", "y1", "y2", "y3", "a_buff")
#: Largest trace value: traces are 7-bit unsigned on Loihi 2.
TRACE_MAX = 2 ** W_TRACE - 1


def _positions(names: tuple, *wanted) -> tuple[int, ...]:
    """The positions of ``wanted`` in ``names`` (the constants the kernels index with)."""
    return tuple(names.index(name) for name in wanted)


#: The traces in the order of the trace axis of the state arrays, the
#: histories and the trace parameters (``x_traces``: x1, x2; ``y_traces``:
#: y1, y2, y3).
PRE_TRACES = (sym.X1, sym.X2)
POST_TRACES = (sym.Y1, sym.Y2, sym.Y3)
N_PRE_TRACES, N_POST_TRACES = len(PRE_TRACES), len(POST_TRACES)
#: Counters of x1 and y1 (x2, y2, y3 follow in trace order) and of a_buff.
_X_COUNTER, _Y_COUNTER, _A_BUFF_COUNTER = _positions(COUNTERS, sym.X1, sym.Y1, "a_buff")
#: Positions of y1, y2, y3 on the trace axis (3F rules copy the received values).
_Y1, _Y2, _Y3 = _positions(POST_TRACES, sym.Y1, sym.Y2, sym.Y3)

#: Rule kinds (``LearningDenseEngine.rule_kind``) as kernel codes.
KINDS = {"plain": 0, "2F": 1, "3F": 2}
KIND_PLAIN, KIND_2F, KIND_3F = KINDS["plain"], KINDS["2F"], KINDS["3F"]

#: Table codes (used by :mod:`lava_eprop.engine.rule_codegen` too): targets,
#: dependencies, factor variables, sides, accumulator sign saturation.
TARGETS = rule_eval.TARGET_CODES
_DEPENDENCIES = {sym.X0: 0, sym.Y0: 1, sym.U: 2}
DEP_X0, DEP_Y0, DEP_U = _DEPENDENCIES[sym.X0], _DEPENDENCIES[sym.Y0], _DEPENDENCIES[sym.U]
#: Factor variables, numbered in this order: x0, y0, the traces (x1, x2 =
#: 2, 3; y1..y3 = 4..6, each side's consecutive in trace order), w, d, t and
#: the constant C.
VARS = {name: code for code, name in enumerate(
    (sym.X0, sym.Y0, *PRE_TRACES, *POST_TRACES, sym.W, sym.D, sym.T, sym.C))}
VAR_X0, VAR_Y0, VAR_C = VARS[sym.X0], VARS[sym.Y0], VARS[sym.C]
#: Code of each side's first trace: a trace's code minus it is its trace axis position.
VAR_X1, VAR_Y1 = VARS[PRE_TRACES[0]], VARS[POST_TRACES[0]]
PRE_SIDE, POST_SIDE, SYNAPSE_SIDE = 0, 1, 2
_SIDES = {rule_eval.PRE: PRE_SIDE, rule_eval.POST: POST_SIDE,
          rule_eval.SYNAPSE: SYNAPSE_SIDE}
#: Saturation of the accumulator before rounding: none, max(A, 0), min(A, 0).
NO_SIGN, NON_NEGATIVE, NON_POSITIVE = 0, 1, 2

#: Columns of the rule table (:func:`encode_rules`), and their positions ``R_*``.
RULE_COLUMNS = ("target", "acc_shift", "round_bits", "sign", "low", "high", "first_product",
                "n_products")
R_TARGET, R_ACC_SHIFT, R_ROUND_BITS, R_SIGN, R_LOW, R_HIGH, R_FIRST_PRODUCT, R_N_PRODUCTS = \
    _positions(RULE_COLUMNS, "target", "acc_shift", "round_bits", "sign", "low", "high",
               "first_product", "n_products")
#: Columns of the product table, and their positions ``P_*``.
PRODUCT_COLUMNS = ("dependency", "mantissa", "left_shift", "right_shift", "first_factor",
                   "n_factors", "may_saturate")
P_DEPENDENCY, P_MANTISSA, P_LEFT_SHIFT, P_RIGHT_SHIFT = _positions(
    PRODUCT_COLUMNS, "dependency", "mantissa", "left_shift", "right_shift")
P_FIRST_FACTOR, P_N_FACTORS, P_MAY_SATURATE = _positions(
    PRODUCT_COLUMNS, "first_factor", "n_factors", "may_saturate")
#: Columns of the factor table, and their positions ``F_*``.
FACTOR_COLUMNS = ("var", "const", "is_sgn", "width", "side")
F_VAR, F_CONST, F_IS_SGN, F_WIDTH, F_SIDE = _positions(
    FACTOR_COLUMNS, "var", "const", "is_sgn", "width", "side")

#: Rows of a trace parameter table (``x_params``, ``y_params`` of :func:`step`:
#: float64, rows x traces), and their positions ``T_*``.
TRACE_PARAMS = ("decay", "impulse_int", "impulse_frac")
T_DECAY, T_IMPULSE_INT, T_IMPULSE_FRAC = _positions(
    TRACE_PARAMS, "decay", "impulse_int", "impulse_frac")

#: Columns of a step's random row (``rand`` of :func:`step`), and their
#: positions ``RAND_*``: the post impulse integer after the first advance of
#: the trace streams, then after the second advance the pre decay double and
#: impulse integer, the post decay double and impulse integer, and the
#: synaptic-variable double (read on learning steps only).
RANDOM_COLUMNS = ("y_impulse_early", "x_decay", "x_impulse", "y_decay", "y_impulse",
                  "synaptic")
RAND_Y_IMPULSE_EARLY, RAND_SYNAPTIC = _positions(RANDOM_COLUMNS, "y_impulse_early", "synaptic")
RAND_X_DECAY, RAND_X_IMPULSE, RAND_Y_DECAY, RAND_Y_IMPULSE = _positions(
    RANDOM_COLUMNS, "x_decay", "x_impulse", "y_decay", "y_impulse")

#: Fields of :func:`step`'s ``config`` (int64), and their positions ``CFG_*``:
#: rule kind (:data:`KINDS`), t_epoch, graded spikes, weight_exp, post
#: history needed, decimate exponent or -1.
CONFIG_FIELDS = ("kind", "t_epoch", "graded", "weight_exp", "post_history", "dec_exp")
CFG_KIND, CFG_T_EPOCH, CFG_GRADED = _positions(CONFIG_FIELDS, "kind", "t_epoch", "graded")
CFG_WEIGHT_EXP, CFG_POST_HISTORY, CFG_DEC_EXP = _positions(
    CONFIG_FIELDS, "weight_exp", "post_history", "dec_exp")


def encode_rules(plans, sign_mode) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer tables of compiled rules, for the kernel.

    Returns
    -------
    rules : ndarray, int64, (n_rules, len(RULE_COLUMNS))
        target (0 weights, 1 tag_1, 2 tag_2), accumulator shift, rounding
        bits, accumulator sign saturation, low and high bounds, first product
        row, number of products.
    products : ndarray, int64, (n_products, len(PRODUCT_COLUMNS))
        dependency (0 x0, 1 y0, 2 u), mantissa, left shift, right shift,
        first factor row, number of factors, whether the shifted product may
        leave the accumulator range (``ProductPlan.may_saturate``).
    factors : ndarray, int64, (n_factors, len(FACTOR_COLUMNS))
        variable code, additive constant, is sgn, width, side (0 pre,
        1 post, 2 synapse; the constant C counts as pre).
    """
    rules, products, factors = [], [], []
    for plan in plans:
        sign = NO_SIGN
        if plan.target == rule_eval.TAG_2 or (plan.target == rule_eval.WEIGHTS
                                              and sign_mode.name == "EXCITATORY"):
            sign = NON_NEGATIVE
        elif plan.target == rule_eval.WEIGHTS and sign_mode.name == "INHIBITORY":
            sign = NON_POSITIVE
        low, high = rule_eval.value_range(plan.target, sign_mode)
        rules.append(_row(RULE_COLUMNS, target=TARGETS[plan.target], acc_shift=plan.acc_shift,
                          round_bits=plan.round_bits, sign=sign, low=low, high=high,
                          first_product=len(products), n_products=len(plan.products)))
        for product in plan.products:
            products.append(_row(
                PRODUCT_COLUMNS, dependency=_DEPENDENCIES[product.dependency],
                mantissa=product.mantissa, left_shift=product.left_shift,
                right_shift=product.right_shift, first_factor=len(factors),
                n_factors=len(product.factors), may_saturate=int(product.may_saturate)))
            for f in product.factors:
                if f.const != int(f.const):
                    raise ValueError(f"non-integer constant {f.const} in a factor")
                side = PRE_SIDE if f.var == sym.C else _SIDES[f.side]
                factors.append(_row(FACTOR_COLUMNS, var=VARS[f.var], const=int(f.const),
                                    is_sgn=int(f.is_sgn), width=f.width, side=side))
    return (_table(rules, RULE_COLUMNS), _table(products, PRODUCT_COLUMNS),
            _table(factors, FACTOR_COLUMNS))


def _row(columns: tuple, **values) -> list:
    """A table row: ``values`` in the order of ``columns`` (all of them, no other)."""
    if set(values) != set(columns):
        raise ValueError(f"row {sorted(values)} does not match the columns {columns}")
    return [values[name] for name in columns]


def _table(rows: list, columns: tuple) -> np.ndarray:
    return np.array(rows, np.int64).reshape(-1, len(columns))


@numba.njit(cache=True, inline="always")
def _wrap32(value):
    """Two's-complement wrap to 32 bits (an int32 register), as int64."""
    return np.int64(np.int32(value))


@numba.njit(cache=True, inline="always")
def _clip(value, low, high):
    return min(max(value, low), high)


@numba.njit(cache=True, inline="always")
def _factor_value(raw, factors, f):
    """``clip(v + c)`` to the factor's width, or ``sgn(v + c)``."""
    value = raw + factors[f, F_CONST]
    if factors[f, F_IS_SGN]:
        return np.int64(value > 0) - np.int64(value < 0)
    bound = np.int64(1) << factors[f, F_WIDTH]
    return _clip(value, -bound, bound - 1)


@numba.njit(cache=True)
def _impulse(trace, impulse_int, impulse_frac, random, counters, counter):
    """Impulse with stochastic rounding, saturated to the 7-bit trace range."""
    bumped = trace + np.int64(impulse_int) + np.int64(random < impulse_frac)
    if bumped > TRACE_MAX or bumped < 0:
        counters[counter] += 1
        return _clip(bumped, 0, TRACE_MAX)
    return bumped


@numba.njit(cache=True)
def _history(history, traces, spike_time, params, t_epoch, r_decay, r_impulse, counters,
             counter):
    """Trace values at within-epoch steps 0..t_epoch into ``history`` (t_epoch + 1, k, n)."""
    n_traces, n = traces.shape
    history[0] = traces
    for t in range(1, t_epoch + 1):
        for k in range(n_traces):
            factor, before, after = params[T_DECAY, k], history[t - 1, k], history[t, k]
            for q in range(n):  # the decay, then (rarely) the impulses
                scaled = factor * before[q]  # float64, as Lava
                whole = np.floor(scaled)
                after[q] = np.int64(whole) + np.int64(r_decay < scaled - whole)
            for q in range(n):
                if spike_time[q] == t:
                    after[q] = _impulse(after[q], params[T_IMPULSE_INT, k],
                                        params[T_IMPULSE_FRAC, k], r_impulse, counters,
                                        counter + k)


@numba.njit(cache=True)
def _neuron_parts(parts, own_time, history, dep_code, factors, products, side, u,
                  t_epoch):
    """Per-neuron part of every product into ``parts`` (n_products, n): the
    dependency flag of this side (or u), the mantissa (pre side) and this
    side's saturated factors (one pass over the neurons per factor)."""
    n = parts.shape[1]
    for p in range(len(products)):
        dep = products[p, P_DEPENDENCY]
        base = products[p, P_MANTISSA] if side == PRE_SIDE else np.int64(1)
        row = parts[p]
        if dep == dep_code:
            for q in range(n):
                row[q] = base * (own_time[q] > 0)
        else:
            if side == POST_SIDE and dep == DEP_U:
                base *= u
            for q in range(n):
                row[q] = base
        first = products[p, P_FIRST_FACTOR]
        for f in range(first, first + products[p, P_N_FACTORS]):
            if factors[f, F_SIDE] != side:
                continue
            var = factors[f, F_VAR]
            if var == VAR_C:  # the constant C
                value = _factor_value(np.int64(0), factors, f)
                for q in range(n):
                    row[q] *= value
            elif var == VAR_X0 or var == VAR_Y0:  # x0 or y0 as a factor
                for q in range(n):
                    row[q] *= _factor_value(np.int64(own_time[q] > 0), factors, f)
            else:  # a trace, at the neuron's spike step (its dependency) or t_epoch
                k = var - (VAR_Y1 if side == POST_SIDE else VAR_X1)  # its trace axis
                if dep == dep_code:
                    for q in range(n):
                        row[q] *= _factor_value(history[own_time[q], k, q], factors, f)
                else:
                    for q in range(n):
                        row[q] *= _factor_value(history[t_epoch, k, q], factors, f)


@numba.njit(cache=True)
def _prepare_learning(i, ts, x_traces, y_traces, tx, ty, rand, kind, t_epoch,
                      post_history, dec_exp, x_params, y_params, rules, products,
                      factors, counters, pre, post, xh, yh, thresholds):
    """Learning phase of instance ``i`` up to the synapses (steps 7-10 of the
    engine's order): trace histories, the per-neuron parts of every product,
    the stochastic-rounding threshold of every rule."""
    _history(xh[i], x_traces[i], tx[i], x_params, t_epoch, rand[RAND_X_DECAY],
             rand[RAND_X_IMPULSE], counters, _X_COUNTER)
    x_traces[i] = xh[i, t_epoch]
    if post_history:
        _history(yh[i], y_traces[i], ty[i], y_params, t_epoch, rand[RAND_Y_DECAY],
                 rand[RAND_Y_IMPULSE], counters, _Y_COUNTER)
        if kind == KIND_2F:  # 2F: the histories' end values; 3F keeps the received y
            y_traces[i] = yh[i, t_epoch]
    u = np.int64(dec_exp >= 0 and (ts // t_epoch) % (1 << max(dec_exp, 0)) == 0)
    _neuron_parts(pre[i], tx[i], xh[i], DEP_X0, factors, products, PRE_SIDE, u, t_epoch)
    _neuron_parts(post[i], ty[i], yh[i], DEP_Y0, factors, products, POST_SIDE, u, t_epoch)
    for r in range(len(rules)):  # r < k / 2^7  <=>  k > floor(r 2^7) for an integer k
        thresholds[i, r] = np.int64(np.floor(rand[RAND_SYNAPTIC]
                                             * (1 << rules[r, R_ROUND_BITS])))


@numba.njit(cache=True)
def step(ts, s_in, bap, y1, y2, y3, w, x_traces, y_traces, tx, ty, y0, a_buff, rand,
         config, x_params, y_params, rules, products, factors, counters, pre, post, xh,
         yh, thresholds):
    """One time step of every instance up to the synapses' learning.

    Returns ``a_out`` (int32). On learning steps it fills what the synapse
    updates (:mod:`lava_eprop.engine.rule_codegen`) read, given as
    buffers: per instance the pre and post parts of every product
    (``pre``, ``post``: n_instances, n_products, n), the x and y trace
    histories (``xh``, ``yh``: n_instances, t_epoch + 1, traces, n) and
    the rounding thresholds (n_instances, n_rules); other steps leave them
    as they are.

    ``ts`` is the step number (1, 2, ...); state arrays are updated in
    place; ``rand`` (n_instances, len(RANDOM_COLUMNS)) holds this step's
    random numbers (:data:`RANDOM_COLUMNS`); ``config`` is
    :data:`CONFIG_FIELDS`.
    """
    kind, t_epoch, graded = config[CFG_KIND], config[CFG_T_EPOCH], config[CFG_GRADED]
    weight_exp, post_history = config[CFG_WEIGHT_EXP], config[CFG_POST_HISTORY]
    dec_exp = config[CFG_DEC_EXP]
    n, n_post, n_pre = w.shape
    k_step = ts % t_epoch or t_epoch
    a_out = np.empty((n, n_post), np.int32)
    learning = ts % t_epoch == 0  # all instances learn at the same steps
    for i in range(n):
        for j in range(n_post):
            a_out[i, j] = np.int32(a_buff[i, j])  # a_out port: 32-bit
            if a_out[i, j] != a_buff[i, j]:
                counters[_A_BUFF_COUNTER] += 1
            a_buff[i, j] = 0
        for q in range(n_pre):  # graded: w . payload; binary: sum of spiking columns
            if s_in[i, q] != 0:
                payload = s_in[i, q] if graded else np.int64(1)
                for j in range(n_post):
                    a_buff[i, j] += np.int64(w[i, j, q]) * payload
        for j in range(n_post):
            acc = _wrap32(a_buff[i, j])  # Lava's int32 dot product (graded)
            a_buff[i, j] = acc << weight_exp if weight_exp > 0 else acc >> -weight_exp
        for q in range(n_pre):
            if s_in[i, q] != 0:
                if tx[i, q] > 0:  # repeated pre spike: impulse now, random 0
                    for k in range(N_PRE_TRACES):
                        x_traces[i, k, q] = _impulse(
                            x_traces[i, k, q], x_params[T_IMPULSE_INT, k],
                            x_params[T_IMPULSE_FRAC, k], 0, counters, _X_COUNTER + k)
                tx[i, q] = k_step
        if kind != KIND_PLAIN:
            for j in range(n_post):
                if bap[i, j] != 0:
                    y0[i, j] = True
                    if ty[i, j] > 0:
                        for k in range(N_POST_TRACES):
                            y_traces[i, k, j] = _impulse(
                                y_traces[i, k, j], y_params[T_IMPULSE_INT, k],
                                y_params[T_IMPULSE_FRAC, k], rand[i, RAND_Y_IMPULSE_EARLY],
                                counters, _Y_COUNTER + k)
                    ty[i, j] = k_step
        if kind == KIND_3F:
            for j in range(n_post):
                y_traces[i, _Y1, j] = y1[i, j]
                y_traces[i, _Y2, j] = y2[i, j]
                y_traces[i, _Y3, j] = y3[i, j]
        if learning:
            _prepare_learning(i, ts, x_traces, y_traces, tx, ty, rand[i], kind, t_epoch,
                              post_history, dec_exp, x_params, y_params, rules, products,
                              factors, counters, pre, post, xh, yh, thresholds)
    return a_out
