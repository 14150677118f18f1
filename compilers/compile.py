"""Compile a config into a fixed-point plan for Loihi 2.

The mapping: docs/architecture.md#the-loihi-2-mapping.

:func:`compile_plan` lowers e-prop's float hyperparameters (Bellec et al.
2020; the float model is :mod:`lava_eprop.reference`) into the plan of
:mod:`compilers.plan`: per neuron group the 12-bit decays, threshold,
pseudo-derivative (y2) and learning-signal (y3) scalings; per plastic
projection the weight exponent, x1 impulse and time constant, tag and
delay scales and the ``Loihi3FLearningRule`` strings of
:data:`compilers.rules.TEMPLATES`, with ``t_epoch = 1`` (learning every
step). The neuron, tag and trace equations are in :mod:`compilers.neurons`
and :mod:`compilers.projections`.

Design points (what the 7- and 8-bit registers are sized for): a
presynaptic trace at its mean for the expected rate (inputs:
``fixed_point.input_rate_hz`` or the task's rate; recurrent spikes:
``training.reg_rate_hz``; at least one spike), with ``fixed_point.headroom``;
the pseudo-derivative at its maximum ``gamma / v_th``; weights up to
``fixed_point.weight_range`` initial standard deviations; errors up to
``fixed_point.error_max`` and learning signals up to ``error_max * n_out *
max|B|``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from compilers import neurons as nrn
from compilers.checks import Checker, at_least, at_most, between, equal, outside
from compilers.fixedpoint import (
    SCALE_MAX,
    SCALE_MIN,
    SYN_VAR_MAX,
    TRACE_MAX,
    Approximation,
    Scale,
    decay_approximation,
    lower_ceil,
    lower_nearest,
    magnitudes,
)
from compilers.plan import AlifParams, NeuronGroup, Plan, Projection
from compilers.projections import AlifChain, search_readout, search_recurrent, tag_scale
from compilers.rules import TEMPLATES, lower, rule_text
from compilers.setup import Setup, make_setup, notes_for, trace_steps


@dataclass(frozen=True)
class Pre:
    """A presynaptic population as the x1 trace sees it."""

    name: str
    size: int
    tau: int               # x1_tau, steps
    zbar_design: float     # mean trace at the expected rate, at least 1 spike
    x1_max: int            # largest impulse keeping x1 at its design point within 7 bits


def compile_plan(cfg) -> Plan:
    """Lower ``cfg`` (a :class:`lava_eprop.config.Config`) to a :class:`Plan`.

    Raises :class:`~lava_eprop.errors.UserError` for what Loihi 2 cannot
    represent; warns (:class:`compilers.checks.FixedPointWarning`) about
    near misses. Every approximation made is in ``Plan.approximations``.
    """
    fp = cfg.fixed_point
    check = Checker(fp.tolerance, fp.warn_tolerance)
    s = make_setup(cfg, check)
    v = nrn.voltage(check, s.v_th, [s.weight_spec(p) for p in ("input", "recurrent")],
                    "network.v_th")
    check.record(Approximation("recurrent: v_th", s.v_th, v.v_th), "network.v_th", s.v_th, "",
                 refusable=False)
    dv = nrn.membrane_decay(check, "recurrent: alpha", s.alpha, s.dt, "network.tau_m",
                            cfg.network.tau_m)
    tau_in = _trace_tau(check, "x1: alpha (tau_m)", cfg.network.tau_m, s.dt, "network.tau_m")
    tau_out = _trace_tau(check, "x1: kappa (tau_out)", cfg.network.tau_out, s.dt,
                         "network.tau_out")
    c_k = lower_nearest(1.0 - s.kappa)
    kappa_r = 1.0 - c_k.value
    check.record(decay_approximation("tag: kappa", s.kappa, kappa_r, s.dt), "network.tau_out",
                 cfg.network.tau_out, _tag_leak_range(check, 1.0 - s.kappa, s.dt))
    pre_in = _pre(check, "input", s.n_in, tau_in, s.rate_in, s, s.rate_in_key)
    pre_rec = _pre(check, "recurrent", s.n_rec, tau_in, s.rate_rec, s, "training.reg_rate_hz")
    groups, projections = [], []
    for name, size, model in s.recurrent_groups:
        group, projs = _recurrent_group(check, s, v, dv, name, size, model, c_k, kappa_r,
                                        (pre_in, pre_rec))
        groups.append(group)
        projections.extend(projs)
    pre_out = _pre(check, "recurrent", s.n_rec, tau_out, s.rate_rec, s, "training.reg_rate_hz")
    group, proj = _readout(check, s, pre_out)
    groups.append(group)
    projections.append(proj)
    check.notes.extend(notes_for(cfg, s))
    return Plan(source=cfg.source, neuron=cfg.network.neuron, options=s.options,
                groups=tuple(groups), projections=tuple(projections),
                approximations=tuple(check.approximations), notes=tuple(check.notes))


def _tag_leak_range(check: Checker, leak: float, dt: float) -> str:
    """The range of ``tau_out`` around a refused tag leak ``1 - kappa``.

    The leak is rounded to the nearest scale ``c = m 2^e`` and accepted when the
    leak's or the time constant's relative error is within the tolerance: for
    ``x`` above ``c`` up to ``max(c / (1 - tol), 1 - (1 - c)^(1 + tol))``, below
    it down to ``min(c / (1 + tol), 1 - (1 - c)^(1 - tol))``. A refused leak lies
    in the gap between two consecutive scales' accepted intervals (or under the
    smallest scale's), which maps to an interval of ``tau_out`` it must leave.
    """
    tol = check.tolerance

    def up(c):
        return max(c / (1 - tol) if tol < 1 else math.inf, -math.expm1((1 + tol) * math.log1p(-c)))

    def down(c):
        return min(c / (1 + tol), -math.expm1((1 - tol) * math.log1p(-c)))

    def tau(x):                          # a leak of 0 is an infinite time constant
        if x <= 0:
            return math.inf
        return -dt / math.log1p(-x) if x < 1 else 0.0

    scales = [m.value for m in magnitudes() if m.value < 1]
    below = [c for c in scales if c <= leak]
    if not below:                       # under the smallest scale: too slow a leak
        return at_most("network.tau_out", tau(down(scales[0])))
    c1 = below[-1]
    c2 = next((c for c in scales if c > leak), 1.0)
    mid = (c1 + c2) / 2
    return outside("network.tau_out", tau(max(down(c2), mid)), tau(min(up(c1), mid)))


def _trace_tau(check: Checker, name: str, tau: float, dt: float, param: str) -> int:
    """``x1_tau``: integer steps in 1..255 (8 bits in Lava's bit-approximate model; the
    range is checked by :func:`compilers.setup.make_setup`). Rounding ``tau/dt`` errs by
    at most ``0.5 dt / tau`` in the time constant: within the tolerance from
    ``tau = dt / (2 tolerance)`` on."""
    steps = trace_steps(tau, dt)
    shortest = dt / (2 * check.tolerance)
    check.record(decay_approximation(name, math.exp(-dt / tau), math.exp(-1.0 / steps), dt),
                 param, tau, at_least(param, shortest) if shortest < 255.5 * dt else None)
    return steps


def _pre(check: Checker, name: str, size: int, tau: int, rate_hz: float, s: Setup,
         rate_key: str) -> Pre:
    per_step = rate_hz * s.dt / 1000.0
    mean = per_step / (1.0 - math.exp(-1.0 / tau))
    design = max(mean, 1.0)
    room = TRACE_MAX / s.headroom
    if design > room:
        limit = room * (1.0 - math.exp(-1.0 / tau)) * 1000.0 / s.dt
        check.refuse(rate_key, rate_hz, f"the x1 trace of {name} spikes averages {mean:.3g} "
                     f"spikes at x1_tau = {tau}, more than 7 bits hold with headroom "
                     f"{s.headroom:g} ({room:.3g} spikes at impulse 1)",
                     at_most(rate_key, limit))
    return Pre(name, size, tau, design, math.floor(room / design))


def _recurrent_group(check, s, v, dv, name, size, model, c_k, kappa_r, pres):
    """A recurrent group and its two projections (from input and recurrent)."""
    psi_max = s.gamma / v.v_th
    alif = _alif(check, s, v, psi_max) if model == "alif" else None
    eps = alif if alif is not None and alif.q_max is not None else None
    fmts = {p.name: nrn.weight_format(check, s.weight_spec(p.name), v) for p in pres}
    tags = {p.name: _tag(check, s, p, fmts[p.name], psi_max, kappa_r) for p in pres}
    options = []
    for j in range(3):
        psi = nrn.psi_format(v, s.gamma, j)
        cands = {p.name: search_recurrent(
            tags[p.name].tag, s.s_in, s.s_out, psi.per_psi, p.zbar_design, p.x1_max,
            eps and AlifChain(s.beta, _ratio(psi_max * p.zbar_design * s.s_in, eps.q_max)))
            for p in pres}
        if all(cands.values()):
            levels = min([c.levels for c in cands.values()] + [TRACE_MAX / 2 ** j])
            options.append((max(c.error_key() for c in cands.values()), -levels, psi, cands))
    if not options:
        _refuse_search(check, s, v, tags, pres, eps is not None)
    _, neg_levels, psi, cands = min(options, key=lambda o: o[:2])
    if -neg_levels < 8:
        check.warn(f"group {name}: x1, y2 (or d) have only {-neg_levels:.0f} integer levels at "
                   "their design point (the learning rate is small for 8-bit weights)")
    projs = []
    for p in pres:
        scales = {**cands[p.name].scales, "c_w": tags[p.name].c_w, "c_k": c_k}
        if eps is not None:
            scales["c_q"] = eps.c_q
        projs.append(_projection(check, s, p, name, size, fmts[p.name], cands[p.name], scales,
                                 "alif" if eps is not None else "lif"))
    params = None
    if alif is not None:
        params = AlifParams(alif.da, alif.beta_v)
        if eps is not None:
            params = AlifParams(alif.da, alif.beta_v, eps.y_scale,
                                round(eps.y_scale * (1 - s.rho)),
                                eps.y_scale * s.beta / psi.per_psi)
    group = NeuronGroup(name, model, size, nrn.DU_INSTANT, dv, v.vth, v.scale, s.n_ref, psi.mant,
                        psi.shift, psi.per_psi, s.lam, "learning_signal", params)
    return group, projs


@dataclass(frozen=True)
class _AlifSetup:
    """ALIF threshold parameters; with eps, its leak factor ``q_max`` and y1 scale."""

    da: int
    beta_v: int
    q_max: float | None = None
    c_q: Scale | None = None
    y_scale: float | None = None


def _alif(check, s, v, psi_max) -> _AlifSetup:
    """Threshold adaptation (``da``, ``beta_v``) and, unless eps is dropped, y1's scale
    ``Y = 32 / c_q``, the largest with ``Y * ((1 - rho) + beta * psi_max) <= 127``."""
    da = nrn.membrane_decay(check, "alif: rho (threshold)", s.rho, s.dt, "network.tau_a",
                            s.tau_a)
    unit = v.scale * 64                     # beta_v per unit beta
    beta_v = round(s.beta * unit)
    top = (2 ** 23 - v.vth_eff - 0.5) / unit  # beta_v + vth_eff < 2^23
    # round(beta unit) errs by at most 0.5 / (beta unit): within the tolerance from
    # beta = 1 / (2 tol unit) on (if that fits the register)
    smallest = 1.0 / (2 * check.tolerance * unit)
    check.record(Approximation("alif: beta (threshold)", s.beta, beta_v / unit), "network.beta",
                 s.beta, at_least("network.beta", smallest) if smallest < top else None)
    if s.beta >= top:
        check.refuse("network.beta", s.beta, "one spike raises the adaptive threshold beyond "
                     "the 24-bit voltage register", at_most("network.beta", top, strict=True))
    if s.drop_eps or s.beta == 0:
        return _AlifSetup(da, beta_v)
    if s.beta * psi_max > s.rho:
        check.refuse("network.beta", s.beta, f"rho - beta*psi = {s.rho - s.beta * psi_max:.3g}"
                     " < 0 lets eps turn negative, and Lava keeps d (tag_2) >= 0 (psi up to "
                     "dampening / v_th)", at_most("network.beta", s.rho / psi_max))
    q_max = (1.0 - s.rho) + s.beta * psi_max
    c_q = lower_ceil(32 * q_max / TRACE_MAX)
    y_scale = 32 / c_q.value
    leak = round(y_scale * (1 - s.rho))
    eps_leak = decay_approximation("alif: rho (eps leak)", s.rho, 1 - leak / y_scale, s.dt)
    if check.refused(eps_leak):
        _refuse_eps_leak(check, s, psi_max, y_scale, eps_leak)
    check.record(eps_leak, "network.tau_a", s.tau_a, None)
    return _AlifSetup(da, beta_v, q_max, c_q, y_scale)


def _refuse_eps_leak(check, s, psi_max, y_scale, approx):
    """y1 = Y ((1 - rho) + beta psi) holds the eps leak ``1 - rho`` in steps of ``1/Y``,
    ``Y = 32 / c_q``, ``c_q`` the smallest scale ``>= 32 q_max / 127``; rounding errs by
    at most ``0.5 / (Y (1 - rho))``, within the tolerance when ``c_q <= M``, ``M`` the
    largest scale ``<= 64 tol (1 - rho)``, i.e. ``beta <= (127 M / 32 - (1 - rho)) / psi``.
    The adaptation ``beta psi`` shares y1's range with the leak: its ratio to the leak,
    not ``tau_a``, is what a refusal names; with no such ``M`` no beta helps and ``tau_a``
    is too long."""
    leak = 1.0 - s.rho
    why = (f"y1 holds the eps leak 1 - rho = {leak:.4g} in steps of 1/{y_scale:g}, "
           f"{y_scale * leak:.3g} steps, beside beta * psi_max = {s.beta * psi_max:.4g} "
           f"(dampening / v_th = {psi_max:.4g}): {approx.describe()} exceeds the tolerance "
           f"{check.tolerance:g} (fixed_point.tolerance); or fixed_point.drop_alif_eps: true")
    fits = [m.value for m in magnitudes() if m.value <= 64 * check.tolerance * leak]
    if fits and TRACE_MAX * fits[-1] / 32 >= leak:
        default = "" if s.cfg.network.beta is not None else \
            "the default 1.7 (1 - rho) / (1 - alpha) (network.beta: null); "
        check.refuse("network.beta", s.beta, default + why,
                     at_most("network.beta", (TRACE_MAX * fits[-1] / 32 - leak) / psi_max))
    if not fits and 8192 * check.tolerance > 1:   # 64 tol (1 - rho) >= 2^-7
        check.refuse("network.tau_a", s.tau_a, why, at_most(
            "network.tau_a", -s.dt / math.log1p(-1.0 / (8192 * check.tolerance))))


def _tag(check, s, pre, fmt, psi_max, kappa_r):
    """The tag scale of the projection from ``pre`` (step 1 of :mod:`compilers.projections`)."""
    ebar = s.s_out * psi_max * s.s_in * pre.zbar_design / (1.0 - kappa_r)
    tag = tag_scale(s.eta, fmt.per_unit, s.lam, ebar)
    if tag is None:
        need = 32 * s.eta * fmt.per_unit * ebar / (s.lam * SYN_VAR_MAX)
        check.refuse(s.eta_key, s.eta, f"projection from {pre.name}: the weight rule's scale "
                     f"{need:.4g} exceeds Lava's largest, 7*2^8",
                     at_most(s.eta_key, s.eta * SCALE_MAX / need))
    if tag.design < 2:     # only at c_w = 2^-7, where the tag is proportional to eta
        check.refuse(s.eta_key, s.eta, f"projection from {pre.name}: the eligibility tag would "
                     f"hold {tag.design:.2g} integer levels at its design point",
                     at_least(s.eta_key, _ratio(s.eta * 2, tag.design)))
    if tag.design < 16:
        check.warn(f"projection from {pre.name}: the eligibility tag holds only "
                   f"{tag.design:.0f} integer levels at its design point (the learning rate is "
                   "small for 8-bit weights)")
    return tag


def _refuse_search(check, s, v, tags, pres, with_eps):
    """No (x1 impulse, scale) pair exists. Without eps the tag increment ``c_t X`` is
    below Lava's smallest scale (``k_t < 2^-8`` at the quarter y2 range): name the
    learning rate when that projection's tag follows it (its weight rule at Lava's
    smallest scale, ``k_t`` proportional to eta), else the tag leak (``tau_out``)."""
    if with_eps:
        check.refuse("fixed_point.drop_alif_eps", False, "eps of the ALIF eligibility "
                     "(1 / ((1 - rho) + beta psi) at its design point) does not fit the 8 bits "
                     "of d with any trace scale; a shorter tau_a or a larger beta shrinks it",
                     equal("fixed_point.drop_alif_eps", True))
    psi = nrn.psi_format(v, s.gamma, 2).per_psi
    tag = min((tags[p.name] for p in pres), key=lambda t: t.tag)
    k_t = 8 * tag.tag * s.s_out * s.s_in / psi
    if tag.c_w.value == SCALE_MIN:
        check.refuse(s.eta_key, s.eta, "the eligibility tag changes by less than Lava's "
                     "smallest scale resolves",
                     at_least(s.eta_key, _ratio(s.eta * SCALE_MIN, 2 * k_t)))
    check.refuse("network.tau_out", s.tau_out, "the tag leak is too slow for the eligibility "
                 f"increments Lava can represent (c_t x1 = {k_t:.3g} < 2^-8)",
                 at_most("network.tau_out", s.tau_out, strict=True))


def _projection(check, s, pre, post, size, fmt, cand, scales, kind):
    name = f"{pre.name}->{post}"
    check.record(Approximation(f"{name}: learning rate", s.eta, s.eta * (1 + cand.eta_err)),
                 s.eta_key, s.eta, "", refusable=False)
    if cand.beta_err is not None:     # the nearest scale c_b to beta's term: no bound on beta
        check.record(Approximation(f"{name}: beta (eligibility)", s.beta,
                                   s.beta * (1 + cand.beta_err)), "network.beta", s.beta, None)
    rules = {t: rule_text(lower(t, text, scales)) for t, text in TEMPLATES[kind].items()}
    return Projection(name, pre.name, post, (size, pre.size), fmt.exp, fmt.per_unit, fmt.w_max,
                      cand.x1, pre.tau, 1, cand.tag, cand.delay, rules)


def _readout(check, s, pre):
    spec = s.weight_spec("readout")
    v = nrn.voltage(check, s.error_max, [spec], "fixed_point.error_max")
    dv = nrn.membrane_decay(check, "readout: kappa", s.kappa, s.dt, "network.tau_out",
                            s.tau_out)
    fmt = nrn.weight_format(check, spec, v)
    lam_full = nrn.signal_scale(s.error_max)     # in range: nrn.voltage accepted error_max
    options = []
    for j in range(3):
        lam = lam_full / 2 ** j
        cand = search_readout(8 * s.eta * fmt.per_unit * s.s_out / lam, pre.zbar_design,
                              pre.x1_max)
        if cand is not None:
            levels = min(cand.levels, lam * s.error_max)
            options.append((cand.error_key(), -levels, lam, cand))
    if not options:     # c_o X = k in [2^-8, (x1_max + 0.5) 7*2^8) for some Lambda / 2^j
        k = 8 * s.eta * fmt.per_unit * s.s_out / lam_full
        low = _ratio(s.eta * 0.5 * SCALE_MIN, 4 * k)
        high = _ratio(s.eta * (pre.x1_max + 0.5) * SCALE_MAX, k)
        check.refuse(s.eta_key, s.eta, "the readout rule cannot be represented with an x1 "
                     f"impulse in 1..{pre.x1_max}", between(s.eta_key, low, high,
                                                            high_strict=True))
    _, neg_levels, lam, cand = min(options, key=lambda o: o[:2])
    if -neg_levels < 16:
        check.warn(f"readout: x1 and y3 have only {-neg_levels:.0f} integer levels at their "
                   f"design point, y3 resolves the error in steps of {1 / lam:g} (the learning "
                   "rate is small for 8-bit weights)")
    group = NeuronGroup("readout", "leaky_readout", s.n_out, nrn.DU_INSTANT, dv, None, v.scale, 0,
                        None, None, None, lam, "error")
    return group, _projection(check, s, pre, "readout", s.n_out, fmt, cand, cand.scales,
                              "readout")


def _ratio(num: float, den: float) -> float:
    """``num / den``, infinite for a zero denominator (limits in messages, eps design)."""
    return num / den if den > 0 else math.inf
