"""The trained-network file (``network.npz``): weights, config and versions.

An uncompressed NumPy ``.npz`` holding ``w_in [n_rec, n_in]``, ``w_rec``,
``w_out``, ``b_out``, ``fb`` (float), ``config_yaml`` (the full validated
config), ``engine``, ``schema_version`` and ``package_version``. It is written
atomically and deterministically (sorted members, fixed zip timestamps), so
save -> load -> save gives identical bytes. Loading checks the schema version,
every array's presence, shape and finiteness, and the config, and refuses a
bad file with one line.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import yaml

from lava_eprop import __version__
from lava_eprop.config import Config, from_dict, save_yaml
from lava_eprop.errors import UserError
from lava_eprop.io import write_npz
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


def _expected_shapes(cfg: Config, n_in: int, n_out: int) -> dict:
    n_rec = cfg.network.n_rec
    return {"w_in": (n_rec, n_in), "w_rec": (n_rec, n_rec), "w_out": (n_out, n_rec),
            "b_out": (n_out,), "fb": (n_rec, n_out)}


def load_network(path: str | Path) -> TrainedNetwork:
    """Read and check a network file; raise UserError naming any problem."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"network file '{path}' does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{path}: not a readable network file ({reason})") from None
    missing = [k for k in ["schema_version", "config_yaml", "engine", *_WEIGHTS] if k not in arrays]
    if missing:
        raise UserError(f"{path}: not a lava-eprop network file (missing '{missing[0]}')")
    version = arrays["schema_version"]
    if version.shape != () or version.dtype.kind not in "iu" or int(version) != SCHEMA_VERSION:
        raise UserError(f"{path}: network file schema version {version.tolist()!r} is not "
                        f"supported (this lava-eprop {__version__} reads version "
                        f"{SCHEMA_VERSION})")
    try:
        raw = yaml.safe_load(str(arrays["config_yaml"]))
    except yaml.YAMLError:
        raise UserError(f"{path}: the stored config is not valid YAML") from None
    cfg = from_dict(raw, source=f"{path} (stored config)")
    for name in ("w_in", "w_out"):
        if arrays[name].ndim != 2:
            raise UserError(f"{path}: array '{name}' must be 2-D [post, pre], got shape "
                            f"{list(arrays[name].shape)}")
    n_in, n_out = arrays["w_in"].shape[-1], arrays["w_out"].shape[0]
    for name, shape in _expected_shapes(cfg, n_in, n_out).items():
        arr = arrays[name]
        if arr.shape != shape or arr.dtype.kind != "f" or not np.all(np.isfinite(arr)):
            raise UserError(f"{path}: array '{name}' must be finite floats of shape "
                            f"{list(shape)} for this config, got {arr.dtype} {list(arr.shape)}")
    weights = Weights(**{k: arrays[k] for k in _WEIGHTS})
    return TrainedNetwork(cfg, weights, str(arrays["engine"]),
                          str(arrays.get("package_version", np.array("unknown"))))
