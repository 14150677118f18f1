"""Experiment configuration: schema, YAML loading and validation.

A config has the sections ``task``, ``network``, ``training`` and
``fixed_point`` (how :mod:`compilers` lowers it to Loihi 2). Every key,
its type, default and allowed range is declared once, in :data:`SCHEMA` (and
each task type's module for its own keys, :data:`TASK_SCHEMAS`); ``docs/config.md`` is
generated from these tables (``python -m lava_eprop.config``) and a test keeps
the two identical. Loading validates everything and raises
:class:`~lava_eprop.errors.UserError` with a one-line message naming the key,
the offending value and what is allowed.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from lava_eprop.errors import UserError
from lava_eprop.loaders import parse_yaml, read_text
from lava_eprop.schema import POSITIVE, Field
from lava_eprop.tasks import TASKS


def _preset_file(name: str):
    """Where the preset of task type ``name`` is, if it has one."""
    return resources.files("lava_eprop").joinpath("presets", f"{name}.yaml")


#: Task types with a preset file (``presets/<name>.yaml``); TASK_NAMES adds the others.
PRESETS = tuple(name for name in TASKS if _preset_file(name).is_file())
TASK_NAMES = PRESETS + tuple(name for name in TASKS if name not in PRESETS)


_POS = POSITIVE

SCHEMA: dict[str, dict[str, Field]] = {
    "network": {
        "n_rec": Field("int", 100, "number of recurrent neurons", lo=1, hi=4096),
        "neuron": Field("str", "lif", "recurrent neuron model", choices=("lif", "alif")),
        "n_adaptive": Field("int", None, "ALIF only: how many recurrent neurons adapt "
                            "(the first n_rec - n_adaptive are plain LIF); null = all",
                            lo=0, hi=4096, nullable=True),
        "dt": Field("float", 1.0, "time step in ms", **_POS, hi=100.0),
        "tau_m": Field("float", 20.0, "membrane time constant in ms (alpha = exp(-dt/tau_m))",
                       **_POS, hi=1e6),
        "tau_a": Field("float", 2000.0, "ALIF threshold-adaptation time constant in ms "
                       "(rho = exp(-dt/tau_a))", **_POS, hi=1e7),
        "beta": Field("float", None, "ALIF adaptation strength; null = the reference heuristic "
                      "1.7 (1 - rho) / (1 - alpha)", lo=0.0, hi=1e3, nullable=True),
        "v_th": Field("float", 0.6, "firing threshold", **_POS, hi=1e6),
        "refractory_steps": Field("int", 0, "after a spike at step t the neuron cannot spike "
                                  "before step t + refractory_steps (0 and 1: no refractory "
                                  "period); the pseudo-derivative is zero meanwhile",
                                  lo=0, hi=1000),
        "dampening": Field("float", 0.3, "pseudo-derivative dampening gamma", lo=0.0, hi=10.0),
        "input_scaling": Field("bool", False, "scale synaptic input by (1 - alpha), as the "
                               "reference pattern-generation code does"),
        "tau_out": Field("float", 20.0, "readout time constant in ms (kappa = exp(-dt/tau_out))",
                         **_POS, hi=1e6),
        "readout_scaling": Field("bool", True, "scale readout input by (1 - kappa), the "
                                 "reference code's normalised exponential filter"),
        "readout_bias": Field("bool", False, "give each readout a trained bias"),
        "self_connections": Field("bool", False, "allow recurrent autapses (the reference "
                                  "code removes them)"),
        "w_in_scale": Field("float", 1.0, "input weights ~ N(0, w_in_scale^2 / n_in)", lo=0.0,
                            hi=1e6),
        "w_rec_scale": Field("float", 1.0, "recurrent weights ~ N(0, w_rec_scale^2 / n_rec)",
                             lo=0.0, hi=1e6),
        "w_out_scale": Field("float", 1.0, "readout weights ~ N(0, w_out_scale^2 / n_rec)",
                             lo=0.0, hi=1e6),
    },
    "training": {
        "method": Field("str", "eprop", "learning algorithm", choices=("eprop", "bptt")),
        "feedback": Field("str", "symmetric", "e-prop feedback weights B: W_out^T, fixed "
                          "random, or random and trained like W_out^T",
                          choices=("symmetric", "random", "adaptive")),
        "feedback_scale": Field("float", 1.0, "random feedback B ~ N(0, feedback_scale^2 / n_rec)",
                                **_POS, hi=1e6),
        "optimizer": Field("str", "adam", "weight update rule", choices=("sgd", "adam")),
        "adam": Field("str", "tf1", "form of Adam: tf1 = the reference code's "
                      "tf.train.AdamOptimizer, lr sqrt(1-b2^t)/(1-b1^t) m / (sqrt(v) + eps); "
                      "bias_corrected = the paper's and torch's, lr m_hat / (sqrt(v_hat) + eps) "
                      "(they differ for gradients below ~1e-6)",
                      choices=("tf1", "bias_corrected")),
        "learning_rate": Field("float", 1e-3, "learning rate eta", **_POS, hi=1e6),
        "lr_decay": Field("float", 1.0, "multiply the learning rate by this factor every "
                          "lr_decay_every iterations", **_POS, hi=1.0),
        "lr_decay_every": Field("int", 100, "iterations between learning-rate decays", lo=1,
                                hi=10**7),
        "update": Field("str", "batch", "online: update weights every time step, as on chip; "
                        "batch: sum the update over every step of every sequence in the batch "
                        "(per-sequence when batch_size is 1)", choices=("online", "batch")),
        "batch_size": Field("int", 1, "sequences per iteration", lo=1, hi=4096),
        "iterations": Field("int", 200, "training iterations (batches)", lo=1, hi=10**7),
        "reg_coeff": Field("float", 0.0, "firing-rate regularisation c_reg: the loss adds "
                           "c_reg/2 * sum_j (f_j - f_target)^2, rates in spikes per ms "
                           "(conventions and conversions: docs/float-reference.md; on chip "
                           "scaled to the chip's per-trial error: show-rule's notes)",
                           lo=0.0, hi=1e9),
        "reg_rate_hz": Field("float", 10.0, "target firing rate f_target in Hz", lo=0.0,
                             hi=1e4),
        "reg_rate_over": Field("str", "batch", "float engine: the rate f_j the regulariser "
                               "compares with f_target: batch = over all sequences of the "
                               "batch; sequence = each sequence's own rate f_bj, the term "
                               "averaged over the batch (as NEST); equal when batch_size is 1 "
                               "(docs/float-reference.md)", choices=("batch", "sequence")),
        "reg_per_error_step": Field("bool", False, "float engine: divide the regulariser by "
                                    "n_err, the error (masked) steps per sequence, as NEST "
                                    "averages it over its learning window (to keep a run's "
                                    "gradients when turning this on, multiply reg_coeff by "
                                    "n_err)"),
        "eval_every": Field("int", 10, "iterations between held-out evaluations", lo=1,
                            hi=10**7),
        "eval_trials": Field("int", 64, "held-out trials per evaluation", lo=1, hi=10**5),
        "seed": Field("int", 0, "seed for weights, feedback and trial sampling", lo=0,
                      hi=2**32 - 1),
        "dtype": Field("str", "float64", "floating-point precision of the float engine",
                       choices=("float64", "float32")),
        "bptt_reset_gradient": Field("bool", False, "BPTT only: let gradient flow through the "
                                     "reset (default: reset detached, as in e-prop)"),
    },
    "fixed_point": {
        "learning_rate": Field("float", None, "learning rate of the on-chip rule (online SGD, "
                               "every step); null = training.learning_rate", **_POS, hi=1e6,
                               nullable=True),
        "input_rate_hz": Field("float", None, "expected input spike rate that sizes the x1 "
                               "trace of input projections; null = task.input_rate_hz, for "
                               "a dataset the mean rate of its training inputs", lo=0.0, hi=1e4, nullable=True),
        "headroom": Field("float", 4.0, "a presynaptic trace at its mean (expected rate) uses "
                          "at most 1/headroom of its 7 bits", lo=1.0, hi=127.0),
        "weight_range": Field("float", 4.0, "weights are represented up to this many initial "
                              "standard deviations (sets each weight exponent)", **_POS, hi=1e3),
        "weight_exp_in": Field("int", None, "weight exponent of input projections; null = "
                               "chosen from weight_range", lo=-8, hi=7, nullable=True),
        "weight_exp_rec": Field("int", None, "weight exponent of recurrent projections; null = "
                                "chosen from weight_range", lo=-8, hi=7, nullable=True),
        "weight_exp_out": Field("int", None, "weight exponent of the readout projection; null "
                                "= chosen from weight_range", lo=-8, hi=7, nullable=True),
        "error_max": Field("float", 1.0, "largest |readout error| the y3 factor represents "
                           "(learning signals scale with it)", **_POS, hi=1e6),
        "reg_tau_ms": Field("float", 1000.0, "time constant of the neurons' firing-rate trace "
                            "that the on-chip regulariser (training.reg_coeff) compares with "
                            "training.reg_rate_hz; 1 to 4095 time steps", **_POS, hi=1e6),
        "rounding": Field("str", "stochastic", "CPU model of the learning engine's rounding of "
                          "weight and tag updates: lava = Lava 0.10's LearningDense model "
                          "(every product shift floored, one random number per step shared "
                          "by all synapses); stochastic = every product shift and every "
                          "synapse rounded stochastically with a number of its own (a "
                          "hypothesis about Loihi 2, docs/onchip-learning.md). Both run in "
                          "--engine fixed and --engine lava, bit-exact with each other; the "
                          "Loihi 2 graph is the same",
                          choices=("lava", "stochastic")),
        "drop_alif_eps": Field("bool", False, "ALIF: drop eps from the eligibility (e = psi "
                               "zbar) and keep d (tag_2, the synaptic delay on chip) unused"),
        "tolerance": Field("float", 0.2, "largest relative error of a realised time constant "
                           "or ALIF beta; beyond it the compiler refuses", **_POS, hi=1.0),
        "warn_tolerance": Field("float", 0.05, "relative errors above this produce a warning "
                                "(<= tolerance)", lo=0.0, hi=1.0),
    },
}

_TASK_COMMON = {
    "name": Field("str", None, "task type", choices=TASK_NAMES),
}

#: Each task type's own keys, declared in its module (:mod:`lava_eprop.tasks`).
TASK_SCHEMAS: dict[str, dict[str, Field]] = {name: TASKS[name].schema for name in TASK_NAMES}


#: Defaults that replace the :data:`SCHEMA` defaults for one task type, where its
#: config leaves a key out. A dataset's defaults are settings that learned
#: generated spike-coded 10-class datasets in float and on chip
#: (``tests/test_own_data.py``; docs/own-data.md): ALIF neurons with a
#: refractory period and the firing-rate regulariser keep the rate down, Adam at
#: 0.02 on batches of 32 learns in a few hundred iterations (the same rate as
#: the on-chip SGD rate), and a wider weight range keeps the learned readout
#: weights off the chip's 8-bit bounds.
TASK_DEFAULTS: dict[str, dict[str, dict[str, Any]]] = {
    "dataset": {
        "network": {"neuron": "alif", "refractory_steps": 5},
        "training": {"learning_rate": 0.02, "batch_size": 32, "reg_coeff": 1.0,
                     "reg_rate_hz": 20.0, "eval_trials": 256},
        "fixed_point": {"weight_range": 16.0},
    },
}


class Section(Mapping):
    """Read-only, attribute-accessible view of one validated config section."""

    def __init__(self, values: Mapping[str, Any]):
        object.__setattr__(self, "_values", MappingProxyType(dict(values)))

    def __getattr__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key, value):
        raise AttributeError("config sections are read-only")

    def __getitem__(self, key):
        return self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    def __repr__(self):
        return f"Section({dict(self._values)!r})"


@dataclass(frozen=True)
class Config:
    """A validated experiment configuration.

    ``source`` is the preset name or the file it was loaded from; ``base_dir``
    resolves relative paths (the dataset file).
    """

    task: Section
    network: Section
    training: Section
    fixed_point: Section = dataclass_field(default_factory=lambda: Section(
        {k: f.default for k, f in SCHEMA["fixed_point"].items()}))
    source: str = "<dict>"
    base_dir: str = "."

    def to_dict(self) -> dict:
        """Plain nested dict, as written to YAML or stored with a network."""
        return {"task": dict(self.task), "network": dict(self.network),
                "training": dict(self.training), "fixed_point": dict(self.fixed_point)}

    def with_settings(self, items) -> Config:
        """A copy with ``SECTION.KEY=VALUE`` settings applied (``--set``; each value
        read as YAML: ``0.5``, ``true``, ``null``, ``[1, 2]``), validated like the
        file."""
        raw = self.to_dict()
        for item in items:
            key, sep, text = str(item).partition("=")
            section, dot, name = key.strip().partition(".")
            if not sep or not dot or not name or "." in name:
                raise UserError(f"--set {item!r}: expected SECTION.KEY=VALUE (allowed "
                                "sections: task, network, training, fixed_point)")
            if section not in raw:
                raise UserError(f"--set {item!r}: unknown section '{section}' (allowed: task, "
                                "network, training, fixed_point)")
            try:
                value = yaml.safe_load(text) if text.strip() else None
            except yaml.YAMLError:
                raise UserError(f"--set {item!r}: the value is not valid YAML") from None
            if section == "task" and name == "name":
                raise UserError(f"--set {item!r}: task.name cannot be changed (allowed: "
                                "another preset or config file)")
            raw[section][name] = value
        return from_dict(raw, source=self.source, base_dir=self.base_dir)

    def with_overrides(self, **training: Any) -> Config:
        """A copy with ``training`` keys replaced (validated like the file)."""
        raw = self.to_dict()
        raw["training"].update({k: v for k, v in training.items() if v is not None})
        return from_dict(raw, source=self.source, base_dir=self.base_dir)


def _show(value: Any) -> str:
    """``repr(value)`` for a message: at most 60 characters, any integer size."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 192:
        return f"an integer of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _key_name(key: Any) -> str:
    """A mapping key as a message shows it (at most 60 characters)."""
    return key[:60] if isinstance(key, str) else _show(key)


