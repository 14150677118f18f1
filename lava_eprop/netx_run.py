"""Load a netx HDF5 file with lava-dl's netx and run it in ``Loihi2SimCfg`` (fixed point).

Used to check an export against the product's own inference. The file must
have exactly the layout :mod:`lava_eprop.netx_export` writes (input, a
``dense_rec`` layer, a ``dense`` readout, the ``lava_eprop_*`` attributes):
:func:`read_netx` checks every group, dataset, link, dtype, shape and value
netx's loader reads before netx sees the file, so an edited or damaged file
is refused in one line (:class:`~lava_eprop.errors.UserError`) instead of
failing inside h5py or netx.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from lava_eprop.errors import UserError
from lava_eprop.lava_runtime import import_lava_runtime
from lava_eprop.netx_export import NETX_W_MAX, NETX_W_MIN, NEVER, check_loadable
from lava_eprop.resources import available_bytes

LAYOUT = ["input", "dense_rec", "dense"]
_LAYER_KEYS = ({"type", "shape"}, {"type", "shape", "weight", "weight_rec", "neuron"},
               {"type", "shape", "weight", "neuron"})
_NEURON = {"type": None, "iDecay": (1, 4096), "vDecay": (0, 4095), "vThMant": (0, NEVER),
           "refDelay": (0, 2**16), "gradedSpike": None}
_MEMORY_FACTOR = 8        # netx copies each weight matrix as int64 a few times


@dataclass(frozen=True)
class NetxFile:
    """What a checked netx file holds: its sizes and the readout's conversion to ``y``."""

    n_in: int
    n_rec: int
    n_out: int
    readout_per_register: float


class _Refusal(Exception):
    """A problem with the file (turned into one UserError line naming the file)."""


def _child(group, key: str, kind):
    """``group[key]``, a hard link to an h5py ``kind`` (Group or Dataset)."""
    link = group.get(key, getlink=True)
    if link is None:
        raise _Refusal(f"'{group.name}/{key}' is missing")
    if not isinstance(link, h5py.HardLink):
        raise _Refusal(f"'{group.name}/{key}' is a {type(link).__name__} (allowed: data in "
                       "the file itself)")
    obj = group[key]
    if not isinstance(obj, kind):
        raise _Refusal(f"'{obj.name}' is not an HDF5 {kind.__name__.lower()}")
    return obj


def _keys(group, allowed: set) -> None:
    keys = set(group.keys())
    if keys != allowed:
        extra, missing = sorted(keys - allowed), sorted(allowed - keys)
        raise _Refusal(f"'{group.name}' holds {sorted(keys)[:8]} ("
                       + (f"unexpected: {extra[:4]}" if extra else f"missing: {missing[:4]}")
                       + f"; allowed: {sorted(allowed)})")


def _text(group, key: str) -> str:
    ds = _child(group, key, h5py.Dataset)
    if ds.shape not in ((), (1,)) or ds.dtype.kind not in "SO":
        raise _Refusal(f"'{ds.name}' must be a short ASCII string")
    value = ds[()] if ds.shape == () else ds[0]
    if not isinstance(value, bytes) or len(value) > 64:
        raise _Refusal(f"'{ds.name}' must be a short ASCII string")
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        raise _Refusal(f"'{ds.name}' must be a short ASCII string") from None


def _integer(group, key: str, lo: int, hi: int) -> int:
    ds = _child(group, key, h5py.Dataset)
    if ds.shape != () or ds.dtype.kind not in "iu":
        raise _Refusal(f"'{ds.name}' must be a scalar integer, got {ds.dtype} "
                       f"{list(ds.shape or ())}")
    value = int(ds[()])
    if not lo <= value <= hi:
        raise _Refusal(f"'{ds.name}' = {value} is out of range (allowed: {lo}..{hi})")
    return value


def _size(group) -> int:
    ds = _child(group, "shape", h5py.Dataset)
    if ds.shape != (1,) or ds.dtype.kind not in "iu":
        raise _Refusal(f"'{ds.name}' must be one integer [n], got {ds.dtype} "
                       f"{list(ds.shape or ())}")
    n = int(ds[0])
    if not 1 <= n <= 2**20:
        raise _Refusal(f"'{ds.name}' = {n} is out of range (allowed: 1..{2**20})")
    return n


def _weights(group, key: str, shape: tuple) -> np.ndarray:
    ds = _child(group, key, h5py.Dataset)
    if ds.shape != shape or ds.dtype.kind not in "iu":
        raise _Refusal(f"'{ds.name}' must be integers of shape {list(shape)}, got {ds.dtype} "
                       f"{list(ds.shape or ())}")
    have = available_bytes()
    if have is not None and _MEMORY_FACTOR * 8 * ds.size > 0.8 * have:
        raise _Refusal(f"'{ds.name}' {list(shape)} needs more than 80% of the memory "
                       "available to load")
    w = ds[()]
    if w.size and not NETX_W_MIN <= w.min() <= w.max() <= NETX_W_MAX:
        bad = w[(w < NETX_W_MIN) | (w > NETX_W_MAX)][0]
        raise _Refusal(f"'{ds.name}' holds {bad} (allowed: integers in {NETX_W_MIN}.."
                       f"{NETX_W_MAX}, what export-netx writes)")
    return w


