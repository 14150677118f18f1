"""Hypothesis strategies of compiler-relevant configs (no Lava).

Used by ``test_compiler_export.py``, ``test_compiler_messages.py`` and
``test_loihi_vs_lava.py``.
"""
from hypothesis import strategies as st

# Realistic but wide (a decade or more around the presets' values); EDGES draws each key
# either from there or from its whole config-schema range.
RANGES = {"dt": st.sampled_from([0.5, 1.0, 2.0]), "tau": st.floats(2.0, 100.0),
          "tau_a": st.floats(10.0, 5000.0), "rate": st.floats(0.0, 60.0),
          "v_th": st.floats(0.02, 5.0), "scale": st.floats(0.1, 5.0),
          "beta": st.one_of(st.none(), st.floats(0.0, 0.5)), "gamma": st.floats(0.05, 2.0),
          "eta": st.floats(1e-4, 0.1), "tolerance": st.floats(0.2, 1.0),
          "weight_range": st.floats(1.0, 10.0), "error_max": st.floats(0.1, 10.0),
          "exp": st.one_of(st.none(), st.none(), st.integers(-8, 7))}
TINY = 1e-300
WIDE = {"dt": st.floats(TINY, 100.0), "tau": st.floats(TINY, 1e6), "tau_a": st.floats(TINY, 1e7),
        "rate": st.floats(0.0, 1e4), "v_th": st.floats(TINY, 1e6), "scale": st.floats(0.0, 1e6),
        "beta": st.floats(0.0, 1e3), "gamma": st.floats(TINY, 10.0), "eta": st.floats(TINY, 1e6),
        "tolerance": st.floats(TINY, 1.0), "weight_range": st.floats(TINY, 1e3),
        "error_max": st.floats(TINY, 1e6), "exp": st.integers(-8, 7)}
EDGES = {k: st.one_of(v, WIDE[k]) for k, v in RANGES.items()}


def configs(r):
    """Config dicts drawing every compiler-relevant key from the ranges ``r``."""
    return st.fixed_dictionaries({
        "task": st.fixed_dictionaries({
            "name": st.sampled_from(["pattern-generation", "evidence-accumulation",
                                     "store-recall"]),
            "input_rate_hz": r["rate"]}),
        "network": st.fixed_dictionaries({
            "n_rec": st.integers(1, 300), "neuron": st.sampled_from(["lif", "alif"]),
            "dt": r["dt"], "tau_m": r["tau"], "tau_a": r["tau_a"], "tau_out": r["tau"],
            "v_th": r["v_th"], "beta": r["beta"], "refractory_steps": st.integers(0, 10),
            "dampening": r["gamma"], "input_scaling": st.booleans(),
            "readout_scaling": st.booleans(), "w_in_scale": r["scale"],
            "w_rec_scale": r["scale"], "w_out_scale": r["scale"]}),
        "training": st.fixed_dictionaries({
            "feedback": st.sampled_from(["symmetric", "random", "adaptive"]),
            "feedback_scale": r["scale"].filter(lambda x: x > 0), "learning_rate": r["eta"],
            "reg_rate_hz": r["rate"]}),
        "fixed_point": st.fixed_dictionaries({
            "headroom": st.floats(1.0, 16.0), "weight_range": r["weight_range"],
            "error_max": r["error_max"], "drop_alif_eps": st.booleans(),
            "weight_exp_in": r["exp"], "tolerance": r["tolerance"]}),
    })
