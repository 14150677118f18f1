"""Helpers shared by several test modules (import as ``from support import ...``)."""
from __future__ import annotations

import contextlib
import io
import warnings


def main_in_process(*args) -> tuple[int, str]:
    """Run ``lava-eprop ARGS`` in this process; return the exit status and stderr."""
    from lava_eprop.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code
    return code, err.getvalue()
