"""Compiled (numba) time loops of the float reference, bit for bit its NumPy/SciPy path.

The readable specifications stay where they are:
:func:`lava_eprop.reference.neurons.rec_step`, ``scipy.signal.lfilter`` in
:func:`lava_eprop.reference.network.leaky_filter` and the NumPy loop of
``lava_eprop.reference.eprop._post_factor``. The kernels here execute the
same float operations element by element, in the same order and precision:
every product, sum and quotient is rounded on its own (no fused
multiply-add: numba without ``fastmath`` keeps IEEE semantics, and the
kernels contain no reductions to reorder), and constants are cast to the
arrays' dtype first, as NumPy casts Python floats. They replace per-step
NumPy calls whose overhead dominates batches of tens of trials
(:func:`rec_step_into`, one call per step) and lfilter's lane-by-lane walk
along a strided time axis (:func:`leaky_filter_into`,
:func:`post_factor_into`). The matrix products stay in NumPy's BLAS.
``tests/test_reference_compiled.py`` runs both paths side by side and
compares the bytes.
"""
from __future__ import annotations

import numpy as np

from lava_eprop import kernel_cache  # noqa: F401  keys the numba cache below
from lava_eprop.reference.params import NetParams

try:
    import numba
except ImportError:  # the NumPy/SciPy paths remain
    numba = None

#: Whether the compiled kernels can be used (numba is installed).
AVAILABLE = numba is not None


def step_constants(p: NetParams, dtype) -> tuple:
    """``rec_step``'s scalars as :func:`rec_step_into` takes them, in ``dtype``:
    ``(alpha, rho, v_th, gamma / v_th, n_ref)``."""
    cast = np.dtype(dtype).type
    return cast(p.alpha), cast(p.rho), cast(p.v_th), cast(p.gamma / p.v_th), int(p.n_ref)


if AVAILABLE:
    @numba.njit(cache=True)
    def rec_step_into(v, a, z, r, i_syn, beta, alpha, rho, v_th, gain, n_ref,
                      rec_z, rec_v, rec_a, rec_psi, t, keep_state):
        """:func:`neurons.rec_step` in place: state ``v, a, z, r`` [B, n] from step
        ``t-1`` to ``t`` given ``i_syn`` [B, n]; ``z, psi`` also into ``rec_*[:, t]``
        ([B, T, n]), and ``v, a`` too if ``keep_state`` (else ``rec_v``, ``rec_a`` are
        not touched). ``alpha .. gain`` from :func:`step_constants`."""
        zero, one = v.dtype.type(0.0), v.dtype.type(1.0)
        batch, size = v.shape
        for b in range(batch):
            for j in range(size):
                z_prev = z[b, j]
                a_new = rho * a[b, j] + z_prev
                v_new = alpha * v[b, j] + i_syn[b, j] - v_th * z_prev
                distance = v_new - (v_th + beta[j] * a_new)
                active = r[b, j] <= 0
                spike = distance > zero and active
                closeness = one - abs(distance) / v_th
                if closeness < zero:  # np.maximum(0, .): NaN passes, as in NumPy
                    closeness = zero
                psi = gain * closeness * (one if active else zero)
                z_new = one if spike else zero
                r[b, j] = min(max(r[b, j] + n_ref * np.int32(spike) - 1, 0), n_ref)
                v[b, j], a[b, j], z[b, j] = v_new, a_new, z_new
                rec_z[b, t, j], rec_psi[b, t, j] = z_new, psi
                if keep_state:
                    rec_v[b, t, j], rec_a[b, t, j] = v_new, a_new

    @numba.njit(cache=True)
    def leaky_filter_into(x, decay, scale, reverse, out):
        """:func:`network.leaky_filter` along axis 1 of ``x`` [B, T, n] into ``out``
        (may be ``x``): ``out[t] = scale * x[t] + decay * out[t-1]``, started as
        ``scale * x[0] + 0`` (lfilter's rounding, signed zeros included)."""
        zero = out.dtype.type(0.0)
        batch, steps, size = x.shape
        for b in range(batch):
            for k in range(steps):
                t = steps - 1 - k if reverse else k
                if k == 0:
                    for j in range(size):
                        out[b, t, j] = scale * x[b, t, j] + zero
                    continue
                before = t + 1 if reverse else t - 1
                for j in range(size):
                    out[b, t, j] = scale * x[b, t, j] + decay * out[b, before, j]

    @numba.njit(cache=True)
    def post_factor_into(signal, reg, psi, beta, kappa, s_out, rho, adaptive, h):
        """:func:`eprop._post_factor` into ``h`` (may be ``signal``), all [B, T, n]
        but ``reg`` [B, n]: ``c = leaky_filter(signal, kappa, s_out, reverse) + reg``; LIF
        ``h = c psi``; ALIF ``h[t] = (c[t] - lam[t]) psi[t]`` with
        ``lam[t] = d[t+1] + q[t+1] lam[t+1]``, ``d = (beta c) psi``,
        ``q = rho - psi beta``, ``lam[T-1] = 0``. One backward pass per trial."""
        zero = h.dtype.type(0.0)
        batch, steps, size = signal.shape
        c = np.empty(size, signal.dtype)
        lam = np.empty(size, signal.dtype)
        for b in range(batch):
            for k in range(steps):
                t = steps - 1 - k
                for j in range(size):
                    before = zero if k == 0 else kappa * c[j]
                    c[j] = s_out * signal[b, t, j] + before
                    c_reg = c[j] + reg[b, j]
                    if not adaptive:
                        h[b, t, j] = c_reg * psi[b, t, j]
                        continue
                    lam_t = zero if k == 0 else lam[j]
                    h[b, t, j] = (c_reg - lam_t) * psi[b, t, j]
                    d = c_reg * beta[j] * psi[b, t, j]
                    q = rho - psi[b, t, j] * beta[j]
                    lam[j] = d + q * lam_t
