"""Export a trained LIF network as a netx HDF5 file (``lava.lib.dl.netx.hdf5.Network``).

The layout is the one netx's loader (lava-dl 0.6.0, ``netx/hdf5.py``) reads::

    layer/0  type 'input', shape [n_in]      (no neuron: netx feeds layer 1's synapses)
    layer/1  type 'dense_rec', shape [n_rec], weight [n_rec, n_in], weight_rec [n_rec, n_rec],
             neuron {type 'CUBA', iDecay, vDecay, vThMant, refDelay, gradedSpike}
    layer/2  type 'dense', shape [n_out], weight [n_out, n_rec], neuron CUBA with
             vThMant 2^17 (never spikes: its voltage is the readout)
    attrs    lava_eprop_* : schema and package version, readout_per_register, notes

netx builds Lava's ``LIF`` (fixed point ``PyLifModelBitAcc``, ``du = iDecay - 1``,
``dv = vDecay``) and ``Dense`` blocks; every ``Dense`` sends one step late, as
the product's ``LearningDense`` does, so the layers line up step for step.

What netx cannot hold, and what the export therefore changes
(docs/deployment.md#netx-export gives the measured effect):

* **Reset.** netx's CUBA neuron resets ``v`` to 0 in the step it spikes; the
  product's neuron subtracts the threshold in the next step (e-prop's reset by
  subtraction). Spike trains agree until a neuron first spikes, then drift.
* **Weight exponent.** netx ignores ``wgtExp`` and rescales each weight matrix
  itself, so it delivers ``sum(w)`` exactly but no ``<< weight_exp``. The
  export writes the integer weights (``w << (e - e_layer)``, ``e_layer`` the
  layer's smallest exponent) and runs the layer's registers in units of
  ``2^e_layer``: the threshold becomes ``round(vth 2^-e_layer)`` and the
  12-bit decays truncate at that scale. The readout voltage in netx is the
  product's times ``2^-e_out``; ``readout_per_register`` converts it to ``y``.
* The weights are the ones the product's ``LearningDense`` delivers, after
  its first-step truncation (:func:`lava_eprop.inference.effective_weights`).
* Weights outside netx's signed range ``[-256, 254]`` are clipped (counted).

Refused (one line): ALIF neurons (no adaptive threshold in netx's CUBA), a
refractory period (netx's CUBA has none; it ignores ``refDelay``) and a layer
whose weights are all 0 (netx's loader divides by the largest weight).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lava_eprop import __version__
from lava_eprop.engine.network import READOUT
from lava_eprop.engine.spec import NetworkSpec
from lava_eprop.errors import UserError
from lava_eprop.inference import effective_weights
from lava_eprop.io import atomic_path

SCHEMA_VERSION = 1
NETX_W_MIN, NETX_W_MAX = -256, 254      # netx's optimize_weight_bits keeps these exact
VTH_MAX = 2 ** 17 - 1                   # LIF vth: unsigned 17 bits
NEVER = 1 << 17                         # netx's own "never spikes" threshold (v < 2^23)


@dataclass
class NetxExport:
    """What was written: integer weights per layer and what differs from the product."""

    weights: dict
    vth: int
    register_exp: dict                  # layer -> e_layer (registers in units of 2^e)
    readout_per_register: float
    clipped: int
    notes: list = field(default_factory=list)


def _check(spec: NetworkSpec) -> None:
    names = [g.name for g in spec.groups]
    if names != ["lif"]:
        raise UserError(f"netx export: recurrent groups {names} cannot be expressed by netx's "
                        "CUBA neuron, which has no adaptive threshold (allowed: neuron: lif; "
                        "run ALIF networks with 'lava-eprop run')")
    if spec.groups[0].rec.n_ref > 1:
        raise UserError(f"netx export: refractory_steps = {spec.groups[0].rec.n_ref} cannot be "
                        "expressed by netx's CUBA neuron, which has no refractory period "
                        "(allowed: 0 or 1)")


def check_loadable(layer: str, weights: list) -> None:
    """Refuse a layer whose weights are all 0: netx's loader (lava-dl 0.6.0,
    ``optimize_weight_bits``) scales each layer by its largest weight and fails on 0."""
    if not any(np.any(w) for w in weights):
        raise UserError(f"netx export: the {layer} weights are all 0, which netx's loader "
                        "cannot load (it scales each layer by its largest weight; allowed: "
                        "a layer with a nonzero weight)")


def _layer(spec: NetworkSpec, weights: dict, names: list) -> tuple[list, int, int]:
    """Integer weights of the projections into one layer at the layer's smallest exponent."""
    exps = [spec.projection(n).weight_exp for n in names]
    e = min(exps)
    ws = [weights[n] << (x - e) for n, x in zip(names, exps)]
    clipped = sum(int(np.sum((w < NETX_W_MIN) | (w > NETX_W_MAX))) for w in ws)
    return [np.clip(w, NETX_W_MIN, NETX_W_MAX) for w in ws], e, clipped


