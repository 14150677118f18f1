"""The trained-network file (``network.npz``): weights, config and versions.

An uncompressed NumPy ``.npz`` holding ``w_in [n_rec, n_in]``, ``w_rec``,
``w_out``, ``b_out``, ``fb`` (float), ``config_yaml`` (the full validated
config), ``engine``, ``schema_version`` and ``package_version``. It is written
atomically and deterministically (sorted members, fixed zip timestamps), so
save -> load -> save gives identical bytes. Loading checks, from the
``.npy`` headers before reading any array, every member's presence, dtype
and shape; then the schema version, the config, the engine and that the
weights are finite and within +-``MAX_ABS_WEIGHT``; it refuses a bad file
with one line.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from lava_eprop import __version__
from lava_eprop.config import Config, from_dict, save_yaml
from lava_eprop.errors import UserError
from lava_eprop.io import write_npz
from lava_eprop.loaders import NpzArchive, parse_yaml
from lava_eprop.reference.params import Weights

SCHEMA_VERSION = 1
_WEIGHTS = [f.name for f in fields(Weights)]


@dataclass
class TrainedNetwork:
    """A network as saved after training."""

    config: Config
    weights: Weights
    engine: str
    package_version: str = __version__

    def arrays(self) -> dict:
        return {**{k: np.asarray(v) for k, v in self.weights.as_dict().items()},
                "config_yaml": np.array(save_yaml(self.config)), "engine": np.array(self.engine),
                "schema_version": np.array(SCHEMA_VERSION),
                "package_version": np.array(self.package_version)}


def save_network(path: str | Path, net: TrainedNetwork) -> None:
    """Write ``net`` to ``path`` atomically, byte-for-byte reproducibly."""
    write_npz(path, net.arrays())


def weight_shapes(cfg: Config, n_in: int, n_out: int) -> dict:
    """The shape of each float weight array of ``cfg``'s network."""
    n_rec = cfg.network.n_rec
    return {"w_in": (n_rec, n_in), "w_rec": (n_rec, n_rec), "w_out": (n_out, n_rec),
            "b_out": (n_out,), "fb": (n_rec, n_out)}


MEMBERS = ("schema_version", "config_yaml", "engine", "package_version", *_WEIGHTS)
ENGINES = ("float", "fixed", "lava")
#: largest |weight| a network file may hold; the float engine starts from weights
#: of at most a few times ``w_*_scale`` (<= 1e6), and larger ones are corrupt data
MAX_ABS_WEIGHT = 1e9


def load_network(path: str | Path) -> TrainedNetwork:
    """Read and check a network file; raise UserError naming any problem."""
    path = Path(path)
    with NpzArchive(path, "network file") as npz:
        unknown = sorted(set(npz.names) - set(MEMBERS))
        missing = [k for k in MEMBERS if k not in npz.names and k != "package_version"]
        if missing or unknown:
            problem = f"missing '{missing[0]}'" if missing else f"unknown member '{unknown[0]}'"
            raise UserError(f"{path}: not a lava-eprop network file ({problem})")
        h = npz.header("schema_version")
        version = npz.array("schema_version", "iu") if h.shape == () and h.dtype.kind in "iu" \
            else f"of dtype {h.dtype} shape {list(h.shape)}"
        if not isinstance(version, np.ndarray) or int(version) != SCHEMA_VERSION:
            raise UserError(f"{path}: network file schema version {version} is not "
                            f"supported (this lava-eprop {__version__} reads version "
                            f"{SCHEMA_VERSION})")
        raw = parse_yaml(npz.text("config_yaml"), f"{path} (stored config)")
        cfg = from_dict(raw, source=f"{path} (stored config)")
        engine = npz.text("engine", 16)
        if engine not in ENGINES:
            raise UserError(f"{path}: engine {engine!r} is not one of {', '.join(ENGINES)}")
        package_version = npz.text("package_version", 64) if "package_version" in npz.names \
            else "unknown"
        n_rec = cfg.network.n_rec
        n_in = npz.check("w_in", "f", (n_rec, None), f"[{n_rec}, n_in]").shape[1]
        n_out = npz.check("w_out", "f", (None, n_rec), f"[n_out, {n_rec}]").shape[0]
        arrays = {}
        for name, shape in weight_shapes(cfg, n_in, n_out).items():
            arr = npz.array(name, "f", shape)
            with np.errstate(invalid="ignore"):
                if not np.all(np.abs(arr) <= MAX_ABS_WEIGHT):
                    raise UserError(f"{path}: array '{name}' holds NaN, Inf or values beyond "
                                    f"+-{MAX_ABS_WEIGHT:g} (allowed: finite weights)")
            arrays[name] = arr
    if n_in < 1 or n_out < 1:
        raise UserError(f"{path}: a network needs at least one input and one output, got "
                        f"n_in {n_in}, n_out {n_out}")
    return TrainedNetwork(cfg, Weights(**arrays), engine, package_version)
