"""The versioned learning-rule document: export, load back into Lava, show.

A document (YAML or JSON, the same content) is::

    schema: lava-eprop/loihi-rules
    schema_version: 1
    lava_nc_version: 0.10.0          # the Lava whose grammar the rules were checked against
    lava_eprop_version: ...
    widths: {trace: 7, weight: 9, ...}   # Lava's fixed-point widths, in bits
    plan: {...}                      # compilers.plan.Plan.to_dict()

``plan.projections[*]`` hold the rule strings, ``x1_impulse``, ``x1_tau``,
``t_epoch``, the weight exponent and, per product, its mantissa, exponent,
factor widths and Lava's right shift; ``plan.groups[*]`` the neurons'
fixed-point parameters; ``plan.approximations`` the representation errors.
:func:`dumps` of :func:`load_document` of a file reproduces it byte for byte.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import yaml

from compilers.checks import FixedPointWarning
from compilers.compile import compile_plan
from compilers.fixedpoint import WIDTHS
from compilers.plan import Plan
from lava_eprop.errors import UserError
from lava_eprop.io import write_text
from lava_eprop.lava_runtime import require_lava
from lava_eprop.loaders import parse_yaml, read_text
from lava_eprop.loihi import LAVA_NC_VERSION

SCHEMA_NAME = "lava-eprop/loihi-rules"
SCHEMA_VERSION = 1
FORMATS = ("yaml", "json")


@dataclass(frozen=True)
class RuleDocument:
    """A plan with the versions it was made with."""

    plan: Plan
    lava_nc_version: str
    lava_eprop_version: str

    def to_dict(self) -> dict:
        return {"schema": SCHEMA_NAME, "schema_version": SCHEMA_VERSION,
                "lava_nc_version": self.lava_nc_version,
                "lava_eprop_version": self.lava_eprop_version, "widths": dict(WIDTHS),
                "plan": self.plan.to_dict()}


def compile_config(config_or_preset) -> tuple[Plan, list[str]]:
    """Compile a config (a :class:`~lava_eprop.config.Config`, or a preset name or
    file to load); the compiler's warnings as one-line messages."""
    from lava_eprop import config
    cfg = config_or_preset if isinstance(config_or_preset, config.Config) \
        else config.load(config_or_preset)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FixedPointWarning)
        plan = compile_plan(cfg)
    for w in caught:
        if not issubclass(w.category, FixedPointWarning):
            warnings.warn(w.message, w.category, stacklevel=2)
    return plan, [str(w.message) for w in caught if issubclass(w.category, FixedPointWarning)]


def document(plan: Plan) -> RuleDocument:
    """A plan stamped with the Lava release whose rule grammar and widths the
    compiler checks against (:data:`lava_eprop.loihi.LAVA_NC_VERSION`, with or
    without lava-nc installed) and the package version."""
    from lava_eprop import __version__
    return RuleDocument(plan, LAVA_NC_VERSION, __version__)


def dumps(doc: RuleDocument, fmt: str) -> str:
    """The document as ``yaml`` or ``json`` text."""
    data = doc.to_dict()
    if fmt == "json":
        return json.dumps(data, indent=2, allow_nan=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, width=4096)


def export_rules(config_or_preset, fmt: str, out: str | Path | None = None
                 ) -> tuple[str, list[str]]:
    """Compile (a config, preset name or file, as :func:`compile_config`), serialise
    and (with ``out``) write atomically (:func:`export_plan`).

    Returns the text and the compiler's warnings.
    """
    _check_format(fmt)
    plan, messages = compile_config(config_or_preset)
    return export_plan(plan, fmt, out), messages


def export_plan(plan: Plan, fmt: str, out: str | Path | None = None) -> str:
    """A compiled plan as a ``yaml`` or ``json`` document, written atomically to ``out``
    when given; returns the text."""
    _check_format(fmt)
    text = dumps(document(plan), fmt)
    if out is not None:
        try:
            write_text(out, text)
        except OSError as exc:
            raise UserError(f"cannot write '{out}': {exc.strerror or exc} (allowed: a file "
                            "path in an existing, writable directory)") from None
    return text


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise UserError(f"format = {fmt!r} is not allowed (allowed: {', '.join(FORMATS)})")


