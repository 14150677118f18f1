"""Models of :class:`process_models.eprop_neuron.process.EpropNeuron`."""
from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from lava_eprop.engine import neurons
from process_models.eprop_neuron.process import EpropNeuron


class _EpropNeuronModel(PyLoihiProcessModel):
    """Ports and state shared by both models; ``_step`` is the kernel."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)
    l_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=32)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    s_out_layer: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    y1_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    y2_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    y3_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    _step = None
    _state = None

    def run_spk(self) -> None:
        a_in, l_all = self.a_in.recv(), self.l_in.recv()
        offset, n = self.proc_params["offset"], a_in.shape[0]
        l_in = l_all[offset:offset + n]
        state = self._state(*(getattr(self, f) for f in self._state._fields))
        state, out = type(self)._step(state, a_in, l_in, self.proc_params["params"])
        for name, values in zip(state._fields, state):
            getattr(self, name)[:] = values
        for name, values in zip(("y1", "y2", "y3"), out[1:]):
            getattr(self, name)[:] = values
        z = np.asarray(out.z).astype(np.int32)
        layer = np.zeros(l_all.shape, np.int32)
        layer[offset:offset + n] = z
        self.s_out.send(z)
        self.s_out_layer.send(layer)
        for port, values in zip((self.y1_out, self.y2_out, self.y3_out), out[1:]):
            port.send(np.asarray(values).astype(np.int32))


@implements(proc=EpropNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyEpropNeuronModelFixed(_EpropNeuronModel):
    """Bit-accurate model: exactly :func:`lava_eprop.engine.neurons.rec_step`.

    Widths: u, v, b, f 24 bits (int64 storage), q 17 bits signed, r up to n_ref,
    y1..y3 7 bits;
    inputs a_in, l_in int32. Order of operations, shifts and rounding: see
    ``rec_step``.
    """

    u: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    v: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    b: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    z: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=1)
    r: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=8)
    f: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=24)
    q: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=17)
    y1: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=7)
    y2: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=7)
    y3: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=7)
    _step = staticmethod(neurons.rec_step)
    _state = neurons.RecState


@implements(proc=EpropNeuron, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyEpropNeuronModelFloat(_EpropNeuronModel):
    """Float model: :data:`lava_eprop.engine.neurons.REC_STEP` in float64 (no truncation,
    wrap or saturation; same parameters and units); third factors are sent rounded to
    integers (``neurons.FLOAT_PORT_STEPS``)."""

    u: np.ndarray = LavaPyType(np.ndarray, float)
    v: np.ndarray = LavaPyType(np.ndarray, float)
    b: np.ndarray = LavaPyType(np.ndarray, float)
    z: np.ndarray = LavaPyType(np.ndarray, float)
    r: np.ndarray = LavaPyType(np.ndarray, float)
    f: np.ndarray = LavaPyType(np.ndarray, float)
    q: np.ndarray = LavaPyType(np.ndarray, float)
    y1: np.ndarray = LavaPyType(np.ndarray, float)
    y2: np.ndarray = LavaPyType(np.ndarray, float)
    y3: np.ndarray = LavaPyType(np.ndarray, float)
    _step = staticmethod(neurons.FLOAT_PORT_STEPS.rec_step)
    _state = neurons.RecState