def netx_layers(spec: NetworkSpec) -> NetxExport:
    """The integer content of the netx file for ``spec`` (refuses ALIF and refractoriness)."""
    _check(spec)
    weights = effective_weights(spec)
    (w_in, w_rec), e_rec, c_rec = _layer(spec, weights, ["input->lif", "recurrent->lif"])
    (w_out,), e_out, c_out = _layer(spec, weights, [READOUT])
    check_loadable("recurrent layer's", [w_in, w_rec])
    check_loadable("readout", [w_out])
    vth = int(round(spec.groups[0].rec.vth * 2.0 ** -e_rec))
    if not 0 <= vth <= VTH_MAX:
        raise UserError(f"netx export: threshold {vth} at register scale 2^{e_rec} does not fit "
                        f"netx's 17-bit vThMant (allowed: 0..{VTH_MAX})")
    notes = ["reset: netx's CUBA sets v = 0 when it spikes; the product subtracts the "
             "threshold one step later"]
    if e_rec or e_out:
        notes.append(f"weight exponents folded into register scales (recurrent 2^{e_rec}, "
                     f"readout 2^{e_out}); threshold {spec.groups[0].rec.vth} -> {vth}")
    if c_rec + c_out:
        notes.append(f"{c_rec + c_out} weights clipped to netx's range "
                     f"[{NETX_W_MIN}, {NETX_W_MAX}]")
    per_register = 2.0 ** e_out / (spec.readout_scale * 64)
    return NetxExport({"w_in": w_in, "w_rec": w_rec, "w_out": w_out}, vth,
                      {"recurrent": e_rec, "readout": e_out}, per_register, c_rec + c_out, notes)


def _neuron(group, i_decay: int, v_decay: int, vth: int) -> None:
    group.create_dataset("type", data=np.bytes_("CUBA"))
    for key, value in (("iDecay", i_decay), ("vDecay", v_decay), ("vThMant", vth),
                       ("refDelay", 1)):
        group.create_dataset(key, data=np.int64(value))
    group.create_dataset("gradedSpike", data=False)


def write_netx(path: str | Path, spec: NetworkSpec) -> NetxExport:
    """Write ``spec`` as a netx HDF5 file, atomically; return what was written."""
    import h5py

    ex = netx_layers(spec)
    rec, ro = spec.groups[0].rec, spec.readout
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.attrs["lava_eprop_schema_version"] = SCHEMA_VERSION
        f.attrs["lava_eprop_package_version"] = __version__
        f.attrs["lava_eprop_readout_per_register"] = ex.readout_per_register
        f.attrs["lava_eprop_notes"] = json.dumps(ex.notes)
        layers = f.create_group("layer")
        inp = layers.create_group("0")
        inp.create_dataset("type", data=np.bytes_("input"))
        inp.create_dataset("shape", data=np.array([spec.n_in]))
        hidden = layers.create_group("1")
        hidden.create_dataset("type", data=np.bytes_("dense_rec"))
        hidden.create_dataset("shape", data=np.array([spec.n_rec]))
        hidden.create_dataset("weight", data=ex.weights["w_in"])
        hidden.create_dataset("weight_rec", data=ex.weights["w_rec"])
        _neuron(hidden.create_group("neuron"), int(rec.du) + 1, int(rec.dv), ex.vth)
        out = layers.create_group("2")
        out.create_dataset("type", data=np.bytes_("dense"))
        out.create_dataset("shape", data=np.array([spec.n_out]))
        out.create_dataset("weight", data=ex.weights["w_out"])
        _neuron(out.create_group("neuron"), int(ro.du) + 1, int(ro.dv), NEVER)
    return ex
