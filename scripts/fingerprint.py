#!/usr/bin/env python
"""Fingerprint of the core's results: on-chip training weights and export-rule output.

Runs, in subprocesses of this interpreter, ``lava-eprop train
pattern-generation --engine fixed`` (3 iterations, Lava's rounding and the
stochastic model) and ``lava-eprop export-rule`` of every preset, and hashes
each weight array of network.npz (SHA-256 of its dtype, shape and bytes) and
each export's text. The stored fingerprint (tests/data/core_fingerprint.json)
comes from Python 3.10 with Lava; tests/test_core_without_lava.py checks that
any supported Python and NumPy reproduce it bit for bit.

Regenerate it (on Python 3.10 with lava-nc, after a deliberate change of the
engine's arithmetic, the compiler or the presets) with::

    .venv/bin/python scripts/fingerprint.py --write
"""
from __future__ import annotations

import argparse
import hashlib
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STORED = ROOT / "tests" / "data" / "core_fingerprint.json"
PRESETS = ("pattern-generation", "evidence-accumulation", "store-recall")
WEIGHTS = ("w_in", "w_rec", "w_out", "b_out", "fb")
TRAININGS = {"lava": ["--set", "fixed_point.rounding=lava"],
             "stochastic": ["--set", "fixed_point.rounding=stochastic"]}


def _cli(*args: str) -> str:
    res = subprocess.run([sys.executable, "-m", "lava_eprop.cli", *args], capture_output=True,
                         text=True, check=False, cwd=ROOT)
    if res.returncode != 0:
        raise SystemExit(f"lava-eprop {' '.join(args)} failed ({res.returncode}): {res.stderr}")
    return res.stdout


def _array_hash(array) -> str:
    import numpy as np
    array = np.ascontiguousarray(array)
    head = f"{array.dtype.str}{array.shape}".encode()
    return hashlib.sha256(head + array.tobytes()).hexdigest()


def fingerprint() -> dict:
    """Hashes of the trained weights and of the export-rule documents."""
    import numpy as np
    result = {"train": {}, "export_rule": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in TRAININGS.items():
            out = Path(tmp) / name
            _cli("train", "pattern-generation", "--engine", "fixed", "--iterations", "3",
                 "--seed", "4", "--quiet", "--out", str(out), *extra)
            with np.load(out / "network.npz", allow_pickle=False) as net:
                result["train"][name] = {k: _array_hash(net[k]) for k in WEIGHTS}
    for preset in PRESETS:
        text = _cli("export-rule", preset, "--format", "json")
        result["export_rule"][preset] = hashlib.sha256(text.encode()).hexdigest()
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write", action="store_true", help=f"store the fingerprint in {STORED}")
    args = ap.parse_args()
    found = fingerprint()
    if not args.write:
        print(json.dumps(found, indent=1))
        return
    from importlib.metadata import PackageNotFoundError, version

    import numpy as np
    try:
        lava = version("lava-nc")
    except PackageNotFoundError:
        raise SystemExit("store fingerprints made on Python 3.10 with lava-nc") from None
    made_with = {"python": platform.python_version(), "numpy": np.__version__, "lava-nc": lava}
    STORED.parent.mkdir(exist_ok=True)
    STORED.write_text(json.dumps({"made_with": made_with, **found}, indent=1) + "\n")
    print(f"wrote {STORED}")


if __name__ == "__main__":
    main()
