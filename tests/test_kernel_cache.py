"""Compiled kernels are cached under a key of every source they depend on.

numba alone keys a cached function by its own file, so code compiled with
an old constant of another module would be loaded again. The subprocess test
runs a neuron kernel in a copy of the package, edits a constant of
:mod:`lava_eprop.engine.neurons` (imported by the kernel's module, not part
of it) and runs again with the same cache: the kernel must be compiled anew
and follow the new constant, as the NumPy specification does.
"""
from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


from lava_eprop import kernel_cache  # noqa: E402
from lava_eprop.engine import network_codegen, neurons_fused, rule_codegen  # noqa: E402
from lava_eprop.reference import compiled, neurons  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lava_eprop"

# One step of a 4-neuron group from rest by both paths: y3 = Y_OFFSET + l_in here.
_RUN = """
import json
import numpy as np
from lava_eprop.engine import neurons, neurons_fused
p = neurons.RecParams(du=100, dv=200, vth=1000, n_ref=2, y2_mant=100, y2_shift=8, l_shift=0)
a_in, l_in = np.array([[0, 500, 2000, 4000]]), np.array([[0, 3, -3, 10]])
_, expected = neurons.rec_step(neurons.rec_initial(a_in.shape, p), a_in, l_in, p)
arrays = [np.array(v) for v in neurons.rec_initial(a_in.shape, p)]
arrays += [np.zeros(a_in.shape, np.int64) for _ in range(3)]
neurons_fused.rec_step(*arrays, a_in, np.zeros_like(a_in), l_in,
                       neurons_fused.rec_table(p, 4), np.zeros(neurons_fused.N_COUNTERS, np.int64))
stats = neurons_fused.rec_step.stats
print(json.dumps({"file": neurons.__file__, "compiled": arrays[9].tolist(),
                  "numpy": expected.y3.tolist(), "hits": sum(stats.cache_hits.values()),
                  "misses": sum(stats.cache_misses.values())}))
"""


def _run(package_parent: Path, cache: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(PYTHONPATH=f"{package_parent}{os.pathsep}{ROOT}",
               LAVA_EPROP_KERNEL_CACHE=str(cache))
    done = subprocess.run([sys.executable, "-c", _RUN], env=env, cwd=package_parent,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_changed_neuron_constant_compiles_fresh_code(tmp_path):
    copy = tmp_path / "tree"
    shutil.copytree(PACKAGE, copy / "lava_eprop",
                    ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "cache"
    first = _run(copy, cache)
    assert Path(first["file"]).is_relative_to(copy)
    assert first["misses"] == 1 and first["compiled"] == first["numpy"] == [[64, 67, 61, 74]]
    again = _run(copy, cache)  # unchanged tree: loaded, not compiled
    assert (again["hits"], again["misses"]) == (1, 0) and again["compiled"] == first["compiled"]
    neurons = copy / "lava_eprop" / "engine" / "neurons.py"
    text = neurons.read_text()
    assert text.count("Y_OFFSET = 64 ") == 1
    neurons.write_text(text.replace("Y_OFFSET = 64 ", "Y_OFFSET = 32 "))
    edited = _run(copy, cache)
    assert edited["misses"] == 1 and edited["hits"] == 0
    assert edited["compiled"] == edited["numpy"] == [[32, 35, 29, 42]]


def test_kernel_sources_include_what_the_kernels_import():
    """neurons_fused reads neurons' constants; rule_codegen compiles in fused's
    kernels, which read rule_eval's codes and the Loihi widths, and counter_rng's."""
    names = {p.relative_to(PACKAGE).as_posix()
             for p in kernel_cache.kernel_sources("lava_eprop.engine.neurons_fused")}
    assert {"engine/neurons_fused.py", "engine/neurons.py"} <= names
    names = {p.relative_to(PACKAGE).as_posix()
             for p in kernel_cache.kernel_sources("lava_eprop.engine.rule_codegen")}
    assert {"engine/rule_codegen.py", "engine/fused.py", "engine/counter_rng.py",
            "engine/rule_eval.py", "loihi/constants.py"} <= names
    assert "engine/train.py" not in names and "engine/network.py" not in names


@pytest.mark.parametrize("module", ["lava_eprop.engine.fused", "lava_eprop.reference.compiled"])
def test_every_cached_function_is_kept_under_its_modules_fingerprint(module):
    functions = [f for f in vars(importlib.import_module(module)).values()
                 if hasattr(f, "stats")  # numba dispatchers, all cache=True
                 and PACKAGE in Path(f.py_func.__code__.co_filename).parents]  # not generated
    assert functions
    for function in functions:
        path = Path(function.stats.cache_path)
        assert path.name == kernel_cache.fingerprint(module)
        assert path.parent.parent == kernel_cache.cache_directory()


def test_generated_sources_name_the_fingerprint_of_what_they_call():
    """numba checks a generated module's own file only: its name (the source's hash)
    must change with the kernels it calls."""
    tables = [np.zeros((0, n), np.int64) for n in (8, 7, 5)]
    assert kernel_cache.fingerprint("lava_eprop.engine.fused", "lava_eprop.engine.counter_rng") \
        in rule_codegen.update_source(*tables)
    assert kernel_cache.fingerprint("lava_eprop.engine.neurons_fused") \
        in network_codegen.run_source(["input", "recurrent", "readout"], 3)
    # the neuron kernels are generated from neurons' equations and constants
    assert kernel_cache.fingerprint("lava_eprop.engine.neurons") in neurons_fused.kernel_source()
    for kernel in (neurons_fused.rec_step, neurons_fused.readout_error_step):
        assert Path(kernel.py_func.__code__.co_filename).parent == kernel_cache.cache_directory()
    # the float reference's neuron kernel is generated from its equations
    assert all(f"            {line}\n" in compiled.rec_kernel_source()
               for line in neurons.REC_STEP.strip().splitlines())
    assert Path(compiled.rec_step_into.py_func.__code__.co_filename).parent \
        == kernel_cache.cache_directory()


def test_code_numba_cannot_cache_is_compiled_with_a_warning():
    """numba does not cache code holding dynamic globals (as it does under
    NUMBA_OPT=0) and warns, naming the function's file, which it asks the
    package's cache locator for; the locator lacked it and the compile failed
    with AttributeError."""
    from types import SimpleNamespace

    from numba.core.errors import NumbaWarning

    from lava_eprop.engine import fused

    impl = fused.step._cache._impl
    assert isinstance(impl._locator, kernel_cache._KernelLocator)
    result = SimpleNamespace(lifted=(), library=SimpleNamespace(has_dynamic_globals=True),
                             fndesc=SimpleNamespace(qualname="step"))
    with pytest.warns(NumbaWarning, match='Cannot cache compiled function "step"'):
        assert impl.check_cachable(result) is False
