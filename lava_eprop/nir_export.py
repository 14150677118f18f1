"""Export a trained LIF network as a NIR graph (Neuromorphic Intermediate Representation, nir 1.0.8).

Graph (node names; edges left to right)::

    input (Input, n_in) -> w_in (Linear) -> lif (LIF, n_rec) -> w_out (Affine) -> readout (LI, n_out) -> output
                                            lif -> w_rec (Linear) -> lif

Mapping of the product's discrete model (step ``dt`` ms; ``alpha = exp(-dt/tau_m)``,
``kappa = exp(-dt/tau_out)``, input scale ``s_in``, readout scale ``s_out``;
:mod:`lava_eprop.reference.network`)::

    v[t] = alpha v[t-1] + s_in (W_in x[t] + W_rec z[t-1]) - v_th z[t-1]
    z[t] = [v[t] > v_th]
    y[t] = kappa y[t-1] + s_out (W_out z[t] + b_out)

onto NIR's continuous neurons ``tau dv/dt = (v_leak - v) + r I`` (times in
seconds), chosen so that NIR's equations integrated with forward Euler at
step ``dt`` give the product's updates exactly (``1 - dt/tau = alpha``,
``dt r / tau = 1``):

* LIF: ``tau = dt / (1 - alpha)``, ``r = 1 / (1 - alpha)``, ``v_leak = 0``,
  ``v_threshold = v_th``, ``v_reset = 0``; Linear weights ``s_in W_in`` and
  ``s_in W_rec`` (the recurrent edge carries the previous step's spikes);
* readout LI: ``tau = dt / (1 - kappa)``, ``r = 1 / (1 - kappa)``, ``v_leak =
  0``; Affine weight ``s_out W_out``, bias ``s_out b_out``.

``tau`` differs from the config's ``tau_m`` (``dt/(1 - alpha)`` vs
``-dt/ln(alpha)``, e.g. 20.5 vs 20 ms): an exact-exponential simulator
should use ``tau_m``, recorded in the metadata. What NIR cannot hold:

* **Reset.** NIR's LIF sets ``v = v_reset`` when it spikes; the product
  subtracts ``v_th`` one step later (e-prop's reset by subtraction). Spike
  trains agree until a neuron's first spike, then differ (docs/nir.md gives
  the measured agreement).
* ALIF (NIR has no adaptive threshold) and refractory periods (NIR's LIF has
  none) are refused.

``weights="chip"`` writes the quantised weights the chip delivers (after
Lava's first-step truncation) divided by each projection's
``weight_per_unit``, i.e. in the float model's units; ``b_out`` stays float.
The graph's metadata states which, and the mapping.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lava_eprop import __version__
from lava_eprop.errors import UserError
from lava_eprop.io import atomic_path
from lava_eprop.network_file import TrainedNetwork
from lava_eprop.reference.params import Weights, net_params

WEIGHT_CHOICES = ("float", "chip")


def _check(net: TrainedNetwork) -> None:
    n = net.config.network
    if n.neuron != "lif":
        raise UserError(f"NIR export: neuron = {n.neuron!r} cannot be expressed in NIR, which "
                        "has no adaptive threshold (allowed: neuron: lif)")
    if n.refractory_steps > 1:
        raise UserError(f"NIR export: refractory_steps = {n.refractory_steps} cannot be "
                        "expressed by NIR's LIF, which has no refractory period "
                        "(allowed: 0 or 1)")


def chip_weights(net: TrainedNetwork) -> Weights:
    """The on-chip weights of ``net`` in float units (``w_int / weight_per_unit``)."""
    from lava_eprop.inference import effective_weights, integer_spec
    spec = integer_spec(net)
    ints = effective_weights(spec)
    per_unit = {name: spec.projection(name).plan.weight_per_unit for name in ints}
    w = net.weights
    return Weights(w_in=ints["input->lif"] / per_unit["input->lif"],
                   w_rec=ints["recurrent->lif"] / per_unit["recurrent->lif"],
                   w_out=ints["recurrent->readout"] / per_unit["recurrent->readout"],
                   b_out=np.asarray(w.b_out, float), fb=w.fb)


def nir_graph(net: TrainedNetwork, weights: str = "float"):
    """The NIR graph of ``net`` (module docstring); ``weights`` is ``float`` or ``chip``."""
    import nir
    if weights not in WEIGHT_CHOICES:
        raise UserError(f"NIR export: weights = {weights!r} (allowed: float, chip)")
    _check(net)
    p = net_params(net.config)
    w = net.weights if weights == "float" else chip_weights(net)
    dt = net.config.network.dt * 1e-3                    # ms -> s
    n_in, n_rec, n_out = w.w_in.shape[1], w.w_rec.shape[0], w.w_out.shape[0]

    def full(n: int, value: float) -> np.ndarray:
        return np.full(n, value, dtype=np.float64)

    nodes = {
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "w_in": nir.Linear(weight=p.s_in * np.asarray(w.w_in, float)),
        "lif": nir.LIF(tau=full(n_rec, dt / (1 - p.alpha)), r=full(n_rec, 1 / (1 - p.alpha)),
                       v_leak=full(n_rec, 0.0), v_threshold=full(n_rec, p.v_th),
                       v_reset=full(n_rec, 0.0)),
        "w_rec": nir.Linear(weight=p.s_in * np.asarray(w.w_rec, float)),
        "w_out": nir.Affine(weight=p.s_out * np.asarray(w.w_out, float),
                            bias=p.s_out * np.asarray(w.b_out, float)),
        "readout": nir.LI(tau=full(n_out, dt / (1 - p.kappa)), r=full(n_out, 1 / (1 - p.kappa)),
                          v_leak=full(n_out, 0.0)),
        "output": nir.Output(output_type={"output": np.array([n_out])}),
    }
    edges = [("input", "w_in"), ("w_in", "lif"), ("lif", "w_rec"), ("w_rec", "lif"),
             ("lif", "w_out"), ("w_out", "readout"), ("readout", "output")]
    n = net.config.network
    metadata = {
        "source": f"lava-eprop {__version__}", "weights": weights,
        "weights_note": ("float: the trained float64 weights" if weights == "float" else
                         "chip: the quantised on-chip weights / weight_per_unit (b_out float)"),
        "dt_s": dt, "tau_m_s": n.tau_m * 1e-3, "tau_out_s": n.tau_out * 1e-3,
        "discretisation": "forward Euler at dt_s reproduces the product's updates exactly; "
                          "tau = dt/(1-alpha), r = 1/(1-alpha), alpha = exp(-dt/tau_m)",
        "reset": "the product subtracts v_threshold one step after a spike; NIR resets to "
                 "v_reset = 0 at the spike",
        "recurrent_delay": "lif -> w_rec -> lif carries the previous step's spikes",
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def write_nir(path: str | Path, net: TrainedNetwork, weights: str = "float") -> None:
    """Write the NIR graph of ``net`` to ``path`` (HDF5, atomically)."""
    import nir
    graph = nir_graph(net, weights)
    with atomic_path(Path(path)) as tmp:
        nir.write(tmp, graph)
