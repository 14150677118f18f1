"""Whether Lava is installed, and importing its runtime safely.

Lava 0.10.0 installs only on Python 3.10 (with NumPy < 2); elsewhere the
product runs without it, and what needs Lava's runtime says so in one line
(:func:`require_lava`).

Lava 0.10.0 calls ``multiprocessing.set_start_method('fork')`` when its
runtime module is first imported (which importing a Lava process or model
does). Python refuses that call once anything has fixed the start method,
even to 'fork', and a tqdm bar does (its lock), so training and then running
the Lava graph in one process would fail, whatever the layout of the
packages. :func:`import_lava_runtime` imports that module first; if the
start method already is 'fork', it unsets it with Python's public
``set_start_method(None, force=True)`` just before, and Lava sets 'fork'
again. Modules that import Lava processes call it before their Lava imports.
"""
from __future__ import annotations

import importlib
import importlib.util
import multiprocessing
import sys

from lava_eprop.errors import UserError

_RUNTIME = "lava.magma.runtime.message_infrastructure.multiprocessing"


def lava_available() -> bool:
    """Whether lava-nc (``lava.magma``) can be imported."""
    try:
        return importlib.util.find_spec("lava.magma") is not None
    except ModuleNotFoundError:
        return False


def require_lava(what: str) -> None:
    """Raise a one-line :class:`UserError` unless Lava is installed.

    ``what`` names the command or API that needs Lava's runtime.
    """
    if not lava_available():
        version = ".".join(map(str, sys.version_info[:2]))
        raise UserError(f"{what} needs Python 3.10 with lava-nc 0.10.0 (pip install -e "
                        f"'.[dl]' there); this is Python {version} without lava-nc")


def import_lava_runtime() -> None:
    """Import Lava's runtime module; tolerate a start method already set to 'fork'.

    Raises the one-line :class:`UserError` of :func:`require_lava` without Lava.
    """
    require_lava("Lava's runtime (train --engine lava, run, deploy)")
    if _RUNTIME in sys.modules:
        return
    if multiprocessing.get_start_method(allow_none=True) == "fork":
        multiprocessing.set_start_method(None, force=True)
    importlib.import_module(_RUNTIME)
