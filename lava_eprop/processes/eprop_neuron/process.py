"""The import path of earlier versions: :class:`process_models.eprop_neuron.process.EpropNeuron`."""
from process_models.eprop_neuron.process import EpropNeuron

__all__ = ["EpropNeuron"]
