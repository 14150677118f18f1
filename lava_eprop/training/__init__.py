"""Training drivers, above the models and the engines they run.

* :mod:`~lava_eprop.training.reference`: the float reference (e-prop, batch
  or online, or BPTT), :func:`~lava_eprop.training.reference.train_float`;
* :mod:`~lava_eprop.training.onchip`: on-chip e-prop of the integer network,
  trial by trial, on the fast engine or the Lava graph, and what the host
  does between trials, :func:`~lava_eprop.training.onchip.train_fixed`;
* :mod:`~lava_eprop.training.common`: what both share.

The float reference (:mod:`lava_eprop.reference`) and the fast engine
(:mod:`lava_eprop.engine`) import nothing from here, the checkpoints or the
Lava graph (``tests/test_layout.py``); these drivers connect them to the
config, the compiler and the checkpoints.
"""
