"""The two models of the learning engine's rounding (``fixed_point.rounding``).

Known values come from hand derivations of the semantics in
:mod:`lava_eprop.engine.rule_eval` (steps 2b and 4) and
:mod:`process_models.learning_dense.models`:

* ``dw = 2^-7 * u0 * t`` with ``t = 3`` fixed (no ``dt`` rule): widths
  9 + 4 < 15, so no right shift; the product adds 3 accumulator units (3/128
  of a weight unit) every step. Lava's model rounds the accumulator with one
  random number per step for every synapse, so all synapses hold the same
  weight at every step; the stochastic model rounds each synapse with its
  own number: the weights spread binomially around ``3 n / 128``.
* ``dw = 2^0 * u0 * t * d`` with ``t = 3``, ``d = 10``: widths 9 + 9 + 4 - 15
  give a right shift of 7, so Lava's model adds ``floor(30 / 128) << 7 = 0``:
  the weights never move. The stochastic model adds one weight unit with
  probability 30/128 per step: expected ``30 n / 128``.
* the probe of the module docstring of :mod:`process_models.learning_dense.models`:
  ``dw = 2^-3 * u0`` (no factor, no shift) adds 1/8 of a unit to 1000 zero
  weights in one epoch; per-synapse rounding moves a binomial number of them
  (mean 125, sd 10.5), a shared number none or all of them.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from engine_scenarios import (
    assert_same_records,
    assert_same_state,
    run_step_by_step,
    run_steps,
    scenario_data,
)
from lava.magma.core.learning.learning_rule import Loihi2FLearningRule
from lava_helpers import run_lava_learning_dense

from lava_eprop.config import SCHEMA
from lava_eprop.engine import counter_rng
from lava_eprop.engine.learning_dense import LearningDenseEngine
from lava_eprop.engine.network import FastNetwork
from lava_eprop.engine.rule_codegen import ROUNDINGS

N_POST, N_PRE = 10, 10


def _engine(rule: str, rounding: str, *, t: int, d: int = 0, seed: int = 0, fused=True):
    return LearningDenseEngine(weights=np.zeros((N_POST, N_PRE), int),
                               learning_rule=Loihi2FLearningRule(dw=rule, rng_seed=seed),
                               tag_1=np.full((N_POST, N_PRE), t),
                               tag_2=np.full((N_POST, N_PRE), d), rounding=rounding,
                               fused=fused)


def _weights_after(engine: LearningDenseEngine, steps: int) -> list[np.ndarray]:
    s_in = np.zeros((1, N_PRE), int)
    history = []
    for _ in range(steps):
        engine.step(s_in)
        history.append(engine.weights[0].copy())
    return history


def test_lava_rounds_every_synapse_with_one_number():
    history = _weights_after(_engine("2^-7 * u0 * t", "lava", t=3), 1000)
    assert all(np.ptp(w) == 0 for w in history)   # one random number for all synapses
    assert 0 < history[-1][0, 0] < 60              # expected 3 * 1000 / 128 = 23.4


@pytest.mark.parametrize("fused", [True, False])
def test_stochastic_model_rounds_each_synapse_with_the_exact_mean(fused):
    steps = 1000
    final = _weights_after(_engine("2^-7 * u0 * t", "stochastic", t=3, fused=fused), steps)[-1]
    expected, p = 3 * steps / 128, 3 / 128
    sd_mean = np.sqrt(steps * p * (1 - p) / final.size)   # binomial, 100 synapses
    assert abs(final.mean() - expected) < 5 * sd_mean
    assert 2 < final.std() < 8                      # binomial sd per synapse: 4.8


def test_lava_floors_a_shifted_product():
    lava = _weights_after(_engine("2^0 * u0 * t * d", "lava", t=3, d=10), 600)[-1]
    assert not lava.any()                           # floor(30 / 128) = 0 every step


@pytest.mark.parametrize("fused", [True, False])
def test_stochastic_model_keeps_a_shifted_product_on_average(fused):
    steps = 600
    engine = _engine("2^0 * u0 * t * d", "stochastic", t=3, d=10, fused=fused)
    final = _weights_after(engine, steps)[-1]
    expected, p = 30 * steps / 128, 30 / 128
    assert abs(final.mean() - expected) < 5 * np.sqrt(steps * p * (1 - p) / final.size)


@pytest.mark.parametrize("stochastic", [False, True])
def test_the_hardware_probe_tells_the_two_models_apart(stochastic):
    """Lava's model and the stochastic model, each in Lava, on the probe that would
    settle the question on a chip."""
    n = 1000
    out = run_lava_learning_dense(
        weights=np.zeros((1, n), int), learning_rule=Loihi2FLearningRule(dw="2^-3 * u0"),
        s_in=np.zeros((1, n), int), record=("weights",), stochastic=stochastic)
    moved = int(np.count_nonzero(out["weights"][-1]))
    assert set(np.unique(out["weights"][-1])) <= {0, 1}
    if stochastic:
        assert 125 - 5 * 10.5 < moved < 125 + 5 * 10.5   # binomial(1000, 1/8)
    else:
        assert moved in (0, n)


def test_stochastic_numbers_depend_on_seed_step_variable_and_synapse_only():
    with np.errstate(over="ignore"):
        key = counter_rng.stream_key(7, 12, 0)
        assert key == counter_rng.stream_key(7, 12, 0)
        assert len({key, counter_rng.stream_key(8, 12, 0), counter_rng.stream_key(7, 13, 0),
                    counter_rng.stream_key(7, 12, 1)}) == 4
        words = counter_rng.words(key, np.arange(4096), 1, 0)
    assert np.unique(words).size == 4096
    low = counter_rng.bits(words, 0, 7)
    assert low.min() >= 0 and low.max() < 128
    counts = np.bincount(low, minlength=128)              # uniform: chi-square, 127 dof
    chi2 = ((counts - 32) ** 2 / 32).sum()
    assert chi2 < 127 + 5 * np.sqrt(2 * 127)


def test_draws_are_packed_into_words_in_the_rules_order():
    # accumulator (7 bits), then products with a shift; a shift of 0 draws nothing
    assert counter_rng.draw_layout(7, [3, 0, 5]) == (1, (0, 0), ((0, 7), None, (0, 10)))
    assert counter_rng.draw_layout(7, [16, 16, 16, 16]) == (
        2, (0, 0), ((0, 7), (0, 23), (0, 39), (1, 0)))


def test_the_config_offers_the_engines_roundings():
    assert SCHEMA["fixed_point"]["rounding"].choices == ROUNDINGS == ("lava", "stochastic")


def test_an_unknown_rounding_is_refused():
    with pytest.raises(ValueError, match="rounding must be one of"):
        LearningDenseEngine(weights=np.zeros((2, 2), int),
                            learning_rule=Loihi2FLearningRule(dw="2^-7 * u0 * t"),
                            rounding="nearest")


def test_stochastic_network_is_reproducible_and_its_run_equals_its_steps():
    spec, data = scenario_data("alif_random", 200)   # ALIF: rules of w, t and d
    spec = replace(spec, rounding="stochastic")
    compiled = FastNetwork(spec, 2, seed=3)
    got = run_steps(compiled, data, 0, 200)
    assert compiled._run_kernels, "the run was not compiled"
    stepped = FastNetwork(spec, 2, seed=3)
    assert_same_records(got, run_step_by_step(stepped, data, 0, 200))
    assert_same_state(compiled, stepped)
    other = FastNetwork(spec, 2, seed=4)
    run_steps(other, data, 0, 200)
    assert any((other.dense[p].weights != compiled.dense[p].weights).any()
               for p in spec.projections)
    lava = FastNetwork(replace(spec, rounding="lava"), 2, seed=3)
    run_steps(lava, data, 0, 200)
    assert any((lava.dense[p].weights != compiled.dense[p].weights).any()
               for p in spec.projections)


def test_cli_trains_with_the_stochastic_model_on_both_engines_identically(tmp_path):
    from support import cli

    cfg = tmp_path / "pg.yaml"
    cfg.write_text("task: {name: pattern-generation, n_steps: 60, n_in: 10}\n"
                   "network: {n_rec: 10}\nfixed_point: {rounding: stochastic}\n")
    nets = {}
    for engine in ("fixed", "lava"):
        res = cli("train", cfg, "--engine", engine, "--iterations", 2, "--out",
                  tmp_path / engine, "--quiet")
        assert res.returncode == 0, res.stderr
        with np.load(tmp_path / engine / "network.npz") as f:
            nets[engine] = {k: f[k] for k in ("w_in", "w_rec", "w_out", "fb")}
    for name, w in nets["fixed"].items():
        np.testing.assert_array_equal(w, nets["lava"][name], err_msg=name)
    res = cli("deploy", tmp_path / "fixed" / "network.npz", "--sim", "--learn", "--out",
              tmp_path / "deploy")
    assert res.returncode == 0, res.stderr
    res = cli("show-rule", cfg)
    assert res.returncode == 0 and "fixed_point.rounding = stochastic" in res.stdout


def test_compiled_stochastic_update_reads_a_second_word_as_lavas_model():
    """Four products ``t * d * w`` (widths 9 + 9 + 9 + 4 - 15: right shift 16) and
    the 7 rounding bits need 71 bits, two words per synapse
    (``draw_layout(7, [16] * 4)``); small ``t, d, w`` keep each shifted product
    within a few units of 0, so its random rounding decides it. The compiled
    update gives the weights and counters of the interpreted one, and instance 0
    the weights of this package's Lava model of the stochastic rounding, which
    computes every word from its synapse index (the update carries each word's
    counter from synapse to synapse)."""
    rule = ("u0 * t * d * w + 2^-1 * u0 * t * d * w + 2^-2 * u0 * t * d * w"
            " + 2^1 * u0 * t * d * w")
    rng = np.random.default_rng(3)
    shape = (2, N_POST, N_PRE)
    initial = {"weights": rng.integers(-40, 40, shape), "tag_1": rng.integers(-40, 40, shape),
               "tag_2": rng.integers(0, 40, shape)}
    engines = [LearningDenseEngine(**initial, n_instances=2, rng_seeds=[5, 6], fused=fused,
                                   learning_rule=Loihi2FLearningRule(dw=rule, rng_seed=5),
                                   rounding="stochastic") for fused in (True, False)]
    for _ in range(4):
        for engine in engines:
            engine.step(np.zeros((2, N_PRE), int))
    compiled, interpreted = engines
    assert compiled.fused and not interpreted.fused
    assert not np.array_equal(compiled.weights, np.asarray(initial["weights"]))
    assert np.array_equal(compiled.weights, interpreted.weights)
    assert compiled.counters == interpreted.counters
    lava = run_lava_learning_dense(
        weights=initial["weights"][0], tag_1=initial["tag_1"][0], tag_2=initial["tag_2"][0],
        learning_rule=Loihi2FLearningRule(dw=rule, rng_seed=5),
        s_in=np.zeros((4, N_PRE), int), record=("weights",), stochastic=True)
    assert np.array_equal(compiled.weights[0], lava["weights"][-1])
