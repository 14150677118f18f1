"""The layout holds: the models and the fast engine sit below the training drivers,
and test modules stand alone (shared scenarios and helpers live in test-support
modules, ``support.py``, ``engine_scenarios.py``, ..., or conftest fixtures, never
in another test module, so each test file can be run, moved or deleted on its own)."""
import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
PACKAGE = TESTS.parent / "lava_eprop"

#: What each lower package may import from the project, besides itself: the fast
#: engine the Loihi constants and rules, errors, the kernel cache and the plan's
#: types; the float reference the config it reads its parameters from. Neither
#: imports the training drivers (lava_eprop.training), the checkpoints, the Lava
#: graph or the application around them.
ALLOWED = {
    "engine": {"lava_eprop.loihi", "lava_eprop.errors", "lava_eprop.kernel_cache",
               "compilers.plan"},
    "reference": {"lava_eprop.config", "lava_eprop.errors", "lava_eprop.kernel_cache"},
}


def project_imports(path: Path) -> set[str]:
    """Project modules ``path`` imports at any depth (``from lava_eprop import x`` as
    ``lava_eprop.x``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module in ("lava_eprop", "compilers"):
                names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in names if name.split(".")[0] in ("lava_eprop", "compilers")
            and name not in ("lava_eprop", "compilers")}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_lower_packages_import_only_what_is_below_them(package):
    allowed = ALLOWED[package] | {f"lava_eprop.{package}"}
    found = {f"{path.name} imports {name}"
             for path in sorted((PACKAGE / package).glob("*.py"))
             for name in project_imports(path)
             if not any(name == a or name.startswith(a + ".") for a in allowed)}
    assert not found, sorted(found)


def imported_modules(path: Path) -> set[str]:
    """Names of the modules ``path`` imports, at any depth of its code, as imported
    from this directory (``tests.test_cli`` and ``.test_cli`` as ``test_cli``)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append(node.module or "")
            names += [alias.name for alias in node.names if not node.module]
    return {name.removeprefix("tests.").split(".")[0] for name in names}


def test_no_test_module_imports_another():
    test_modules = {p.stem for p in TESTS.glob("test_*.py")}
    found = {f"{path.name} imports {name}"
             for path in sorted(TESTS.glob("*.py"))
             for name in imported_modules(path) & test_modules if name != path.stem}
    assert not found, f"move shared code into a test-support module: {sorted(found)}"


def test_no_module_imports_conftest():
    """pytest loads conftest.py itself; its helpers are fixtures, plain functions are in
    support modules (importing conftest can load it twice, under two names)."""
    found = sorted(path.name for path in TESTS.glob("*.py")
                   if "conftest" in imported_modules(path))
    assert not found, f"import helpers from a support module, not conftest: {found}"
