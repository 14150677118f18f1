"""Where compiled kernels are kept, keyed by everything they depend on.

numba's ``cache=True`` keys a function's cached machine code by its own
file's time stamp and size, but that code also holds the functions it calls
and the module constants it reads (numba compiles globals in as literals): a
change to :mod:`lava_eprop.engine.neurons`' constants, or to a function of
another module, would leave :mod:`~lava_eprop.engine.neurons_fused`'s cached
code stale. Importing this module registers a numba cache locator, ahead of
numba's own, for every cached function defined in this package: its code is
kept in ``numba/<key>`` of the kernel cache directory
(:func:`cache_directory`), where ``key`` is the :func:`fingerprint` of its
module, a hash of

* the source of that module and of every module of this package it imports,
  directly or through other modules of the package (:func:`kernel_sources`):
  whatever compiled code can call or read is among them;
* the versions of numba and NumPy.

Modules with ``cache=True`` functions import this module before defining
them. The generated modules (:func:`load_generated`; their sources come from
:mod:`~lava_eprop.engine.rule_codegen`, :mod:`~lava_eprop.engine.neurons_fused`,
:mod:`~lava_eprop.engine.network_codegen` and
:mod:`~lava_eprop.reference.compiled`) live outside the package, in the
kernel cache directory: they write the fingerprint of the modules they call
into their source, whose hash names their file. So an edit of any of those
sources compiles fresh code on the next run, and an unchanged tree loads what
an earlier run compiled.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import numba
import numpy as np
from numba.core.caching import CacheImpl, _CacheLocator

_PACKAGE = "lava_eprop"
_ROOT = Path(__file__).resolve().parent


@functools.cache
def _module_path(name: str) -> Path | None:
    """The source file of module ``name`` of this package, or None if it is no module
    (a name imported from a package's ``__init__`` counts as that ``__init__``)."""
    path = _ROOT.parent.joinpath(*name.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def _imported_modules(path: Path) -> frozenset[str]:
    """Names of this package's modules whose values the module at ``path`` can use
    (read once per process):
    ``import a.b`` gives ``a.b``; ``from a import b`` gives module ``a.b`` if there
    is one, else ``a`` (its ``__init__`` defines ``b``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {f"{node.module}.{alias.name}"
                      if _module_path(f"{node.module}.{alias.name}") else node.module
                      for alias in node.names}
    return frozenset(name for name in names
                     if name.split(".")[0] == _PACKAGE and _module_path(name) is not None)


def kernel_sources(*modules: str) -> list[Path]:
    """The source files that compiled code of ``modules`` (dotted names) depends on:
    theirs and those of every module of this package they import, directly or not,
    sorted."""
    seen, todo = set(), list(modules)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += _imported_modules(_module_path(name))
    return sorted(_module_path(name) for name in seen)


@functools.cache
def fingerprint(*modules: str) -> str:
    """Hash of :func:`kernel_sources` of ``modules`` (paths relative to the package,
    contents) and of the numba and NumPy versions; 20 hex digits."""
    digest = hashlib.sha256()
    for path in kernel_sources(*modules):
        digest.update(path.relative_to(_ROOT).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    versions = f"numba {numba.__version__}, numpy {np.__version__}"
    digest.update(versions.encode())
    return digest.hexdigest()[:20]


def cache_directory() -> Path:
    """The kernel cache directory, ``$LAVA_EPROP_KERNEL_CACHE`` (default
    ``~/.cache/lava-eprop/kernels``), created if needed; a new temporary directory
    when it cannot be written (then every process compiles again)."""
    default = Path.home() / ".cache" / "lava-eprop" / "kernels"
    directory = Path(os.environ.get("LAVA_EPROP_KERNEL_CACHE", default))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=directory).close()
        return directory
    except OSError:
        return Path(tempfile.mkdtemp(prefix="lava-eprop-kernels-"))


_generated: dict = {}


def generated_name(prefix: str, source: str) -> str:
    """``<prefix>_<hash of source>``: the module name of generated ``source``."""
    return f"{prefix}_" + hashlib.sha256(source.encode()).hexdigest()[:20]


def load_generated(prefix: str, source: str):
    """The module of generated ``source``, named ``<prefix>_<hash of source>``: written
    once to the kernel cache directory and imported from there (numba's ``cache=True``
    then keeps its compiled code across processes), once per process."""
    name = generated_name(prefix, source)
    if name not in _generated:
        path = cache_directory() / f"{name}.py"
        if not path.exists():
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w") as f:
                f.write(source)
            os.replace(tmp, path)  # atomic: concurrent processes see the whole file
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # numba's cache finds the module by name
        spec.loader.exec_module(module)
        _generated[name] = module
    return _generated[name]


def interpreted(name: str, source: str, filename: str = "<generated>"):
    """A module of ``source``, registered as ``name``, whose numba functions run
    as plain Python: numba's ``DISABLE_JIT`` is set while it executes, so ``njit``
    returns each function as written and the functions call one another's Python
    forms. Once per process and name."""
    if name not in _generated:
        module = type(sys)(name)
        module.__file__ = filename
        sys.modules[name] = module
        disabled, numba.config.DISABLE_JIT = numba.config.DISABLE_JIT, True
        try:
            exec(compile(source, filename, "exec"), module.__dict__)
        finally:
            numba.config.DISABLE_JIT = disabled
        _generated[name] = module
    return _generated[name]


class _KernelLocator(_CacheLocator):
    """numba cache locator of this package's compiled functions: ``numba/<key>`` of
    the kernel cache directory, ``key`` the :func:`fingerprint` of the function's
    module, which is also the source stamp numba checks when it loads an index."""

    def __init__(self, module: str, py_file: str):
        self._module = module
        self._py_file = py_file  # numba names it when it warns that it cannot cache
        self._key = fingerprint(module)
        self._path = str(cache_directory() / "numba" / self._key)

    def get_cache_path(self) -> str:
        return self._path

    def get_source_stamp(self) -> str:
        return self._key

    def get_disambiguator(self) -> str:
        return self._module

    @classmethod
    def from_function(cls, py_func, py_file):
        module = py_func.__module__
        if _ROOT in Path(py_file).resolve().parents and _module_path(module):
            return cls(module, py_file)
        return None  # generated modules and others: numba's own locators


if _KernelLocator not in CacheImpl._locator_classes:
    CacheImpl._locator_classes.insert(0, _KernelLocator)
