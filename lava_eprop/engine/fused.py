"""A compiled ``LearningDense`` step (numba), bit-exact with the NumPy engine.

:class:`~lava_eprop.engine.learning_dense.LearningDenseEngine` is the
readable specification: NumPy over whole arrays, one Lava method per
function. This module and :mod:`lava_eprop.engine.rule_codegen` execute the
same integer arithmetic as one compiled call per time step, which removes
the per-step Python and NumPy overhead that dominates small networks. That
call (``step`` of :func:`lava_eprop.engine.rule_codegen.connection_module`, generated for
the connection's rules) runs

* :func:`step` (here, generic): the spiking phase, then on learning steps
  the trace histories, the per-neuron parts of every product and the
  rounding thresholds;
* then, on learning steps, the generated synapse update: every rule of
  every synapse in one loop.

The order of operations, the widths and the random numbers used are
exactly those documented in :mod:`lava_eprop.engine.learning_dense`,
:mod:`~lava_eprop.engine.traces` and :mod:`~lava_eprop.engine.rule_eval`;
the tests run both paths side by side.

The compiled rules (:class:`~lava_eprop.engine.rule_eval.RulePlan`) are
encoded as small integer tables (:func:`encode_rules`): one row per rule, per
product and per factor. A product is evaluated as
``mantissa * (pre-side factors)[q] * (post-side factors)[j] * (synapse
factors)[j, q]``: the pre and post parts are computed once per neuron.

Both parts count saturation and wrap-around events (see :data:`COUNTERS`);
the NumPy path counts the same events.
"""
from __future__ import annotations

import numpy as np

from lava_eprop import kernel_cache  # noqa: F401  keys the numba cache below
from lava_eprop.engine import rule_eval
from lava_eprop.engine.traces import TRACE_MAX
from lava_eprop.loihi import symbols as sym

try:
    import numba
except ImportError:  # the NumPy path remains
    numba = None

#: Whether the compiled kernel can be used (numba is installed).
AVAILABLE = numba is not None

#: Counted events, in the order of the counter array: updates of weights,
#: tag_1 (t) and tag_2 (d) in which a wrap or a saturation acted (32-bit
#: product, 16-bit product and accumulator, sign, 9-bit variable;
#: synapse-epochs); 7-bit trace saturation at an impulse (neuron-steps);
#: ``a_buff`` values wrapped to int32 when sent as ``a_out`` (neuron-steps).
COUNTERS = ("weights", "tag_1", "tag_2", "x1", "x2", "y1", "y2", "y3", "a_buff")
_X_COUNTER, _Y_COUNTER, _A_BUFF_COUNTER = 3, 5, 8

#: Rule kinds (``LearningDenseEngine.rule_kind``) as kernel codes.
KINDS = {"plain": 0, "2F": 1, "3F": 2}

#: Table codes (used by :mod:`lava_eprop.engine.rule_codegen` too): targets,
#: dependencies, factor variables, sides, accumulator sign saturation.
TARGETS = rule_eval.TARGET_CODES
_DEPENDENCIES = {sym.X0: 0, sym.Y0: 1, sym.U: 2}
#: Factor variables: x0, y0, the traces (x1, x2 = 2, 3; y1..y3 = 4..6),
#: w, d, t and the constant C.
VARS = {sym.X0: 0, sym.Y0: 1, sym.X1: 2, sym.X2: 3, sym.Y1: 4, sym.Y2: 5, sym.Y3: 6,
         sym.W: 7, sym.D: 8, sym.T: 9, sym.C: 10}
PRE_SIDE, POST_SIDE, SYNAPSE_SIDE = 0, 1, 2
_SIDES = {rule_eval.PRE: PRE_SIDE, rule_eval.POST: POST_SIDE,
          rule_eval.SYNAPSE: SYNAPSE_SIDE}
#: Saturation of the accumulator before rounding: none, max(A, 0), min(A, 0).
NO_SIGN, NON_NEGATIVE, NON_POSITIVE = 0, 1, 2


def encode_rules(plans, sign_mode) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer tables of compiled rules, for the kernel.

    Returns
    -------
    rules : ndarray, int64, (n_rules, 8)
        target (0 weights, 1 tag_1, 2 tag_2), accumulator shift, rounding
        bits, accumulator sign saturation, low and high bounds, first product
        row, number of products.
    products : ndarray, int64, (n_products, 7)
        dependency (0 x0, 1 y0, 2 u), mantissa, left shift, right shift,
        first factor row, number of factors, whether the shifted product may
        leave the accumulator range (``ProductPlan.may_saturate``).
    factors : ndarray, int64, (n_factors, 5)
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
        rules.append([TARGETS[plan.target], plan.acc_shift, plan.round_bits, sign, low, high,
                      len(products), len(plan.products)])
        for product in plan.products:
            products.append([_DEPENDENCIES[product.dependency], product.mantissa,
                             product.left_shift, product.right_shift, len(factors),
                             len(product.factors), int(product.may_saturate)])
            for f in product.factors:
                if f.const != int(f.const):
                    raise ValueError(f"non-integer constant {f.const} in a factor")
                side = PRE_SIDE if f.var == sym.C else _SIDES[f.side]
                factors.append([VARS[f.var], int(f.const), int(f.is_sgn), f.width, side])
    return _table(rules, 8), _table(products, 7), _table(factors, 5)