def _neuron(layer, readout: bool) -> None:
    neuron = _child(layer, "neuron", h5py.Group)
    _keys(neuron, set(_NEURON))
    if _text(neuron, "type") != "CUBA":
        raise _Refusal(f"'{neuron.name}/type' must be 'CUBA'")
    for key, bounds in _NEURON.items():
        if bounds is not None:
            _integer(neuron, key, *bounds)
    graded = _child(neuron, "gradedSpike", h5py.Dataset)
    if graded.shape != () or graded.dtype.kind != "b" or bool(graded[()]):
        raise _Refusal(f"'{graded.name}' must be the boolean false")
    vth = _integer(neuron, "vThMant", 0, NEVER)
    if readout != (vth == NEVER):
        raise _Refusal(f"'{neuron.name}/vThMant' = {vth} (allowed: {NEVER} for the readout, "
                       f"0..{NEVER - 1} for the recurrent layer)")


def _check(f) -> NetxFile:
    layers = _child(f, "layer", h5py.Group)
    _keys(layers, {"0", "1", "2"})
    groups = [_child(layers, str(i), h5py.Group) for i in range(3)]
    kinds = [_text(g, "type") for g in groups]
    if kinds != LAYOUT:
        raise _Refusal(f"layers {kinds} are not the exported layout {LAYOUT}")
    for group, keys in zip(groups, _LAYER_KEYS):
        _keys(group, keys)
    n_in, n_rec, n_out = (_size(g) for g in groups)
    try:
        check_loadable("recurrent layer's", [_weights(groups[1], "weight", (n_rec, n_in)),
                                             _weights(groups[1], "weight_rec", (n_rec, n_rec))])
        check_loadable("readout", [_weights(groups[2], "weight", (n_out, n_rec))])
    except UserError as exc:
        raise _Refusal(str(exc).removeprefix("netx export: ")) from None
    _neuron(groups[1], readout=False)
    _neuron(groups[2], readout=True)
    per_register = f.attrs.get("lava_eprop_readout_per_register")
    if per_register is None:
        raise _Refusal("attribute 'lava_eprop_readout_per_register' is missing")
    value = np.asarray(per_register)
    if value.shape != () or value.dtype.kind not in "iuf" or not \
            0 < float(value) < float("inf"):
        raise _Refusal("attribute 'lava_eprop_readout_per_register' must be a positive "
                       "finite number")
    return NetxFile(n_in, n_rec, n_out, float(value))


def read_netx(path: str | Path) -> NetxFile:
    """Check that ``path`` is a netx file as ``export-netx`` writes it (every layer,
    dataset, dtype, shape, weight and neuron parameter netx reads, no links out of
    the file); UserError in one line otherwise."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"netx file '{path}' does not exist")
    try:
        with h5py.File(path, "r") as f:
            return _check(f)
    except _Refusal as exc:
        raise UserError(f"{path}: not a netx file as export-netx writes it ({exc})") from None
    except (OSError, KeyError, ValueError, AttributeError, TypeError, IndexError,
            RuntimeError, OverflowError) as exc:       # h5py on a damaged file
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{path}: not a netx file written by lava-eprop export-netx "
                        f"({reason})") from None


def check_inputs(inputs, n_in: int, where: str = "inputs") -> np.ndarray:
    """``inputs`` as int64 0/1 spikes ``[trials, T, n_in]``; UserError naming the first
    value or size outside that."""
    x = np.asarray(inputs)
    if x.ndim != 3 or x.shape[2] != n_in or min(x.shape[:2], default=0) < 1:
        raise UserError(f"{where} must have shape [trials >= 1, T >= 1, {n_in}], got "
                        f"{list(x.shape)}")
    if x.dtype.kind not in "biuf":
        raise UserError(f"{where} must hold 0/1 spikes (bool, int or float), got dtype "
                        f"{x.dtype}")
    bad = (x != 0) & (x != 1)
    if bad.any():
        raise UserError(f"{where} must hold 0/1 spikes, got {x[bad].flat[0]!r} at index "
                        f"{list(map(int, np.argwhere(bad)[0]))} (allowed: 0 and 1)")
    return x.astype(np.int64)


def run_netx(path: str | Path, inputs: np.ndarray) -> dict:
    """Run every trial of ``inputs`` [trials, T, n_in] (0/1) through the netx network.

    The file is checked first (:func:`read_netx`), then the inputs (0/1 values,
    the file's ``n_in``); either refused raises UserError in one line.

    Returns ``z`` [trials, T, n_rec] (the ``dense_rec`` layer's spikes),
    ``readout_v`` [trials, T, n_out] (the readout neurons' voltage, int64) and
    ``y`` (that voltage converted with the file's ``readout_per_register``).
    """
    path = Path(path)
    netx = read_netx(path)
    inputs = check_inputs(inputs, netx.n_in)
    import_lava_runtime()
    from lava.lib.dl.netx.hdf5 import Network
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.source import RingBuffer
    from lava.proc.monitor.process import Monitor

    outs = {"z": [], "readout_v": []}
    for x in inputs:
        net = Network(net_config=str(path))
        net.net_config.f.close()      # netx reads it all at once, then leaves it open
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
    out["y"] = out["readout_v"] * netx.readout_per_register
    return out
