"""Test modules stand alone: shared scenarios and helpers live in test-support modules
(``support.py``, ``engine_scenarios.py``, ...) or conftest fixtures, never in another
test module, so each test file can be run, moved or deleted on its own."""
import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


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
