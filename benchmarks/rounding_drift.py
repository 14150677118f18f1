"""How Lava's learning arithmetic moves weights under zero-sum updates (a diagnostic).

The readout projection of a compiled preset (rule ``dw = -c u0 x1 (y3-64)``)
receives random presynaptic spikes and, every step, opposite errors on its
two outputs (``y3 = 64 + k`` and ``64 - k``, the sign drawn each step). The
exact update of every synapse pair then sums to zero at every step, so the
sum of all weights should not move. It does, for two reasons that are part
of Lava's ``LearningDense`` arithmetic (which the fast engine reproduces bit
for bit):

* **floor**: each product is right-shifted to 15 bits before scaling
  (``P >> (sum of factor widths + 4 - 15)``, an arithmetic shift), which
  rounds towards minus infinity; the script sums ``floor(P / 2^s) - P / 2^s``;
* **shared rounding**: the 16-bit accumulator is rounded to the 9-bit weight
  stochastically with one random number per step shared by every synapse,
  drawn from a generator Lava seeds with 2 whatever the rule's ``rng_seed``
  (``ConnVarRandom``), so every run, and every seed here, sees the same
  sequence. The rounding errors of all synapses then move together. The
  script sums ``w_new - A / 2^7`` and compares its spread with what
  independent (per-synapse) rounding of the same fractions would give,
  ``sqrt(sum f (1 - f))`` around zero.

On-chip e-prop makes many updates of a fraction of a weight unit per step,
which is where both effects matter (docs/onchip-learning.md).

The last line measures a **mirrored pair**, a design that stays inside Lava's
arithmetic (not in the product): a second ``LearningDense`` with the same
inputs stores ``u = -w_B`` under the negated rule (``du = +c u0 x1
(y3-64)``) and the neuron would subtract its output, so the weight is
``w_A + w_B = w_A - u``. Its floor is ``floor(-p) = -ceil(p)``, the opposite of
A's, and its accumulator's fraction is ``1 - f`` where A's is ``f``, so with the
shared random number it rounds the other way: both errors cancel in the sum.
Both connections update at the rule's full rate, so the pair's exact change
is zero too, with twice the updates of the single connection.

The last line runs the same connection under the **stochastic** model of the
learning engine (``fixed_point.rounding: stochastic``: unbiased product
shifts, a random number per synapse), the second CPU model of
``LearningDense`` in ``process_models/learning_dense``: its weight sum should
move only by the spread of independent rounding.

    .venv/bin/python benchmarks/rounding_drift.py [--preset NAME] [--steps T] [--seeds S]
"""
from __future__ import annotations

import argparse
import warnings

import numpy as np

from compilers import compile_plan
from lava_eprop.config import load
from lava_eprop.engine.learning_dense import LearningDenseEngine
from lava_eprop.engine.spec import network_spec
from lava_eprop.loihi.rule import LearningRule
from lava_eprop.reference.params import init_weights
from lava_eprop.tasks import make_task

READOUT = "recurrent->readout"