def _check_value(where: str, field: Field, value: Any) -> Any:
    """Validate and normalise one value; raise UserError naming ``where``."""
    if value is None:
        if field.nullable:
            return None
        raise UserError(f"{where} must not be null (allowed: {field.allowed()})")
    kind = field.kind
    if kind == "bool":
        if not isinstance(value, bool):
            raise UserError(f"{where} must be true or false, got {_show(value)}")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise UserError(f"{where} must be a string (allowed: {field.allowed()}), "
                            f"got {_show(value)}")
        if field.choices and value not in field.choices:
            raise UserError(f"{where} = {_show(value)} is not allowed (allowed: {field.allowed()})")
        return value
    if kind == "floats":
        if not isinstance(value, list) or not value:
            raise UserError(f"{where} must be a non-empty list of numbers, got {_show(value)}")
        return [_check_number(f"{where}[{i}]", field, v, "float") for i, v in enumerate(value)]
    return _check_number(where, field, value, kind)


def _check_number(where: str, field: Field, value: Any, kind: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        noun = "an integer" if kind == "int" else "a number"
        raise UserError(f"{where} must be {noun} ({field.allowed()}), got {_show(value)}")
    if kind == "int":
        if isinstance(value, float):
            if not value.is_integer():
                raise UserError(f"{where} must be an integer ({field.allowed()}), got {_show(value)}")
            value = int(value)
    else:
        if isinstance(value, int) and abs(value) >= 2**1023:      # beyond float64
            raise UserError(f"{where} = {_show(value)} is out of range (allowed: "
                            f"{field.allowed()})")
        value = float(value)
        if not math.isfinite(value):
            raise UserError(f"{where} must be finite ({field.allowed()}), got {_show(value)}")
    too_low = field.lo is not None and (value <= field.lo if field.lo_open else value < field.lo)
    too_high = field.hi is not None and value > field.hi
    if too_low or too_high:
        raise UserError(f"{where} = {_show(value)} is out of range (allowed: {field.allowed()})")
    return value


def _check_section(name: str, raw: Any, fields: Mapping[str, Field],
                   required: tuple = (), defaults: Mapping[str, Any] | None = None) -> dict:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise UserError(f"config section '{name}' must be a mapping of keys to values, "
                        f"got {type(raw).__name__}")
    unknown = sorted(_key_name(k) for k in raw if k not in fields)
    if unknown:
        raise UserError(f"unknown key '{name}.{unknown[0]}' (allowed in {name}: "
                        f"{', '.join(fields)})")
    out = {}
    for key, field in fields.items():
        if key in raw:
            out[key] = _check_value(f"{name}.{key}", field, raw[key])
        elif key in required:
            raise UserError(f"missing key '{name}.{key}' ({field.doc}; allowed: "
                            f"{field.allowed()})")
        else:
            out[key] = copy.deepcopy((defaults or {}).get(key, field.default))
    return out


def _cross_checks(task: dict, net: dict, train: dict) -> None:
    """Constraints that involve more than one key."""
    if net["n_adaptive"] is not None and net["n_adaptive"] > net["n_rec"]:
        raise UserError(f"network.n_adaptive = {net['n_adaptive']} exceeds network.n_rec = "
                        f"{net['n_rec']} (allowed: 0 to n_rec)")
    if net["n_adaptive"] is not None and net["neuron"] == "lif":
        raise UserError("network.n_adaptive is set but network.neuron is 'lif' (allowed: "
                        "set neuron: alif, or remove n_adaptive)")
    TASKS[task["name"]].check(task)
    if train["method"] == "bptt" and train["update"] == "online":
        raise UserError("training.update = 'online' is not possible with training.method = "
                        "'bptt' (allowed: update: batch)")


def from_dict(raw: Any, source: str = "<dict>", base_dir: str = ".") -> Config:
    """Validate a nested dict (as parsed from YAML) into a :class:`Config`."""
    if not isinstance(raw, dict):
        raise UserError(f"{source}: a config must be a mapping with sections task, network, "
                        f"training, fixed_point; got {type(raw).__name__}")
    unknown = sorted(_key_name(k) for k in raw if k not in ("task", "network", "training",
                                                      "fixed_point"))
    if unknown:
        raise UserError(f"unknown key '{unknown[0]}' (allowed top-level sections: task, "
                        "network, training, fixed_point)")
    task_raw = raw.get("task")
    if not isinstance(task_raw, dict) or "name" not in task_raw:
        raise UserError(f"missing key 'task.name' (allowed: {_TASK_COMMON['name'].allowed()})")
    name = _check_value("task.name", _TASK_COMMON["name"], task_raw["name"])
    task_fields = {**_TASK_COMMON, **TASK_SCHEMAS[name]}
    required = ("name", "path") if name == "dataset" else ("name",)
    task = _check_section("task", task_raw, task_fields, required)
    defaults = TASK_DEFAULTS.get(name, {})
    net, train, fixed = (_check_section(section, raw.get(section), SCHEMA[section],
                                        defaults=defaults.get(section))
                         for section in ("network", "training", "fixed_point"))
    _cross_checks(task, net, train)
    if fixed["warn_tolerance"] > fixed["tolerance"]:
        raise UserError(f"fixed_point.warn_tolerance = {fixed['warn_tolerance']} exceeds "
                        f"fixed_point.tolerance = {fixed['tolerance']} (allowed: warn_tolerance "
                        "<= tolerance)")
    return Config(Section(task), Section(net), Section(train), Section(fixed), source=source,
                  base_dir=str(base_dir))


def preset_dict(name: str) -> dict:
    """The raw dict of a built-in preset."""
    if name not in PRESETS:
        raise UserError(f"unknown preset '{name}' (allowed: {', '.join(PRESETS)})")
    text = _preset_file(name).read_text()
    return parse_yaml(text, f"preset {name}")


def load(config_or_preset: str | Path) -> Config:
    """Load a built-in preset by name, or a YAML config file by path."""
    text_name = str(config_or_preset)
    if text_name in PRESETS:
        return from_dict(preset_dict(text_name), source=text_name)
    path = Path(text_name)
    if not path.exists():
        raise UserError(f"'{text_name}' is neither a preset ({', '.join(PRESETS)}) nor an "
                        "existing config file")
    if not path.is_file():
        raise UserError(f"'{text_name}' is not a file (expected a YAML config)")
    raw = parse_yaml(read_text(path, "a YAML config"), str(path))
    return from_dict(raw, source=str(path), base_dir=str(path.resolve().parent))


def save_yaml(config: Config) -> str:
    """The config as YAML text (round-trips through :func:`from_dict`)."""
    return yaml.safe_dump(config.to_dict(), sort_keys=False)


def commented_yaml(config: Config, header: str = "") -> str:
    """The full config as YAML, every key preceded by a comment with its meaning and
    allowed values (from the schema); loads back (:func:`from_dict`) to ``config``.
    ``header`` (lines) starts the text as comments."""
    import textwrap

    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    task_fields = {**_TASK_COMMON, **TASK_SCHEMAS[config.task["name"]]}
    for section, fields in (("task", task_fields), *SCHEMA.items()):
        lines.append(f"{section}:")
        for key, value in getattr(config, section).items():
            f = fields[key]
            doc = f"{f.doc} (allowed: {f.allowed()})"
            lines += textwrap.wrap(doc, 88, initial_indent="  # ", subsequent_indent="  # ",
                                   break_on_hyphens=False, break_long_words=False)
            text = yaml.safe_dump({key: value}, default_flow_style=True, width=4096).strip()
            lines.append("  " + text[1:-1])      # flow style {key: value} without braces
    return "\n".join(lines) + "\n"


def schema_markdown() -> str:
    """Reference documentation of every key, generated from the schema."""
    lines = ["# Config reference", "",
             "Generated from `lava_eprop/config.py` by `python -m lava_eprop.config`; "
             "a test keeps this file identical to the schema.", "",
             "A config is a YAML mapping with the sections `task`, `network`, `training` and "
             "`fixed_point` (how the Loihi 2 compiler lowers it; see "
             "[the Loihi 2 mapping](architecture.md#the-loihi-2-mapping)). Keys left out "
             "take their default; a `dataset` task has defaults of its own for some keys "
             "([Defaults of a dataset task](#defaults-of-a-dataset-task)). Unknown keys, wrong types and out-of-range values are "
             "refused with a one-line message.", ""]

    def flow(value: Any) -> str:
        return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()

    def table(title: str, fields: Mapping[str, Field]) -> None:
        lines.extend([f"## {title}", "", "| key | type | default | allowed | meaning |",
                      "|---|---|---|---|---|"])
        for key, f in fields.items():
            default = "required" if f.default is None and not f.nullable else flow(f.default)
            lines.append(f"| `{key}` | {f.kind} | `{default}` | {f.allowed()} | {f.doc} |")
        lines.append("")

    table("task (every task)", _TASK_COMMON)
    for name, fields in TASK_SCHEMAS.items():
        table(f"task, name: {name}", fields)
    for section, fields in SCHEMA.items():
        table(section, fields)
    lines.extend(["## Defaults of a dataset task", "",
                  "A `dataset` config that leaves these keys out gets these values instead of "
                  "the defaults above: settings that learn generic spike-coded "
                  "classification and regression data in float and on chip "
                  "([Your own data](own-data.md)).", "",
                  "| key | dataset default | default of other tasks |", "|---|---|---|"])
    for section, values in TASK_DEFAULTS["dataset"].items():
        for key, value in values.items():
            lines.append(f"| `{section}.{key}` | `{flow(value)}` | "
                         f"`{flow(SCHEMA[section][key].default)}` |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(schema_markdown(), end="")
