"""Load a netx HDF5 file with lava-dl's netx and run it in ``Loihi2SimCfg`` (fixed point).

Used to check an export against the product's own inference. The file must
have the three layers :mod:`lava_eprop.netx_export` writes (input, a
``dense_rec`` layer, a ``dense`` readout); anything else is refused in one line.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lava_eprop.errors import UserError
from lava_eprop.lava_runtime import import_lava_runtime

LAYOUT = ["input", "dense_rec", "dense"]


def _read_layout(path: Path) -> tuple[list, float]:
    import h5py

    if not path.is_file():
        raise UserError(f"netx file '{path}' does not exist")
    try:
        with h5py.File(path, "r") as f:
            kinds = [f[f"layer/{i}/type"][()].decode("ascii") for i in range(len(f["layer"]))]
            per_register = float(f.attrs["lava_eprop_readout_per_register"])
    except (OSError, KeyError, ValueError, AttributeError, TypeError, IndexError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{path}: not a netx file written by lava-eprop export-netx "
                        f"({reason})") from None
    if kinds != LAYOUT:
        raise UserError(f"{path}: netx layers {kinds} are not the exported layout {LAYOUT}")
    return kinds, per_register


def run_netx(path: str | Path, inputs: np.ndarray) -> dict:
    """Run every trial of ``inputs`` [trials, T, n_in] (0/1) through the netx network.

    Returns ``z`` [trials, T, n_rec] (the ``dense_rec`` layer's spikes),
    ``readout_v`` [trials, T, n_out] (the readout neurons' voltage, int64) and
    ``y`` (that voltage converted with the file's ``readout_per_register``).
    """
    path = Path(path)
    _, per_register = _read_layout(path)
    import_lava_runtime()
    from lava.lib.dl.netx.hdf5 import Network
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.source import RingBuffer
    from lava.proc.monitor.process import Monitor

    outs = {"z": [], "readout_v": []}
    for x in np.asarray(inputs):
        net = Network(net_config=str(path))
        if net.inp.shape != (x.shape[1],):
            raise UserError(f"{path}: the network takes {net.inp.shape[0]} inputs, the inputs "
                            f"have {x.shape[1]}")
        src = RingBuffer(data=np.ascontiguousarray(x.T.astype(np.int32)))
        src.s_out.connect(net.inp)
        hidden, readout = net.layers[0].neuron, net.layers[1].neuron
        mon_z, mon_v = Monitor(), Monitor()
        mon_z.probe(hidden.s_out, len(x))
        mon_v.probe(readout.v, len(x))
        try:
            net.run(condition=RunSteps(num_steps=len(x)),
                    run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
            outs["z"].append(np.asarray(mon_z.get_data()[hidden.name]["s_out"]))
            outs["readout_v"].append(np.asarray(mon_v.get_data()[readout.name]["v"]))
        finally:
            net.stop()
    out = {k: np.stack(v).astype(np.int64) for k, v in outs.items()}
    out["y"] = out["readout_v"] * per_register
    return out
