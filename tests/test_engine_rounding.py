"""Lava's rounding of learning updates against the ``unbiased`` what-if (``fixed_point.rounding``).

Known values come from hand derivations of Lava's semantics
(:mod:`lava_eprop.engine.rule_eval`, steps 2b and 4):

* ``dw = 2^-7 * u0 * t`` with ``t = 3`` fixed (no ``dt`` rule): the product
  has widths 9 + 4 < 15, so no right shift, and adds 3 accumulator units
  (3/128 of a weight unit) every step. Lava rounds the accumulator with one
  random number per step for every synapse, so all synapses hold the same
  weight at every step; the expected weight after ``n`` steps is ``3 n / 128``.
* ``dw = 2^0 * u0 * t * d`` with ``t = 3``, ``d = 10``: widths 9 + 9 + 4 - 15
  give a right shift of 7, so Lava adds ``floor(30 / 128) << 7 = 0``: the
  weights never move. Unbiased rounding adds one weight unit with probability
  30/128 per step: expected ``30 n / 128``.

``unbiased_shift`` and ``per_synapse`` each change one of the two steps.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from lava.magma.core.learning.learning_rule import Loihi2FLearningRule
from test_engine_network_run import (
    _assert_same_records,
    _assert_same_state,
    _data,
    _run,
    _stepped,
)

from lava_eprop.config import SCHEMA
from lava_eprop.engine import fused
from lava_eprop.engine.learning_dense import LearningDenseEngine
from lava_eprop.engine.network import FastNetwork
from lava_eprop.engine.rule_codegen import ROUNDINGS

pytestmark = pytest.mark.skipif(not fused.AVAILABLE, reason="unbiased rounding needs numba")

N_POST, N_PRE = 10, 10


def _engine(rule: str, rounding: str, *, t: int, d: int = 0, seed: int = 0):
    engine = LearningDenseEngine(weights=np.zeros((N_POST, N_PRE), int),
                                 learning_rule=Loihi2FLearningRule(dw=rule),
                                 tag_1=np.full((N_POST, N_PRE), t),
                                 tag_2=np.full((N_POST, N_PRE), d), rounding=rounding)
    engine.seed_rounding(seed)
    return engine


def _weights_after(engine: LearningDenseEngine, steps: int) -> list[np.ndarray]:
    s_in = np.zeros((1, N_PRE), int)
    history = []
    for _ in range(steps):
        engine.step(s_in)
        history.append(engine.weights[0].copy())
    return history


@pytest.mark.parametrize("rounding", ["lava", "unbiased_shift"])
def test_lava_rounds_every_synapse_with_one_number(rounding):
    history = _weights_after(_engine("2^-7 * u0 * t", rounding, t=3), 1000)
    assert all(np.ptp(w) == 0 for w in history)   # one random number for all synapses
    assert 0 < history[-1][0, 0] < 60              # expected 3 * 1000 / 128 = 23.4


@pytest.mark.parametrize("rounding", ["unbiased", "per_synapse"])
def test_per_synapse_rounding_has_the_exact_mean(rounding):
    steps = 1000
    final = _weights_after(_engine("2^-7 * u0 * t", rounding, t=3), steps)[-1]
    expected, p = 3 * steps / 128, 3 / 128
    sd_mean = np.sqrt(steps * p * (1 - p) / final.size)   # binomial, 100 synapses
    assert np.ptp(final) > 0
    assert abs(final.mean() - expected) < 5 * sd_mean
    assert final.std() > 2                          # binomial sd per synapse: 4.8


@pytest.mark.parametrize("rounding", ["lava", "per_synapse"])
def test_lava_floors_a_shifted_product(rounding):
    lava = _weights_after(_engine("2^0 * u0 * t * d", rounding, t=3, d=10), 600)[-1]
    assert not lava.any()                           # floor(30 / 128) = 0 every step


@pytest.mark.parametrize("rounding", ["unbiased", "unbiased_shift"])
def test_unbiased_shift_keeps_a_shifted_product_on_average(rounding):
    steps = 600
    final = _weights_after(_engine("2^0 * u0 * t * d", rounding, t=3, d=10), steps)[-1]
    expected, p = 30 * steps / 128, 30 / 128
    assert abs(final.mean() - expected) < 5 * np.sqrt(steps * p * (1 - p) / final.size)


def test_the_config_offers_the_engines_roundings():
    assert SCHEMA["fixed_point"]["rounding"].choices == ROUNDINGS
    assert SCHEMA["fixed_point"]["rounding"].default == "lava"


def test_unbiased_rounding_needs_the_compiled_path():
    with pytest.raises(ValueError, match="compiled path"):
        LearningDenseEngine(weights=np.zeros((2, 2), int),
                            learning_rule=Loihi2FLearningRule(dw="2^-7 * u0 * t"),
                            fused=False, rounding="unbiased")
    with pytest.raises(ValueError, match="rounding must be one of"):
        LearningDenseEngine(weights=np.zeros((2, 2), int),
                            learning_rule=Loihi2FLearningRule(dw="2^-7 * u0 * t"),
                            rounding="nearest")


def test_unbiased_network_is_reproducible_and_its_run_equals_its_steps():
    """Networks built and run one after the other draw the same numbers for the same seed
    (the generator is numba's, seeded when a network is built)."""
    spec, data = _data("alif_random", 200)   # ALIF: rules of w, t and d
    spec = replace(spec, rounding="unbiased")
    compiled = FastNetwork(spec, 2, seed=3)
    got = _run(compiled, data, 0, 200)
    assert compiled._run_kernel is not None, "the run was not compiled"
    stepped = FastNetwork(spec, 2, seed=3)
    _assert_same_records(got, _stepped(stepped, data, 0, 200))
    _assert_same_state(compiled, stepped)
    other = FastNetwork(spec, 2, seed=4)
    _run(other, data, 0, 200)
    assert any((other.dense[p].weights != compiled.dense[p].weights).any()
               for p in spec.projections)
    lava = FastNetwork(replace(spec, rounding="lava"), 2, seed=3)
    _run(lava, data, 0, 200)
    assert any((lava.dense[p].weights != compiled.dense[p].weights).any()
               for p in spec.projections)


def test_cli_trains_with_unbiased_rounding_on_the_fast_engine_only(tmp_path):
    from test_cli import cli

    cfg = tmp_path / "pg.yaml"
    cfg.write_text("task: {name: pattern-generation, n_steps: 60, n_in: 10}\n"
                   "network: {n_rec: 10}\nfixed_point: {rounding: unbiased}\n")
    res = cli("train", cfg, "--engine", "lava", "--iterations", 1, "--out", tmp_path / "lava")
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.startswith("error: fixed_point.rounding = unbiased with --engine lava")
    assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "lava").exists()
    res = cli("train", cfg, "--engine", "fixed", "--iterations", 2, "--out", tmp_path / "fixed",
              "--quiet")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "fixed" / "network.npz").exists()
    res = cli("deploy", tmp_path / "fixed" / "network.npz", "--sim", "--learn", "--out",
              tmp_path / "deploy")
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.startswith("error: fixed_point.rounding = unbiased with deploy --learn")
    assert not (tmp_path / "deploy").exists()
    res = cli("show-rule", cfg)
    assert res.returncode == 0 and "fixed_point.rounding = unbiased" in res.stdout
