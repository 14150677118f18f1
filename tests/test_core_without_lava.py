"""The core without Lava: the same results as Python 3.10 with Lava, and one-line
refusals of what needs Lava's runtime.

The fingerprint (scripts/fingerprint.py) was made on Python 3.10 with lava-nc
0.10.0 and NumPy 1.26; this test runs in both set-ups of ./scripts/test.
"""
import importlib.util
import json
from pathlib import Path

import pytest

from compilers.export import export_rules, load_rules
from lava_eprop import lava_runtime
from lava_eprop.cli import main
from lava_eprop.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def _fingerprint_module():
    spec = importlib.util.spec_from_file_location("fingerprint", ROOT / "scripts" / "fingerprint.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fixed_training_and_export_rule_equal_the_fingerprint_made_with_lava():
    fingerprint = _fingerprint_module()
    stored = json.loads(fingerprint.STORED.read_text())
    assert stored["made_with"]["lava-nc"] == "0.10.0"
    found = fingerprint.fingerprint()
    assert found["export_rule"] == stored["export_rule"]
    assert found["train"] == stored["train"]


@pytest.fixture
def without_lava(monkeypatch):
    """Lava's absence, as on Python 3.11+ (there it is real)."""
    monkeypatch.setattr(lava_runtime, "lava_available", lambda: False)


@pytest.mark.parametrize("args,what", [
    (["train", "pattern-generation", "--engine", "lava", "--out", "{tmp}/run"],
     "train --engine lava"),
    (["run", "{tmp}/network.npz", "--inputs", "{tmp}/inputs.npz"], "run"),
    (["deploy", "{tmp}/network.npz", "--sim"], "deploy"),
])
def test_lava_only_commands_say_in_one_line_that_they_need_python_310(
        tmp_path, capsys, without_lava, args, what):
    for name in ("network.npz", "inputs.npz"):
        (tmp_path / name).write_bytes(b"x")
    with pytest.raises(SystemExit) as exit_info:
        main([a.format(tmp=tmp_path) for a in args])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.count("\n") == 1 and err.startswith(f"error: {what} needs Python 3.10 with "
                                                   "lava-nc 0.10.0"), err
    assert not (tmp_path / "run").exists()


def test_loading_rules_into_lava_objects_needs_lava(tmp_path, without_lava):
    path = tmp_path / "rules.json"
    export_rules("pattern-generation", "json", path)
    with pytest.raises(UserError, match="^loading rules into Lava's Loihi3FLearningRule "
                                        "needs Python 3.10 with lava-nc"):
        load_rules(path)
    with pytest.raises(UserError, match="^Lava's runtime .* needs Python 3.10"):
        lava_runtime.import_lava_runtime()
