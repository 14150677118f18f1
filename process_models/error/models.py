"""Models of :class:`process_models.error.process.EpropError`."""
from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

import functools

from lava_eprop.engine import neurons
from process_models.error.process import EpropError


class _ErrorModel(PyLoihiProcessModel):
    """Each step: send the buffered ``l`` (previous step), then receive the
    readout, compute ``e`` and ``y3``, send the readout's factors and buffer
    ``l = B e`` for the next step."""

    v_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    target_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
    mask_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=1)
    l_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=32)
    y3_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    bap_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=1)
    y1_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    y2_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=7)
    _error = _signal = None

    def run_spk(self) -> None:
        self.l_out.send(np.asarray(self.l_buff).astype(np.int32))
        v, target, mask = self.v_in.recv(), self.target_in.recv(), self.mask_in.recv()
        e, y3 = type(self)._error(v, target, mask[0], self.proc_params["params"])
        self.e[:], self.y3[:] = e, y3
        self.l_buff[:] = type(self)._signal(self.feedback, e)
        zeros = np.zeros(self.y3.shape, np.int32)
        self.y3_out.send(np.asarray(y3).astype(np.int32))
        for port in (self.bap_out, self.y1_out, self.y2_out):
            port.send(zeros)


@implements(proc=EpropError, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyEpropErrorModelFixed(_ErrorModel):
    """Bit-accurate: :func:`lava_eprop.engine.neurons.error_step` (16-bit ``e``,
    7-bit ``y3``) and ``l = B e`` (8-bit+sign B, int32 ``l``)."""

    feedback: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=9)
    e: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=16)
    y3: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=7)
    l_buff: np.ndarray = LavaPyType(np.ndarray, np.int64, precision=32)
    _error = staticmethod(neurons.error_step)
    _signal = staticmethod(neurons.learning_signal)


@implements(proc=EpropError, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyEpropErrorModelFloat(_ErrorModel):
    """Float: :data:`lava_eprop.engine.neurons.ERROR_STEP` in float64 (exact softmax, no
    saturation; ``y3`` sent rounded), ``l = B e`` in float."""

    feedback: np.ndarray = LavaPyType(np.ndarray, float)
    e: np.ndarray = LavaPyType(np.ndarray, float)
    y3: np.ndarray = LavaPyType(np.ndarray, float)
    l_buff: np.ndarray = LavaPyType(np.ndarray, float)
    _error = staticmethod(neurons.FLOAT_PORT_STEPS.error_step)
    _signal = staticmethod(functools.partial(neurons.learning_signal, dtype=float))