def _table(rows: list, columns: int) -> np.ndarray:
    return np.array(rows, np.int64).reshape(-1, columns)


if AVAILABLE:
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
        value = raw + factors[f, 1]
        if factors[f, 2]:
            return np.int64((value > 0) - (value < 0))
        bound = np.int64(1) << factors[f, 3]
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
                factor, before, after = params[0, k], history[t - 1, k], history[t, k]
                for q in range(n):  # the decay, then (rarely) the impulses
                    scaled = factor * before[q]  # float64, as Lava
                    whole = np.floor(scaled)
                    after[q] = np.int64(whole) + np.int64(r_decay < scaled - whole)
                for q in range(n):
                    if spike_time[q] == t:
                        after[q] = _impulse(after[q], params[1, k], params[2, k], r_impulse,
                                            counters, counter + k)

    @numba.njit(cache=True)
    def _neuron_parts(parts, own_time, history, dep_code, factors, products, side, u,
                      t_epoch):
        """Per-neuron part of every product into ``parts`` (n_products, n): the
        dependency flag of this side (or u), the mantissa (pre side) and this
        side's saturated factors (one pass over the neurons per factor)."""
        n = parts.shape[1]
        for p in range(len(products)):
            dep = products[p, 0]
            base = products[p, 1] if side == PRE_SIDE else np.int64(1)
            row = parts[p]
            if dep == dep_code:
                for q in range(n):
                    row[q] = base * (own_time[q] > 0)
            else:
                if side == POST_SIDE and dep == 2:
                    base *= u
                for q in range(n):
                    row[q] = base
            for f in range(products[p, 4], products[p, 4] + products[p, 5]):
                if factors[f, 4] != side:
                    continue
                var = factors[f, 0]
                if var == 10:  # the constant C
                    value = _factor_value(np.int64(0), factors, f)
                    for q in range(n):
                        row[q] *= value
                elif var <= 1:  # x0 or y0 as a factor
                    for q in range(n):
                        row[q] *= _factor_value(np.int64(own_time[q] > 0), factors, f)
                else:  # a trace, at the neuron's spike step (its dependency) or t_epoch
                    k = var - 2 - 2 * (side == POST_SIDE)
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
        _history(xh[i], x_traces[i], tx[i], x_params, t_epoch, rand[1], rand[2], counters,
                 _X_COUNTER)
        x_traces[i] = xh[i, t_epoch]
        if post_history:
            _history(yh[i], y_traces[i], ty[i], y_params, t_epoch, rand[3], rand[4], counters,
                     _Y_COUNTER)
            if kind == 1:  # 2F: the histories' end values; 3F keeps the received y
                y_traces[i] = yh[i, t_epoch]
        u = np.int64(dec_exp >= 0 and (ts // t_epoch) % (1 << max(dec_exp, 0)) == 0)
        _neuron_parts(pre[i], tx[i], xh[i], 0, factors, products, PRE_SIDE, u, t_epoch)
        _neuron_parts(post[i], ty[i], yh[i], 1, factors, products, POST_SIDE, u, t_epoch)
        for r in range(len(rules)):  # r < k / 2^7  <=>  k > floor(r 2^7) for an integer k
            thresholds[i, r] = np.int64(np.floor(rand[5] * (1 << rules[r, 2])))

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
        place; ``rand`` (n_instances, 6) holds this step's random numbers:
        the post impulse integer after the first advance, then after the
        second advance the pre decay double and impulse integer, the post
        decay double and impulse integer, and the synaptic-variable double;
        ``config`` is (rule kind, t_epoch, graded, weight_exp, post history
        needed, decimate exponent or -1).
        """
        kind, t_epoch, graded, weight_exp, post_history, dec_exp = config
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
                acc = _wrap32(a_buff[i, j])  # an int32 sum, as in the NumPy path
                a_buff[i, j] = acc << weight_exp if weight_exp > 0 else acc >> -weight_exp
            for q in range(n_pre):
                if s_in[i, q] != 0:
                    if tx[i, q] > 0:  # repeated pre spike: impulse now, random 0
                        for k in range(2):
                            x_traces[i, k, q] = _impulse(x_traces[i, k, q], x_params[1, k],
                                                         x_params[2, k], 0, counters,
                                                         _X_COUNTER + k)
                    tx[i, q] = k_step
            if kind != 0:
                for j in range(n_post):
                    if bap[i, j] != 0:
                        y0[i, j] = True
                        if ty[i, j] > 0:
                            for k in range(3):
                                y_traces[i, k, j] = _impulse(
                                    y_traces[i, k, j], y_params[1, k], y_params[2, k],
                                    rand[i, 0], counters, _Y_COUNTER + k)
                        ty[i, j] = k_step
            if kind == 2:
                for j in range(n_post):
                    y_traces[i, 0, j] = y1[i, j]
                    y_traces[i, 1, j] = y2[i, j]
                    y_traces[i, 2, j] = y3[i, j]
            if learning:
                _prepare_learning(i, ts, x_traces, y_traces, tx, ty, rand[i], kind, t_epoch,
                                  post_history, dec_exp, x_params, y_params, rules, products,
                                  factors, counters, pre, post, xh, yh, thresholds)
        return a_out
