"""Atomic file output: write to a temporary file beside the target, then rename.

A crash or an error mid-write leaves the previous file (or none), never a
half-written one; a process killed mid-write may leave its hidden temporary
file (``.<name>.<random>.tmp<suffix>``), which :func:`remove_stray_temporaries`
removes at the start of the next run in that directory.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from lava_eprop.errors import UserError


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


_TMP = ".tmp"


def remove_stray_temporaries(directory: str | Path, names) -> list[Path]:
    """Delete the temporary files :func:`atomic_path` leaves when a process writing one
    of ``names`` in ``directory`` is killed; return what was deleted."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    stray = [p for name in names
             for p in directory.glob(f".{name}.*{_TMP}{Path(name).suffix}") if p.is_file()]
    for p in stray:
        p.unlink(missing_ok=True)
    return stray


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in the target's directory; rename it over ``path``
    when the block succeeds, delete it when the block raises. The file gets the
    permissions ``open()`` would give it (``0o666`` less the umask), not
    ``mkstemp``'s owner-only ``0o600``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TMP + path.suffix,
                               dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def non_finite(obj, where: str = "") -> str | None:
    """The path of the first NaN or Inf in a JSON-like ``obj`` (``None`` if there is none)."""
    if isinstance(obj, float):
        return None if math.isfinite(obj) else where
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) \
        if isinstance(obj, (list, tuple)) else ()
    for key, value in items:
        found = non_finite(value, f"{where}.{key}" if isinstance(key, str) else f"{where}[{key}]")
        if found is not None:
            return found
    return None


def write_json(path: str | Path, obj) -> None:
    """``obj`` as JSON; ValueError (nothing written) if it holds NaN or Inf, which JSON
    cannot express."""
    write_text(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")


def write_npz(path: str | Path, arrays: dict) -> None:
    """An uncompressed ``.npz`` (readable by ``np.load``), written atomically and
    deterministically: sorted members and fixed zip timestamps, so the same
    arrays always give the same bytes."""
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            for name, arr in sorted(arrays.items()):
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.array(arr, order="C"), allow_pickle=False)
                zf.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)),
                            buf.getvalue())


def check_output_dir(path: Path, option: str = "--out") -> None:
    """Refuse, before any work, an output directory that could not be created.

    Its nearest existing ancestor (or itself) must be a directory in which a file
    can be created (tried with a temporary file, deleted at once). An empty
    path is refused: it would write into the current directory unasked.
    """
    if not str(path).strip():
        raise UserError(f"{option} is empty (allowed: a new or existing directory path)")
    path = Path(path)
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        what = "it" if probe == path else f"'{probe}'"
        raise UserError(f"{option} '{path}' cannot be a directory: {what} is a file "
                        "(allowed: a new or existing directory path)")
    try:                        # os.access says yes to root even on /proc: try it
        fd, tmp = tempfile.mkstemp(prefix=".lava-eprop-probe.", dir=probe)
        os.close(fd)
        os.unlink(tmp)
    except OSError:
        raise UserError(f"{option} '{path}': '{probe}' is not writable (allowed: a "
                        "directory you can write to)") from None
