"""Import Lava's multiprocessing runtime safely, whatever imported multiprocessing first.

Lava 0.10.0 calls ``multiprocessing.set_start_method('fork')`` when its
runtime module is first imported (which any Lava process import does). That
raises once anything has fixed the start method, even to 'fork' (tqdm's lock
does). :func:`import_lava_runtime` imports that module first, skipping the
call when the method already is 'fork'; modules that import Lava processes
call it before their Lava imports.
"""
from __future__ import annotations

import importlib
import multiprocessing

_RUNTIME = "lava.magma.runtime.message_infrastructure.multiprocessing"


def import_lava_runtime() -> None:
    """Import Lava's runtime module; tolerate a start method already set to 'fork'."""
    if multiprocessing.get_start_method(allow_none=True) != "fork":
        importlib.import_module(_RUNTIME)
        return
    original = multiprocessing.set_start_method
    multiprocessing.set_start_method = lambda method, force=False: None
    try:
        importlib.import_module(_RUNTIME)
    finally:
        multiprocessing.set_start_method = original
