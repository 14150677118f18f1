"""End-to-end learning with the float reference, through the CLI (slow).

Wall times measured on the 2-core CI machine are in the README's results
table, with the commands that reproduce them.
"""
import json

import pytest

from test_cli import cli


@pytest.mark.slow
def test_eprop_learns_pattern_generation(tmp_path):
    res = cli("train", "pattern-generation", "--engine", "float", "--out", tmp_path, "--quiet")
    assert res.returncode == 0, res.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["initial_nmse"] > 0.5
    assert metrics["final_nmse"] < 0.1


@pytest.mark.slow
def test_random_eprop_on_alif_learns_evidence_accumulation(tmp_path):
    res = cli("train", "evidence-accumulation", "--engine", "float", "--out", tmp_path, "--quiet")
    assert res.returncode == 0, res.stderr
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["method"] == "eprop" and metrics["feedback"] == "random"
    assert metrics["final_accuracy"] >= 0.9
