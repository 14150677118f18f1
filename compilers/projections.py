"""Projection-level lowering: tag and trace scales, rule coefficients.

The chain from e-prop's float update to Lava's integers, for a projection
into a recurrent group (weight scale ``Wq``, y3 scale ``Lambda``, y2 scale
``Psi``, x1 impulse ``X``, tag scale ``T``)::

    float:  dW = -eta L ebar,   ebar <- kappa ebar + s_out psi s_in zbar
    Lava:   dw = -c_w/32 t (y3-64),   dt = c_t/8 x1 y2 - c_k t

(``/32`` and ``/8`` are Lava's product shifts), so with ``t = T ebar``,
``x1 = X zbar``, ``y2 = Psi psi``, ``y3 - 64 = Lambda L``, ``w = Wq W``::

    c_w = 32 eta Wq / (Lambda T)        c_t = 8 T s_out s_in / (X Psi)
    c_k = 1 - kappa

1. ``T``: the tag should hold ``ebar`` at its design point (psi at its
   maximum, zbar at its mean) in 8 bits, ``T <= 255 / ebar_design``; ``c_w``
   is the smallest scale that keeps ``T`` there, and at least ``2^-7`` (a
   small learning rate then shrinks ``T``). ``T`` follows from ``c_w``
   exactly, so ``eta`` has no error at this step.
2. ``X`` and ``c_t``: ``c_t * X`` must equal ``8 T s_out s_in / Psi``. Among
   the scales ``c_t`` whose integer ``X = round(...)`` keeps x1 within 7 bits at
   the expected rate, the compiler takes the one with the most integer levels
   (of x1, d and y2 at their design points) whose realised learning rate
   ``eta * c_t X / (8 T s_out s_in / Psi)`` is within 1%, else the one closest
   to it. The y2 scale ``Psi`` (full, half or quarter range) is chosen per
   neuron group the same way, over all projections into it.

ALIF adds eps in ``d = D eps`` (``dd = c_d/8 x1 y2 - c_q/32 y1 d`` with
``y1 = Y ((1-rho) + beta psi)``, ``c_q = 32 / Y``) and the term ``- c_b/32 y2 d``
in ``dt`` with ``c_b = 32 T s_out beta / (Psi D)``; ``D = c_d X Psi / (8 s_in)``
must hold eps at its design point in 8 bits, and ``c_d`` is searched jointly
with ``c_t`` so that beta, relative to the realised main term, is closest.
The readout: ``dw = -c_o/8 x1 (y3-64)`` with ``c_o X = 8 eta Wq s_out / Lambda``
and no tag (its x1 is zbar filtered with kappa).
"""
from __future__ import annotations

from dataclasses import dataclass

from compilers.fixedpoint import (
    SCALE_MIN,
    SYN_VAR_MAX,
    Scale,
    lower_ceil,
    lower_nearest,
    magnitudes,
)

GOOD = 0.01          # a learning rate (or beta) within 1% counts as exact


@dataclass(frozen=True)
class Candidate:
    """One way to lower a projection: scales, x1 impulse and errors."""

    eta_err: float
    beta_err: float | None
    x1: int
    scales: dict
    levels: float
    tag: float | None = None
    delay: float | None = None

    @property
    def err(self) -> float:
        return max(abs(self.eta_err), abs(self.beta_err or 0.0))

    def error_key(self) -> tuple:
        """Within :data:`GOOD` counts as exact; beyond it, smaller is better."""
        return (self.err > GOOD, self.err if self.err > GOOD else 0.0)

    def key(self) -> tuple:
        """Exact enough first, then smallest error, then most integer levels."""
        return self.error_key() + (-self.levels,)


@dataclass(frozen=True)
class TagScale:
    c_w: Scale
    tag: float           # T
    design: float        # T * ebar_design, integer tag units


def tag_scale(eta: float, w_per_unit: float, lam: float, ebar_design: float) -> TagScale | None:
    """``c_w`` and ``T`` (step 1); None if ``eta`` needs a scale above the maximum."""
    need = 32 * eta * w_per_unit / (lam * SYN_VAR_MAX / ebar_design)
    c_w = lower_ceil(max(need, SCALE_MIN))
    if c_w is None:
        return None
    tag = 32 * eta * w_per_unit / (lam * c_w.value)
    return TagScale(c_w, tag, tag * ebar_design)


@dataclass(frozen=True)
class AlifChain:
    """What eps needs: beta and eps at its design point (float units)."""

    beta: float
    eps_design: float


def search_recurrent(tag: float, s_in: float, s_out: float, psi: float, zbar: float,
                     x1_max: int, alif: AlifChain | None) -> Candidate | None:
    """Best (c_t, X[, c_d, c_b]) for a projection into a recurrent group (step 2).

    ``levels`` is the number of integer levels x1 (and d) have at the design
    point (``zbar`` spikes, eps at its design value): the precision criterion.
    """
    k_t = 8 * tag * s_out * s_in / psi
    best = None
    for c_t in magnitudes():
        x_exact = k_t / c_t.value
        if not 0.5 <= x_exact < x1_max + 0.5:
            continue
        x1 = min(max(round(x_exact), 1), x1_max)
        eta_ratio = c_t.value * x1 / k_t
        if alif is None:
            found = [Candidate(eta_ratio - 1, None, x1, {"c_t": c_t}, x1 * zbar, tag)]
        else:
            found = _alif_candidates(tag, s_in, s_out, psi, x1, x1 * zbar, c_t, eta_ratio,
                                     alif)
        for cand in found:
            if best is None or cand.key() < best.key():
                best = cand
    return best


def _alif_candidates(tag, s_in, s_out, psi, x1, x1_levels, c_t, eta_ratio, alif):
    d_per_cd = x1 * psi / (8 * s_in)                 # D = c_d * d_per_cd
    lo = 2 / (alif.eps_design * d_per_cd)            # eps at design >= 2 integer levels
    hi = SYN_VAR_MAX / (alif.eps_design * d_per_cd)  # ... and <= 255
    for c_d in magnitudes():
        if not lo <= c_d.value <= hi:
            continue
        delay = c_d.value * d_per_cd
        k_b = 32 * tag * s_out * alif.beta / (psi * delay)
        c_b = lower_nearest(k_b)
        beta_ratio = c_b.value / k_b / eta_ratio
        yield Candidate(eta_ratio - 1, beta_ratio - 1, x1, {"c_t": c_t, "c_d": c_d, "c_b": c_b},
                        min(x1_levels, delay * alif.eps_design), tag, delay)


def search_readout(k_o: float, zbar: float, x1_max: int) -> Candidate | None:
    """Best (c_o, X) with ``c_o * X = k_o`` (the readout's chain)."""
    best = None
    for c_o in magnitudes():
        x_exact = k_o / c_o.value
        if not 0.5 <= x_exact < x1_max + 0.5:
            continue
        x1 = min(max(round(x_exact), 1), x1_max)
        cand = Candidate(c_o.value * x1 / k_o - 1, None, x1, {"c_o": c_o}, x1 * zbar)
        if best is None or cand.key() < best.key():
            best = cand
    return best
