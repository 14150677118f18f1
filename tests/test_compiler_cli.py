"""lava-eprop export-rule and show-rule, run as a user runs them (a subprocess)."""
import json
import re
import subprocess
import sys

import pytest
import yaml

from compilers.export import load_rules


def cli(*args):
    return subprocess.run([sys.executable, "-m", "lava_eprop.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600, check=False)


def test_export_rule_writes_yaml_to_stdout_and_warnings_to_stderr():
    res = cli("export-rule", "pattern-generation")
    assert res.returncode == 0, res.stderr
    doc = yaml.safe_load(res.stdout)
    assert doc["schema"] == "lava-eprop/loihi-rules" and doc["plan"]["source"] == \
        "pattern-generation"
    assert all(line.startswith("warning: ") for line in res.stderr.splitlines()
               if "Prophesee" not in line)


@pytest.mark.lava
def test_export_rule_writes_json_file_that_loads_into_lava(tmp_path):
    out = tmp_path / "rules.json"
    res = cli("export-rule", "evidence-accumulation", "--format", "json", "-o", out)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "" and f"wrote {out}" in res.stderr
    assert json.loads(out.read_text())["schema_version"] == 1
    assert "recurrent->alif" in load_rules(out)
    assert [p.name for p in tmp_path.iterdir()] == ["rules.json"]


def test_show_rule_prints_the_table():
    res = cli("show-rule", "store-recall")
    assert res.returncode == 0, res.stderr
    for text in ("neuron groups:", "recurrent->alif", "dd = ", "approximations:",
                 "tag: kappa: requested", "notes:"):
        assert text in res.stdout


BAD = [
    (["export-rule", "no-such-preset"], "neither a preset"),
    (["export-rule", "pattern-generation", "--format", "xml", "-o", "{out}"],
     "'xml' is not one of 'yaml', 'json'"),
    (["export-rule", "{too_slow}", "-o", "{out}"],
     "network.tau_out = 200: tag: kappa: .* exceeds the tolerance"),
    (["export-rule", "{bad_key}", "-o", "{out}"], "unknown key 'fixed_point.bogus'"),
    (["export-rule", "pattern-generation", "-o", "{nodir}"], "cannot write"),
    (["show-rule", "no-such-preset"], "neither a preset"),
    (["show-rule", "{too_slow}"], "network.tau_out = 200"),
    (["show-rule"], "Missing argument 'CONFIG_OR_PRESET'"),
]


@pytest.mark.parametrize("args,message", BAD)
def test_bad_input_gives_one_line_exit_2_no_traceback_no_file(tmp_path, args, message):
    (tmp_path / "slow.yaml").write_text("task: {name: pattern-generation}\n"
                                        "network: {tau_out: 200.0}\n")
    (tmp_path / "key.yaml").write_text("task: {name: pattern-generation}\n"
                                       "fixed_point: {bogus: 1}\n")
    subs = {"{out}": tmp_path / "out.yaml", "{too_slow}": tmp_path / "slow.yaml",
            "{bad_key}": tmp_path / "key.yaml", "{nodir}": tmp_path / "none" / "r.yaml"}
    res = cli(*[subs.get(a, a) for a in args])
    assert res.returncode == 2
    lines = [line for line in res.stderr.strip().splitlines() if "Prophesee" not in line]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert re.search(message, lines[0]), lines[0]
    assert "Traceback" not in res.stderr + res.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.yaml", "slow.yaml"]


def test_help_lists_the_rule_commands():
    res = cli("--help")
    assert "export-rule" in res.stdout and "show-rule" in res.stdout
    res = cli("export-rule", "--help")
    assert "--format" in res.stdout and "--output" in res.stdout
