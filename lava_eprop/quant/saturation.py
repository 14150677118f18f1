"""Saturation counts of the fixed-point network's state variables.

:func:`saturation_counts` is the one place that reads them. ``FastNetwork``
does not count clip or wrap events itself in this version, so the counts
come from the states: after every step, each element found at a clip bound
of its register counts once, summed over instances and steps, per
``"<projection or group>.<variable>"``:

=========================  ==================================================
``<projection>.weights``   -256 or 255 (8 bits + sign)
``<projection>.tag_1``     -257 or 255 (Lava's bounds of the tag t)
``<projection>.tag_2``     255 (d is clipped to 0..255; 0 is its rest value)
``<projection>.x1``        127 (7-bit trace)
``<group>.v``, ``.b``      +-(2^23 - 1), 2^23 - 1 (24-bit registers)
``<group>.y3``             0 or 127 (the learning signal)
``readout.v``              +-(2^23 - 1)
``error.e``, ``error.y3``  +-(2^15 - 1); 0 or 127
=========================  ==================================================

This overcounts a value that rests at its bound without being pushed past
it (an initial weight of -255 becomes -256 when Lava drops its LSB, and
stays there) and misses what leaves no trace in the state: the 24-bit wrap
of ``u``, the 16-bit accumulator and product saturation inside a learning
update, and the ``min(127, .)`` guards of ``y1``, ``y2`` (bounded by the
compiler's scaling).
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from lava_eprop.engine.neurons import ERR_MAX, TRACE_MAX, UV_MAX

V_MAX = UV_MAX - 1
_PROJECTION_BOUNDS = {"weights": (-256, 255), "tag_1": (-257, 255), "tag_2": (None, 255),
                      "x1": (None, TRACE_MAX)}
_GROUP_BOUNDS = {"v": (-V_MAX, V_MAX), "b": (None, V_MAX), "y3": (0, TRACE_MAX)}
MISSING = ("u (24-bit wrap)", "learning accumulator and products (16 bits)",
           "y1, y2 (min(127, .) guards)")


def _at_bounds(values: np.ndarray, bounds: tuple) -> int:
    low, high = bounds
    hits = 0 if high is None else np.count_nonzero(values >= high)
    return int(hits + (0 if low is None else np.count_nonzero(values <= low)))


def step_counts(net) -> Counter:
    """Elements of ``net`` (a :class:`~lava_eprop.engine.FastNetwork`) at a clip bound now."""
    counts = Counter()
    for name, dense in net.dense.items():
        for var, bounds in _PROJECTION_BOUNDS.items():
            counts[f"{name}.{var}"] += _at_bounds(getattr(dense, var), bounds)
    for g in net.spec.groups:
        state, sent = net.rec[g.name], net.sent
        for var, bounds in _GROUP_BOUNDS.items():
            values = getattr(sent, var)[:, g.offset:g.offset + g.size] if var == "y3" \
                else getattr(state, var)
            counts[f"{g.name}.{var}"] += _at_bounds(values, bounds)
    counts["readout.v"] += _at_bounds(net.readout.v, (-V_MAX, V_MAX))
    counts["error.e"] += _at_bounds(net.e, (-ERR_MAX, ERR_MAX))
    counts["error.y3"] += _at_bounds(net.y3_out, (0, TRACE_MAX))
    return counts


def saturation_counts(net, per_step: Counter) -> dict:
    """The counts of one run of ``net``: its own ``counters`` when the engine keeps them,
    else ``per_step``, the sum of :func:`step_counts` after each of its steps."""
    own = getattr(net, "counters", None)
    return dict(own) if own is not None else dict(per_step)


class SaturationWatch:
    """Sums the saturation counts of many runs (one ``FastNetwork`` each).

    Call :meth:`after_step` after every step of a run and :meth:`end_run` at
    its end; :attr:`totals` holds the sums of every run so far.
    """

    def __init__(self) -> None:
        self.totals = Counter()
        self.source = "states"          # "engine" once a run brought its own counters
        self._run = Counter()

    def after_step(self, net) -> None:
        if not hasattr(net, "counters"):
            self._run.update(step_counts(net))

    def end_run(self, net) -> None:
        if hasattr(net, "counters"):
            self.source = "engine"
        self.totals.update(saturation_counts(net, self._run))
        self._run = Counter()
