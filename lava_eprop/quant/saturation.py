"""Saturation counts of the fixed-point network's state variables.

Most come from the fast engine itself (:attr:`FastNetwork.counters`): clip
and wrap events summed over instances and steps, per
``"<projection or group>.<variable>"``: every synaptic update of ``weights``,
``tag_1``, ``tag_2`` that a wrap or saturation changed, impulse additions
that the 7-bit saturation of ``x1``, ``x2``, ``y1..y3`` changed, ``a_buff``
int32 wraps; per group and the readout ``a_in`` (int32), ``u`` (24-bit wrap)
and ``v`` (24-bit saturation).

The engine does not count four clips on the neuron side; they are read from
the state after every step instead (:func:`state_counts`): an element at a
clip bound counts once, so a value that merely rests at its bound counts too:

* ``<group>.y3``: the learning signal ``y3`` at 0 or 127;
* ``<group>.b``: the ALIF adaptation at ``2^23 - 1``;
* ``error.e``: the error payload at ``+-(2^15 - 1)``;
* ``error.y3``: the readout's ``y3`` at 0 or 127.

Not counted: the ``min(127, .)`` guards on the ``y1``, ``y2`` the neurons
send (the compiler scales both to stay within 127).
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from lava_eprop.engine.neurons import ERR_MAX, TRACE_MAX, UV_MAX

SOURCE = ("clip and wrap events counted by FastNetwork.counters; <group>.y3, <group>.b, "
          "error.e, error.y3: elements at a clip bound after a step")
NOT_COUNTED = ("y1, y2 sent by the neurons (min(127, .) guards; the compiler keeps them within "
               "127)"),


def _at_bounds(values: np.ndarray, low, high) -> int:
    hits = np.count_nonzero(np.asarray(values) >= high)
    return int(hits + (0 if low is None else np.count_nonzero(np.asarray(values) <= low)))


def state_counts(net) -> Counter:
    """Elements of ``net`` (a :class:`~lava_eprop.engine.FastNetwork`) now at a clip bound
    the engine does not count."""
    counts = Counter()
    for g in net.spec.groups:
        counts[f"{g.name}.y3"] += _at_bounds(net.sent.y3[:, g.offset:g.offset + g.size], 0,
                                             TRACE_MAX)
        counts[f"{g.name}.b"] += _at_bounds(net.rec[g.name].b, None, UV_MAX - 1)
    counts["error.e"] += _at_bounds(net.e, -ERR_MAX, ERR_MAX)
    counts["error.y3"] += _at_bounds(net.y3_out, 0, TRACE_MAX)
    return counts


def saturation_counts(net, per_step: Counter) -> dict:
    """The counts of one run of ``net``: the engine's ``counters`` and ``per_step``, the sum
    of :func:`state_counts` after each of its steps."""
    return {**net.counters, **per_step}


class SaturationWatch:
    """Sums the saturation counts of many runs (one ``FastNetwork`` each).

    Call :meth:`after_step` after every step of a run and :meth:`end_run` at
    its end; :attr:`totals` holds the sums of every run so far.
    """

    def __init__(self) -> None:
        self.totals = Counter()
        self._run = Counter()

    def after_step(self, net) -> None:
        self._run.update(state_counts(net))

    def end_run(self, net) -> None:
        self.totals.update(saturation_counts(net, self._run))
        self._run = Counter()