def load_document(path: str | Path) -> RuleDocument:
    """Read an exported document; UserError on anything malformed or edited wrongly."""
    path = Path(path)
    text = read_text(path, "an exported rule file")
    try:
        raw = parse_yaml(text, str(path))
    except UserError as exc:
        reason = str(exc).removeprefix(f"{path}: ")
        raise UserError(f"{path}: not a YAML or JSON rule file ({reason}; allowed: the output "
                        "of lava-eprop export-rule)") from None
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA_NAME:
        raise UserError(f"{path}: schema is not '{SCHEMA_NAME}' (allowed: the output of "
                        "lava-eprop export-rule)")
    if raw.get("schema_version") != SCHEMA_VERSION:
        raise UserError(f"{path}: schema_version = {raw.get('schema_version')!r} is not "
                        f"supported (allowed: {SCHEMA_VERSION})")
    versions = [raw.get(k) for k in ("lava_nc_version", "lava_eprop_version")]
    if not all(isinstance(v, str) for v in versions):
        raise UserError(f"{path}: lava_nc_version and lava_eprop_version must be strings")
    if raw.get("widths") != WIDTHS:
        raise UserError(f"{path}: widths {raw.get('widths')!r} differ from this Lava's "
                        f"{WIDTHS} (allowed: a file exported with Lava's widths)")
    try:
        plan = Plan.from_dict(raw.get("plan"))
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from None
    doc = RuleDocument(plan, *versions)
    if doc.to_dict() != raw:
        raise UserError(f"{path}: unknown or inconsistent keys (allowed: the keys "
                        "lava-eprop export-rule writes)")
    return doc


def load_rules(path: str | Path, rng_seed: int | None = None) -> dict:
    """Lava ``Loihi3FLearningRule`` objects of an exported file, by projection name."""
    doc = load_document(path)
    require_lava("loading rules into Lava's Loihi3FLearningRule")
    if doc.lava_nc_version != version("lava-nc"):
        warnings.warn(f"{path}: exported for lava-nc {doc.lava_nc_version}, running "
                      f"{version('lava-nc')}", stacklevel=2)
    return {p.name: p.learning_rule(rng_seed) for p in doc.plan.projections}


def show(plan: Plan) -> str:
    """A readable table of a plan (``lava-eprop show-rule``)."""
    title = (f"Loihi 2 plan of {plan.source} ({plan.neuron}); t_epoch 1, rules in Lava's "
             "Loihi3FLearningRule syntax")
    lines = [title, "", "neuron groups:"]
    head = f"  {'group':<8} {'model':<14} {'size':>5} {'du':>5} {'dv':>5} {'vth':>6} " \
           f"{'y2/psi':>9} {'y3/signal':>9}"
    lines.append(head)
    for g in plan.groups:
        y2 = "-" if g.y2_per_psi is None else f"{g.y2_per_psi:.4g}"
        vth = "-" if g.vth is None else g.vth
        lines.append(f"  {g.name:<8} {g.model:<14} {g.size:>5} {g.du:>5} {g.dv:>5} {vth:>6} "
                     f"{y2:>9} {g.y3_per_signal:>9.4g}")
        if g.alif is not None:
            a = g.alif
            y1 = "" if a.y1_per_leak is None else (
                f", y1 = {a.y1_leak} + {a.y1_per_y2:.4g} y2 (= {a.y1_per_leak:g} * eps leak)")
            lines.append(f"  {'':<8} adaptation: da {a.da}, beta_v {a.beta_v}{y1}")
    lines += ["", "projections:"]
    for p in plan.projections:
        scales = "".join(f", {k} {v:.4g}" for k, v in (("tag/ebar", p.tag_per_unit),
                                                       ("d/eps", p.delay_per_unit))
                         if v is not None)
        lines.append(f"  {p.name} [{p.shape[0]} x {p.shape[1]}]: weight_exp {p.weight_exp}, "
                     f"w/W {p.weight_per_unit:.4g}, x1_impulse {p.x1_impulse}, x1_tau "
                     f"{p.x1_tau}{scales}")
        for target, rule in p.rules.items():
            lines.append(f"    {target} = {rule}")
    lines += ["", "approximations:"]
    lines += [f"  {a.describe()}" for a in plan.approximations]
    lines += ["", "notes:"] + [f"  - {n}" for n in plan.notes]
    return "\n".join(lines) + "\n"
