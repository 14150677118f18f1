"""The ``lava`` marker and the core suite's collection; the ``rel_err`` fixture; one
numba thread per test process.

Tests that need the Python 3.10 set-up (lava-nc, and PyTorch of the dl extra)
carry the ``lava`` marker: every test of a module that imports Lava, its
processes or runners, or torch, that sets ``pytestmark = pytest.mark.lava``
or imports a test-support module of this directory that does (such as
``lava_helpers``), and single tests marked so. They always run,
unless ``LAVA_EPROP_CORE_TESTS=1`` (``scripts/test``'s second run, on a Python
without Lava) asks for the core suite: then such modules are not collected and
marked tests are deselected; the summary names the modules left out (with
pytest-xdist, as ``scripts/test`` runs it, the deselected tests are not
counted: the workers deselect them).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

#: One numba thread per test process (unless NUMBA_NUM_THREADS is set): pytest-xdist
#: already runs a process per core, and with more threads every compiled run of
#: several instances is the parallel kernel, which takes about six times the serial
#: kernel's compile time. Both give the same integers;
#: ``test_engine_parallel.py`` checks that in subprocesses with 1 and 2 threads.
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

CORE_ONLY = os.environ.get("LAVA_EPROP_CORE_TESTS") == "1"
_NEEDS_LAVA = re.compile(
    r"^(?:from|import) (?:lava\b|process_models\b|torch\b"
    r"|lava_eprop\.(?:lava_graph|lava_run|netx_run|processes)\b)"
    r"|^pytestmark = pytest\.mark\.lava\b", re.MULTILINE)
_LOCAL_IMPORT = re.compile(r"^from (\w+) import", re.MULTILINE)
_not_collected: list[str] = []


def needs_lava(path: Path) -> bool:
    """Whether a test module imports Lava or PyTorch (the dl extra), marks
    itself ``lava``, or imports a module of this directory that does."""
    text = path.read_text(encoding="utf-8")
    local = (path.with_name(f"{name}.py") for name in _LOCAL_IMPORT.findall(text))
    return bool(_NEEDS_LAVA.search(text)) or any(
        needs_lava(module) for module in local if module.exists())


def pytest_ignore_collect(collection_path: Path, config):
    if CORE_ONLY and collection_path.name.startswith("test_") \
            and collection_path.suffix == ".py" and needs_lava(collection_path):
        _not_collected.append(collection_path.name)
        return True
    return None


def pytest_collection_modifyitems(config, items):
    for item in items:
        if needs_lava(Path(item.module.__file__)):
            item.add_marker(pytest.mark.lava)
    if CORE_ONLY:
        lava = [item for item in items if item.get_closest_marker("lava")]
        config.hook.pytest_deselected(items=lava)
        items[:] = [item for item in items if not item.get_closest_marker("lava")]


def pytest_report_header(config):
    if CORE_ONLY:
        return "core suite (LAVA_EPROP_CORE_TESTS=1): tests marked lava deselected"
    return None


def pytest_terminal_summary(terminalreporter, config):
    names = _not_collected
    if CORE_ONLY and not names and config.pluginmanager.hasplugin("dsession"):
        # pytest-xdist: the workers collected; these are this directory's modules
        names = [path.name for path in Path(__file__).parent.glob("test_*.py")
                 if needs_lava(path)]
    if names:
        terminalreporter.write_line(f"core suite: {len(names)} modules that need Lava "
                                    f"not collected: {' '.join(sorted(names))}")


@pytest.fixture
def rel_err():
    def rel(a, b):
        return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))
    return rel
