"""lava-eprop: e-prop for recurrent spiking networks, from a float reference to
Loihi 2 microcode learning rules in Lava.

The Python API (the command line calls the same functions):

>>> import lava_eprop
>>> cfg = lava_eprop.load_config("pattern-generation", ["training.iterations=20"])
>>> run = lava_eprop.train(cfg, engine="fixed", out_dir="runs/pg")   # doctest: +SKIP
>>> run.metrics["final_nmse"], run.weights.w_rec.shape                # doctest: +SKIP

:func:`load_config`, :func:`presets`, :func:`train`, :func:`train_seeds`,
:func:`quant_report`, :func:`export_rules`, :func:`load_rules`,
:func:`load_network`, :func:`run`, :func:`export_netx` and :func:`run_netx`; Lava and PyTorch are imported only
when a function needs them.
"""
from importlib.metadata import PackageNotFoundError, version

from lava_eprop.api import (
    export_netx,
    export_rules,
    load_config,
    load_network,
    load_rules,
    presets,
    quant_report,
    run,
    run_netx,
    train,
    train_seeds,
)
from lava_eprop.errors import NumericalError, UserError

try:
    __version__ = version("lava-eprop")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["load_config", "presets", "train", "train_seeds", "quant_report", "export_rules",
           "load_rules", "load_network", "run", "export_netx", "run_netx", "UserError",
           "NumericalError", "__version__"]
