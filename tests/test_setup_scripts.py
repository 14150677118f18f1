"""The two set-up commands of the README and the CI entry point."""
import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^(\./scripts/\w+)\s", readme, flags=re.M)
    assert commands[:2] == ["./scripts/demo", "./scripts/test"]
    ci_lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if line and not line.startswith("#") and not line.startswith(("set ", "cd "))]
    assert ci_lines == ["./scripts/test"]


def test_missing_python310_is_one_line_and_exit_2(tmp_path):
    if any(Path(p).exists() for p in ("/usr/bin/python3.10", "/usr/local/bin/python3.10")):
        pytest.skip("this machine has a system python3.10 the script would find")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHON": "/nonexistent",
           "LAVA_EPROP_VENV": str(tmp_path / "venv")}
    res = subprocess.run(["bash", str(ROOT / "scripts" / "demo")], env=env, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Python 3.10 not found" in lines[0] and "PYTHON=" in lines[0]
    assert not (tmp_path / "venv").exists()
    assert os.listdir(tmp_path) == []
