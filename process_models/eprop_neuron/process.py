"""The e-prop recurrent neuron process (LIF / ALIF) sending third factors."""
from __future__ import annotations

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from lava_eprop.engine.neurons import RecParams


class EpropNeuron(AbstractProcess):
    """Recurrent e-prop neurons: membrane, spikes, pseudo-derivative, learning signal.

    Integer semantics: :func:`lava_eprop.engine.neurons.rec_step`.

    Parameters
    ----------
    shape : tuple of int
        ``(n,)``.
    params : RecParams
        Integer parameters (scalars or per-neuron arrays).
    layer_size, offset : int, optional
        This group is neurons ``offset .. offset + n - 1`` of a recurrent layer
        of ``layer_size`` neurons (default: the group is the layer).
    name : str, optional

    Ports
    -----
    a_in : synaptic input (sum of the plastic projections' ``a_out``)
    l_in : learning-signal input ``sum_k B_jk e_k`` of the whole layer
           (from :class:`EpropError`); the group reads its own entries
    s_out : spikes (as bap to its projections' ``s_in_bap``)
    s_out_layer : the spikes placed at the group's entries of a layer-sized
                  vector, zeros elsewhere: the groups' ``s_out_layer`` ports
                  connected to one ``s_in`` sum to the layer's spikes (Lava
                  0.10 cannot compile ``ConcatPort``s)
    y1_out, y2_out, y3_out : third factors for ``s_in_y1..3`` of the projections
    """

    def __init__(self, *, shape: tuple, params: RecParams, layer_size: int | None = None,
                 offset: int = 0, name: str | None = None) -> None:
        layer = (shape[0] if layer_size is None else layer_size,)
        super().__init__(shape=shape, params=params, offset=offset, name=name)
        self.a_in = InPort(shape=shape)
        self.l_in = InPort(shape=layer)
        self.s_out_layer = OutPort(shape=layer)
        self.s_out = OutPort(shape=shape)
        self.y1_out = OutPort(shape=shape)
        self.y2_out = OutPort(shape=shape)
        self.y3_out = OutPort(shape=shape)
        for var in ("u", "v", "b", "z", "r", "q", "y1", "y2", "y3"):
            setattr(self, var, Var(shape=shape, init=np.zeros(shape, np.int64)))
        self.f = Var(shape=shape, init=np.broadcast_to(np.asarray(params.f_target, np.int64),
                                                       shape).copy())
