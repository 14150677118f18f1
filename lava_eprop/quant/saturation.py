"""Saturation counts of the fixed-point network's state variables.

They come from the fast engine itself (:attr:`FastNetwork.counters`): clip
and wrap events summed over instances and steps, per
``"<projection or group>.<variable>"``: every synaptic update of ``weights``,
``tag_1``, ``tag_2`` that a wrap or saturation changed, impulse additions
that the 7-bit saturation of ``x1``, ``x2``, ``y1..y3`` changed, ``a_buff``
int32 wraps; per group ``a_in`` (int32), ``u`` (24-bit wrap), ``v``, ``b``,
``f`` (24-bit saturation) and ``y3`` (the learning signal clipped to 7 bits);
``readout.u``, ``readout.v``, ``error.e`` (16-bit clip), ``error.y3``.

Not counted: the ``min(127, .)`` guards on the ``y1``, ``y2`` the neurons
send (the compiler scales both to stay within 127).
"""
from __future__ import annotations

from collections import Counter

SOURCE = "clip and wrap events counted by FastNetwork.counters"
NOT_COUNTED = ("y1, y2 sent by the neurons (min(127, .) guards; the compiler keeps them within "
               "127)"),


class SaturationWatch:
    """Sums the saturation counts of many runs (one ``FastNetwork`` each).

    Call :meth:`end_run` at the end of each run; :attr:`totals` holds the sums of
    every run so far.
    """

    def __init__(self) -> None:
        self.totals = Counter()

    def end_run(self, net) -> None:
        self.totals.update(net.counters)
