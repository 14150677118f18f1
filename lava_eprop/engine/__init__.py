"""The fast engine: vectorised NumPy emulation of the fixed-point Lava graph.

:class:`LearningDenseEngine` executes, bit for bit, the integer arithmetic of
Lava 0.10.0's ``LearningDense`` fixed-point model (learning rules, traces,
stochastic rounding) for many independent instances at once;
:class:`FastNetwork` is the whole e-prop network (neuron kernels of
:mod:`lava_eprop.engine.neurons`, shared with the Lava process models).
"""
from lava_eprop.engine.learning_dense import LearningDenseEngine
from lava_eprop.engine.network import FastNetwork

__all__ = ["FastNetwork", "LearningDenseEngine"]
