"""Compile a config into a fixed-point plan for Loihi 2 (DESIGN section 4).

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
from compilers.checks import Checker
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
    every = 128 / max(1, math.ceil((1 / check.tolerance - 1) / 2))
    check.record(decay_approximation("tag: kappa", s.kappa, kappa_r, s.dt), "network.tau_out",
                 cfg.network.tau_out, f"tau_out/dt <= {every:.4g}, where every leak 1 - kappa "
                 "is within the tolerance of some m*2^e (m 1..8, e >= -7); longer ones only "
                 "near 128/m")
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


def _trace_tau(check: Checker, name: str, tau: float, dt: float, param: str) -> int:
    """``x1_tau``: integer steps in 1..255 (8 bits in Lava's bit-approximate model; the
    range is checked by :func:`compilers.setup.make_setup`)."""
    steps = trace_steps(tau, dt)
    check.record(decay_approximation(name, math.exp(-dt / tau), math.exp(-1.0 / steps), dt),
                 param, tau, f"tau/dt close to an integer within {check.tolerance:g}")
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
                     f"{rate_key} <= {limit:.4g} Hz")
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
    beta_v = round(s.beta * v.scale * 64)
    check.record(Approximation("alif: beta (threshold)", s.beta, beta_v / (v.scale * 64)),
                 "network.beta", s.beta, "beta * v_th scale large enough for an integer "
                 "threshold step")
    if beta_v + v.vth_eff >= 2 ** 23:
        check.refuse("network.beta", s.beta, "one spike raises the adaptive threshold beyond "
                     "the 24-bit voltage register",
                     f"beta <= {(2 ** 23 - v.vth_eff) / (v.scale * 64):.4g}")
    if s.drop_eps or s.beta == 0:
        return _AlifSetup(da, beta_v)
    if s.beta * psi_max > s.rho:
        check.refuse("network.beta", s.beta, f"rho - beta*psi = {s.rho - s.beta * psi_max:.3g}"
                     " < 0 lets eps turn negative, and Lava keeps d (tag_2) >= 0",
                     f"beta <= rho * v_th / dampening = {s.rho / psi_max:.4g}")
    q_max = (1.0 - s.rho) + s.beta * psi_max
    c_q = lower_ceil(32 * q_max / TRACE_MAX)
    y_scale = 32 / c_q.value
    leak = round(y_scale * (1 - s.rho))
    check.record(decay_approximation("alif: rho (eps leak)", s.rho, 1 - leak / y_scale, s.dt),
                 "network.tau_a", s.tau_a, f"tau_a/dt <= {y_scale / (2 * check.tolerance):.4g}"
                 f" (y1 holds the eps leak 1-rho with resolution {1 / y_scale:.3g})")
    return _AlifSetup(da, beta_v, q_max, c_q, y_scale)


def _tag(check, s, pre, fmt, psi_max, kappa_r):
    """The tag scale of the projection from ``pre`` (step 1 of :mod:`compilers.projections`)."""
    ebar = s.s_out * psi_max * s.s_in * pre.zbar_design / (1.0 - kappa_r)
    tag = tag_scale(s.eta, fmt.per_unit, s.lam, ebar)
    if tag is None:
        need = 32 * s.eta * fmt.per_unit * ebar / (s.lam * SYN_VAR_MAX)
        check.refuse(s.eta_key, s.eta, f"projection from {pre.name}: the weight rule's scale "
                     f"{need:.4g} exceeds Lava's largest, 7*2^8",
                     f"{s.eta_key} <= {s.eta * SCALE_MAX / need:.4g}")
    if tag.design < 2:
        check.refuse(s.eta_key, s.eta, f"projection from {pre.name}: the eligibility tag would "
                     f"hold {tag.design:.2g} integer levels at its design point",
                     f"{s.eta_key} >= {_ratio(s.eta * 2, tag.design):.4g}")
    if tag.design < 16:
        check.warn(f"projection from {pre.name}: the eligibility tag holds only "
                   f"{tag.design:.0f} integer levels at its design point (the learning rate is "
                   "small for 8-bit weights)")
    return tag


def _refuse_search(check, s, v, tags, pres, with_eps):
    """No (x1 impulse, scale) pair exists: name the learning rate when the tag scale
    follows it (the weight rule is at Lava's smallest scale), else the time constant."""
    if with_eps:
        check.refuse("network.tau_a", s.tau_a, "eps of the ALIF eligibility does not fit the "
                     "8 bits of d with any trace scale", "a shorter tau_a, a larger beta, or "
                     "fixed_point.drop_alif_eps: true")
    psi = nrn.psi_format(v, s.gamma, 2).per_psi
    k_t = min(8 * tags[p.name].tag * s.s_out * s.s_in / psi for p in pres)
    if all(t.c_w.value == SCALE_MIN for t in tags.values()):
        check.refuse(s.eta_key, s.eta, "the eligibility tag changes by less than Lava's "
                     "smallest scale resolves",
                     f"{s.eta_key} >= {_ratio(s.eta * SCALE_MIN, 2 * k_t):.4g}")
    check.refuse("network.tau_out", s.tau_out, "the tag leak is too slow for the eligibility "
                 "increments Lava can represent", "a shorter tau_out")


def _projection(check, s, pre, post, size, fmt, cand, scales, kind):
    name = f"{pre.name}->{post}"
    check.record(Approximation(f"{name}: learning rate", s.eta, s.eta * (1 + cand.eta_err)),
                 s.eta_key, s.eta, "", refusable=False)
    if cand.beta_err is not None:
        check.record(Approximation(f"{name}: beta (eligibility)", s.beta,
                                   s.beta * (1 + cand.beta_err)), "network.beta", s.beta,
                     "a beta whose eligibility term is representable; or "
                     "fixed_point.drop_alif_eps: true")
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
    if not options:
        k = 8 * s.eta * fmt.per_unit * s.s_out / lam_full
        low = _ratio(s.eta * 0.5 * SCALE_MIN, k)
        high = _ratio(s.eta * (pre.x1_max + 0.5) * SCALE_MAX, k)
        check.refuse(s.eta_key, s.eta, "the readout rule cannot be represented with an x1 "
                     f"impulse in 1..{pre.x1_max}", f"{low:.4g} <= {s.eta_key} <= {high:.4g}")
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