def _readout(preset: str):
    cfg = load(preset)
    task = make_task(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = compile_plan(cfg)
    w = init_weights(cfg, task.n_in, task.n_out, np.random.default_rng(0))
    spec = network_spec(cfg, plan, w, task.n_in, task.n_out, task.kind == "classification")
    return spec.projection(READOUT)


def _run(proj, seed: int, steps: int, rate: float, k: int) -> dict:
    n_post, n_pre = proj.weights.shape
    if n_post != 2:
        raise SystemExit(f"--preset needs a readout with 2 outputs, this one has {n_post}")
    engine = LearningDenseEngine(weights=np.zeros_like(proj.weights),
                                 learning_rule=proj.rule(seed), weight_exp=proj.weight_exp)
    mirror = LearningDenseEngine(weights=np.zeros_like(proj.weights),
                                 learning_rule=_negated(proj, seed), weight_exp=proj.weight_exp)
    stochastic = LearningDenseEngine(weights=np.zeros_like(proj.weights),
                                     learning_rule=proj.rule(seed), weight_exp=proj.weight_exp,
                                     rounding="stochastic")
    (rule,) = engine._plans            # the readout's single weight rule
    (product,) = rule.products
    rng = np.random.default_rng(seed)
    floor_units = round_units = var_indep = 0.0
    scale = 2.0 ** product.left_shift / 2 ** rule.round_bits   # accumulator -> weight
    for _ in range(steps):
        sign = 1 if rng.random() < 0.5 else -1
        y3 = np.array([[64 + sign * k, 64 - sign * k]])
        before = engine.weights[0].astype(np.int64)
        spikes = (rng.random((1, n_pre)) < rate).astype(np.int64)
        engine.step(spikes, 0, 0, 0, y3)
        mirror.step(spikes, 0, 0, 0, y3)
        stochastic.step(spikes, 0, 0, 0, y3)
        x1 = engine.x1[0].astype(np.int64)  # the rule reads x1 with this step's spike
        raw = product.mantissa * x1[None, :] * (y3[0, :, None] - 64)
        shifted = raw >> product.right_shift                 # what Lava adds (floor)
        floor_units += float((shifted - raw / 2.0 ** product.right_shift).sum()) * scale
        acc = (before << rule.round_bits) + (shifted << product.left_shift)
        round_units += float((engine.weights[0] - acc / 2.0 ** rule.round_bits).sum())
        frac = (acc % 2 ** rule.round_bits) / 2 ** rule.round_bits
        var_indep += float((frac * (1 - frac)).sum())
    return {"sum": float(engine.weights[0].astype(np.int64).sum()), "floor": floor_units,
            "round": round_units, "var_indep": var_indep,
            "pair": float(engine.weights[0].astype(np.int64).sum()
                          - mirror.weights[0].astype(np.int64).sum()),
            "stochastic": float(stochastic.weights[0].astype(np.int64).sum())}


def _negated(proj, seed: int):
    """The readout's rule with its weight update negated (the mirror's ``du``)."""
    plan = proj.plan
    (dw,) = plan.rules.values()
    if not dw.startswith("-") or " + " in dw or " - " in dw:
        raise SystemExit(f"expected a single negative product, got {dw!r}")
    return LearningRule.three_factor(dw=dw[1:], x1_impulse=plan.x1_impulse,
                                     x1_tau=plan.x1_tau, t_epoch=plan.t_epoch, rng_seed=seed)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="evidence-accumulation")
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--seeds", type=int, default=16)
    ap.add_argument("--rate", type=float, default=0.02, help="presynaptic spikes per step")
    ap.add_argument("--k", type=int, default=4, help="|y3 - 64| of each output")
    args = ap.parse_args()
    proj = _readout(args.preset)
    runs = [_run(proj, s, args.steps, args.rate, args.k) for s in range(args.seeds)]
    sums, rounds = (np.array([r[key] for r in runs]) for key in ("sum", "round"))
    floor = np.mean([r["floor"] for r in runs])
    indep = float(np.sqrt(np.mean([r["var_indep"] for r in runs])))
    n_syn = proj.weights.size
    print(f"{args.preset} readout ({n_syn} synapses, {proj.rule(0).dw}), {args.steps} "
          f"steps, {args.seeds} data seeds; exact change of the weight sum: 0")
    print(f"  weight sum change: mean {sums.mean():+.1f} weight units "
          f"({sums.mean() / n_syn:+.3f} per synapse), std {sums.std():.1f}")
    print(f"  of which the floor of the product shift: {floor:+.1f}")
    print(f"  of which stochastic rounding: mean {rounds.mean():+.1f}, std {rounds.std():.1f} "
          f"(independent rounding: 0 +- {indep:.1f})")
    pairs = np.array([r["pair"] for r in runs])
    print(f"  mirrored pair (w_A - u, twice the updates): mean {pairs.mean():+.1f}, "
          f"std {pairs.std():.1f}")
    sto = np.array([r["stochastic"] for r in runs])
    print(f"  stochastic model (fixed_point.rounding: stochastic): mean {sto.mean():+.1f}, "
          f"std {sto.std():.1f}")

if __name__ == "__main__":
    main()
