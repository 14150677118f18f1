"""The Lava processes of e-prop (defined in :mod:`process_models`, beside their models).

The mapping they implement: docs/architecture.md#the-loihi-2-mapping.

Import them from here; ``lava_eprop.processes.<folder>.process`` keeps the
paths of earlier versions. Why they are defined in :mod:`process_models`:
that package's docstring.
"""
from process_models.eprop_neuron.process import EpropNeuron
from process_models.error.process import EpropError
from process_models.readout.process import LeakyReadout

__all__ = ["EpropError", "EpropNeuron", "LeakyReadout"]
