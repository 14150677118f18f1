"""The fixed-point plan: plain dataclasses, serialisable to and from a dict.

Units and meaning of every field (``Q`` is a group's voltage scale):

* A neuron's 24-bit voltage register holds ``v * Q * 64``; its threshold is
  ``vth << 6`` (Lava's LIF convention); ``du``/``dv``/``da`` are 12-bit decays
  (decay by ``(4096 - d) / 4096``; Lava adds 1 to ``du``, so ``du = 4095``
  clears the current every step: the synaptic input goes straight into v).
* ``y2 = floor(y2_mant * max(0, (vth << 6) - |v - A|) / 2^y2_shift)`` (0 while
  refractory) is ``y2_per_psi`` times the pseudo-derivative psi.
* ``y3 = 64 + round(y3_per_signal * L)`` clipped to 0..127: the learning signal
  (recurrent groups) or the readout error (readout), offset so the trace stays
  unsigned; rules read it as ``(y3-64)``. A recurrent group's y3 must carry the
  learning signal of the previous step (the weight rule reads the tag from
  before its update, see :mod:`compilers.rules`); the readout's y3 the error
  that matches the same step's x1.
* ALIF: the neuron keeps ``b`` (v-register units), ``b <- b*(4096-da)/4096 +
  beta_v * z``, threshold ``A = (vth << 6) + b``; it sends
  ``y1 = y1_leak + round(y1_per_y2 * y2)``, which is ``y1_per_leak`` times
  ``(1 - rho) + beta * psi``, the leak of eps.
* A projection's integer weight is ``round(weight_per_unit * W)`` with
  ``|.| <= 255`` (8 bits + sign); Lava's Dense delivers it ``<< weight_exp``.
  ``x1 = x1_impulse * zbar`` (spikes filtered with ``exp(-1/x1_tau)``),
  ``t = tag_per_unit * ebar``, ``d = delay_per_unit * eps``.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from compilers.fixedpoint import Approximation
from compilers.rules import TARGETS, Product, parse
from lava_eprop.errors import UserError
from lava_eprop.loihi.rule import LearningRule


@dataclass(frozen=True)
class AlifParams:
    """Threshold adaptation and the eps leak factor of an ALIF group."""

    da: int
    beta_v: int
    y1_per_leak: float | None = None
    y1_leak: int | None = None
    y1_per_y2: float | None = None


@dataclass(frozen=True)
class NeuronGroup:
    """Fixed-point parameters of one neuron population."""

    name: str
    model: str
    size: int
    du: int
    dv: int
    vth: int | None
    voltage_scale: float
    refractory_steps: int
    y2_mant: int | None
    y2_shift: int | None
    y2_per_psi: float | None
    y3_per_signal: float
    signal: str
    alif: AlifParams | None = None


@dataclass(frozen=True)
class Projection:
    """One plastic projection: weight format, trace parameters and its rules."""

    name: str
    pre: str
    post: str
    shape: tuple[int, int]
    weight_exp: int
    weight_per_unit: float
    weight_max: float
    x1_impulse: int
    x1_tau: int
    t_epoch: int
    tag_per_unit: float | None
    delay_per_unit: float | None
    rules: dict[str, str]

    def products(self) -> dict[str, tuple[Product, ...]]:
        """The checked products of each rule (target -> products)."""
        return {k: parse(k, v, f"projection {self.name}, rule {k}")
                for k, v in self.rules.items()}

    def rule(self, rng_seed: int | None = None) -> LearningRule:
        """This projection's three-factor rule as the fast engine reads it
        (what Lava's ``Loihi3FLearningRule`` holds; no Lava needed)."""
        self.products()
        try:
            return LearningRule.three_factor(**self.rules, x1_impulse=self.x1_impulse,
                                             x1_tau=self.x1_tau, t_epoch=self.t_epoch,
                                             rng_seed=rng_seed)
        except (ValueError, TypeError) as exc:
            raise UserError(f"projection {self.name}: Loihi's rule grammar refuses the "
                            f"rules: {exc}") from None

    def learning_rule(self, rng_seed: int | None = None):
        """Lava's ``Loihi3FLearningRule`` of this projection (needs lava-nc)."""
        rule = self.rule(rng_seed)
        try:
            return rule.to_lava()
        except UserError:
            raise
        except (ValueError, TypeError, IndexError, AttributeError, KeyError) as exc:
            raise UserError(f"projection {self.name}: Lava refuses the rules: {exc}") from None


@dataclass(frozen=True)
class Plan:
    """The fixed-point plan of one config: groups, projections, errors, notes."""

    source: str
    neuron: str
    options: dict
    groups: tuple[NeuronGroup, ...]
    projections: tuple[Projection, ...]
    approximations: tuple[Approximation, ...]
    notes: tuple[str, ...] = field(default=())

    def group(self, name: str) -> NeuronGroup:
        return _named(self.groups, "name", name)

    def projection(self, name: str) -> Projection:
        return _named(self.projections, "name", name)

    def approximation(self, quantity: str) -> Approximation:
        return _named(self.approximations, "quantity", quantity)

    def to_dict(self) -> dict:
        return {"source": self.source, "neuron": self.neuron, "options": dict(self.options),
                "groups": [_group_dict(g) for g in self.groups],
                "projections": [_projection_dict(p) for p in self.projections],
                "approximations": [a.to_dict() for a in self.approximations],
                "notes": list(self.notes)}

    @staticmethod
    def from_dict(raw) -> Plan:
        """Rebuild a plan from :meth:`to_dict` output; UserError on anything malformed."""
        d = _mapping(raw, "plan")
        groups = tuple(_group(g, f"plan.groups[{i}]")
                       for i, g in enumerate(_list(d, "groups", "plan")))
        projections = tuple(_projection(p, f"plan.projections[{i}]")
                            for i, p in enumerate(_list(d, "projections", "plan")))
        approx = tuple(_approximation(a, f"plan.approximations[{i}]")
                       for i, a in enumerate(_list(d, "approximations", "plan")))
        notes = tuple(_typed(n, str, f"plan.notes[{i}]")
                      for i, n in enumerate(_list(d, "notes", "plan")))
        return Plan(source=_get(d, "source", str, "plan"), neuron=_get(d, "neuron", str, "plan"),
                    options=_mapping(d.get("options"), "plan.options"), groups=groups,
                    projections=projections, approximations=approx, notes=notes)


def _named(items, attr: str, value: str):
    found = [x for x in items if getattr(x, attr) == value]
    if not found:
        raise KeyError(f"no {attr} {value!r} in the plan (have: "
                       f"{', '.join(getattr(x, attr) for x in items)})")
    return found[0]


def _group_dict(g: NeuronGroup) -> dict:
    out = {f.name: getattr(g, f.name) for f in fields(g) if f.name != "alif"}
    out["alif"] = None if g.alif is None else {f.name: getattr(g.alif, f.name)
                                                for f in fields(g.alif)}
    return out


def _projection_dict(p: Projection) -> dict:
    out = {f.name: getattr(p, f.name) for f in fields(p)}
    out["shape"] = list(p.shape)
    out["rules"] = dict(p.rules)
    out["products"] = {k: [x.to_dict() for x in v] for k, v in p.products().items()}
    return out


_KINDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _typed(value, kind, where: str, nullable: bool = False):
    if value is None and nullable:
        return None
    ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise UserError(f"{where} must be {_KINDS[kind]}{' or null' if nullable else ''}, "
                        f"got {value!r}")
    return value


def _mapping(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise UserError(f"{where} must be a mapping, got {type(value).__name__}")
    return value


def _get(d: dict, key: str, kind, where: str, nullable: bool = False):
    if key not in d:
        raise UserError(f"{where}: missing key '{key}'")
    return _typed(d[key], kind, f"{where}.{key}", nullable)


def _list(d: dict, key: str, where: str) -> list:
    value = d.get(key)
    if not isinstance(value, list):
        raise UserError(f"{where}.{key} must be a list, got {type(value).__name__}")
    return value


def _build(cls, d: dict, where: str, kinds: dict, **extra):
    values = {k: _get(d, k, kind, where, nullable) for k, (kind, nullable) in kinds.items()}
    return cls(**values, **extra)


_ALIF = {"da": (int, False), "beta_v": (int, False), "y1_per_leak": (float, True),
         "y1_leak": (int, True), "y1_per_y2": (float, True)}
_GROUP = {"name": (str, False), "model": (str, False), "size": (int, False), "du": (int, False),
          "dv": (int, False), "vth": (int, True), "voltage_scale": (float, False),
          "refractory_steps": (int, False), "y2_mant": (int, True), "y2_shift": (int, True),
          "y2_per_psi": (float, True), "y3_per_signal": (float, False), "signal": (str, False)}
_PROJECTION = {"name": (str, False), "pre": (str, False), "post": (str, False),
               "weight_exp": (int, False), "weight_per_unit": (float, False),
               "weight_max": (float, False), "x1_impulse": (int, False), "x1_tau": (int, False),
               "t_epoch": (int, False), "tag_per_unit": (float, True),
               "delay_per_unit": (float, True)}


def _group(raw, where: str) -> NeuronGroup:
    d = _mapping(raw, where)
    alif = d.get("alif")
    alif = None if alif is None else _build(AlifParams, _mapping(alif, f"{where}.alif"),
                                           f"{where}.alif", _ALIF)
    return _build(NeuronGroup, d, where, _GROUP, alif=alif)


def _projection(raw, where: str) -> Projection:
    d = _mapping(raw, where)
    shape = d.get("shape")
    if not (isinstance(shape, list) and len(shape) == 2
            and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in shape)):
        raise UserError(f"{where}.shape must be [n_post, n_pre] positive integers, got {shape!r}")
    rules = _mapping(d.get("rules"), f"{where}.rules")
    unknown = sorted(set(rules) - set(TARGETS))
    if unknown or not rules:
        raise UserError(f"{where}.rules: keys must be some of {', '.join(TARGETS)}, "
                        f"got {sorted(rules)}")
    proj = _build(Projection, d, where, _PROJECTION, shape=tuple(shape),
                  rules={k: _typed(v, str, f"{where}.rules.{k}") for k, v in rules.items()})
    for key, lo, hi in (("x1_impulse", 0, 127), ("x1_tau", 0, 255), ("t_epoch", 1, 63)):
        if not lo <= getattr(proj, key) <= hi:
            raise UserError(f"{where}.{key} = {getattr(proj, key)} is out of range "
                            f"(allowed: {lo}..{hi})")
    products = {k: [x.to_dict() for x in v] for k, v in proj.products().items()}
    if d.get("products") != products:
        raise UserError(f"{where}.products do not match its rule strings (allowed: the "
                        "products the rules define; re-export after editing a rule)")
    return proj


def _approximation(raw, where: str) -> Approximation:
    d = _mapping(raw, where)
    approx = Approximation(_get(d, "quantity", str, where), _get(d, "requested", float, where),
                           _get(d, "realised", float, where),
                           _get(d, "tau_error", float, where, nullable=True))
    if approx.to_dict() != d:
        raise UserError(f"{where}: relative_error does not match requested and realised")
    return approx
