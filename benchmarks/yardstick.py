"""The yardstick of ``engine_speed.py``: a connection's synapse update as a plain C kernel.

:func:`c_source` writes, from a connection's encoded rules
(:func:`lava_eprop.engine.fused.encode_rules`), the per-synapse arithmetic
of the generated numba update (:mod:`lava_eprop.engine.rule_codegen`) as C:
weights and tags in int16, products in int32 (int64 where the plan says the
32-bit product may wrap), the stochastic model's SplitMix64 words or Lava's
per-rule thresholds, the events counted per row; no trace histories, no
per-neuron parts (they come in precomputed), no Python. OpenMP splits the
rows across threads. :class:`Yardstick` compiles it with the system's C
compiler, checks it bit for bit against the engine's update (weights, tags
and counters) and times it: its synapse-updates/s is the limit the engine
is measured against.

Only synapse-side factors that are synaptic variables (w, d, t) are
written; the benchmark's rules have no others.
"""
from __future__ import annotations

import ctypes
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from lava_eprop.engine import counter_rng
from lava_eprop.engine.fused import NON_NEGATIVE, NON_POSITIVE, SYNAPSE_SIDE, VARS
from lava_eprop.engine.rule_eval import ACC_MAX, ACC_MIN

_TARGET_ARRAY = {0: "w", 1: "t1", 2: "t2"}
_FACTOR_TARGET = {VARS["w"]: 0, VARS["d"]: 2, VARS["t"]: 1}

_PRELUDE = r"""
#include <stdint.h>
static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
#define GOLDEN 0x9E3779B97F4A7C15ULL
#define CLIP(v, lo, hi) ((v) < (lo) ? (lo) : ((v) > (hi) ? (hi) : (v)))

void update(int n, int n_post, int n_pre, int n_threads, int16_t *w, int16_t *t1,
            int16_t *t2, const int32_t *pre, const int32_t *post, const int64_t *thresholds,
            const uint64_t *keys, int64_t *row_counts, int repeats) {
    /* repeats: updates in one parallel region; a static schedule gives every
       thread the same rows each time, so no barrier is needed between them */
    #pragma omp parallel num_threads(n_threads)
    for (int repeat = 0; repeat < repeats; repeat++) {
    #pragma omp for schedule(static) nowait
    for (long row = 0; row < (long)n * n_post; row++) {
        long i = row / n_post, j = row % n_post;
"""


def _factor(var: int, const: int, is_sgn: int, width: int) -> str:
    if var not in _FACTOR_TARGET:
        raise NotImplementedError("the yardstick reads only w, d, t as synapse factors")
    value = f"(old{_FACTOR_TARGET[var]} + {const})" if const else f"old{_FACTOR_TARGET[var]}"
    if is_sgn:
        return f"(({value} > 0) - ({value} < 0))"
    return f"CLIP({value}, {-(2 ** width)}, {2 ** width - 1})"


def _rule(r: int, rule, products, factors, stochastic: bool) -> list[str]:
    target, shift, bits, sign, low, high, first, count = (int(v) for v in rule)
    rights = [int(products[p][3]) for p in range(first, first + count)]
    n_words, acc_slot, slots = counter_rng.draw_layout(bits, rights)

    def draw(slot, n_bits):
        return f"(int32_t)((word{slot[0]} >> {slot[1]}) & {2 ** n_bits - 1}ULL)"

    lines = [f"int32_t acc = old{target} << {shift}; int hit = 0; int64_t raw, shifted;",
             "int32_t value, total;"]
    if stochastic:
        lines += [f"uint64_t word{k} = mix64(key{r} + (syn * {n_words}ULL + {k + 1}ULL) * GOLDEN);"
                  for k in range(n_words)]
    for p in range(first, first + count):
        _, _, left, right, f_first, f_count, may_saturate = (int(v) for v in products[p])
        terms = [f"pre{p}[q]", f"post_{p}"] + [
            _factor(*(int(v) for v in factors[f, :4]))
            for f in range(f_first, f_first + f_count) if factors[f, 4] == SYNAPSE_SIDE]
        slot = slots[p - first] if stochastic else None
        if may_saturate:
            lines += [f"{{ int64_t term = (int64_t){' * (int64_t)'.join(terms)};",
                      "raw = (int32_t)term;",
                      f"shifted = ((raw{' + ' + draw(slot, right) if slot else ''}) >> {right})"
                      f" << {left};",
                      f"value = CLIP((int64_t)(int32_t)shifted, {ACC_MIN}, {ACC_MAX});",
                      "hit |= (raw != term) | (value != shifted); }"]
        else:
            lines += [f"{{ int32_t term = {' * '.join(terms)};",
                      f"value = ((term{' + ' + draw(slot, right) if slot else ''}) >> {right})"
                      f" << {left}; }}"]
        lines += ["total = acc + value;", f"acc = CLIP(total, {ACC_MIN}, {ACC_MAX});",
                  "hit |= acc != total;"]
    if sign == NON_NEGATIVE:
        lines += ["hit |= acc < 0;", "acc = acc < 0 ? 0 : acc;"]
    elif sign == NON_POSITIVE:
        lines += ["hit |= acc > 0;", "acc = acc > 0 ? 0 : acc;"]
    threshold = draw(acc_slot, bits) if stochastic else f"threshold{r}"
    lines += [f"value = (acc >> {bits}) + ((acc & {2 ** bits - 1}) > {threshold});",
              f"new{r} = CLIP(value, {low}, {high});",
              f"count{r} += hit | (new{r} != value);"]
    return ["{"] + ["    " + line for line in lines] + ["}"]


def c_source(rules: np.ndarray, products: np.ndarray, factors: np.ndarray,
             stochastic: bool) -> str:
    """C source of ``update`` for the encoded rules (``row_counts``: rows x rules)."""
    n_rules, n_products = len(rules), len(products)
    used = {int(rule[0]) for rule in rules}
    used |= {_FACTOR_TARGET[int(f[0])] for f in factors
             if f[4] == SYNAPSE_SIDE and int(f[0]) in _FACTOR_TARGET}
    row = [f"const int32_t *pre{p} = pre + (i * {n_products} + {p}) * n_pre;"
           for p in range(n_products)]
    row += [f"const int32_t post_{p} = post[(i * {n_products} + {p}) * n_post + j];"
            for p in range(n_products)]
    row += [f"const uint64_t key{r} = keys[i * {n_rules} + {r}];"
            f" const int32_t threshold{r} = (int32_t)thresholds[i * {n_rules} + {r}];"
            f" int64_t count{r} = 0;" for r in range(n_rules)]
    row += [f"{_TARGET_ARRAY[t]}_row = {_TARGET_ARRAY[t]} + row * n_pre;" for t in sorted(used)]
    row = [line if "_row =" not in line else "int16_t *" + line for line in row]
    row.append("for (long q = 0; q < n_pre; q++) {")
    synapse = [f"int32_t old{t} = {_TARGET_ARRAY[t]}_row[q];" for t in sorted(used)]
    synapse += [f"int32_t new{r};" for r in range(n_rules)]
    synapse.append("uint64_t syn = (uint64_t)(j * n_pre + q);")
    for r, rule in enumerate(rules):
        synapse += _rule(r, rule, products, factors, stochastic)
    synapse += [f"{_TARGET_ARRAY[int(rule[0])]}_row[q] = (int16_t)new{r};"
                for r, rule in enumerate(rules)]
    row += ["    " + line for line in synapse] + ["}"]
    row += [f"row_counts[row * {n_rules} + {r}] = count{r};" for r in range(n_rules)]
    return _PRELUDE + "".join(f"        {line}\n" for line in row) + "    }\n    }\n}\n"


class Yardstick:
    """The C update of one connection, compiled (``cc -O3 -march=native -fopenmp``).

    Raises ``RuntimeError`` when there is no C compiler.
    """

    def __init__(self, tables, stochastic: bool) -> None:
        compiler = shutil.which("cc") or shutil.which("gcc")
        if compiler is None:
            raise RuntimeError("no C compiler (cc) on PATH")
        self.targets = [int(rule[0]) for rule in tables[0]]   # keys are per target
        self.directory = Path(tempfile.mkdtemp(prefix="lava-eprop-yardstick-"))
        source = self.directory / "update.c"
        source.write_text(c_source(*tables, stochastic))
        library = self.directory / "update.so"
        subprocess.run([compiler, "-O3", "-march=native", "-fopenmp", "-shared", "-fPIC",
                        str(source), "-o", str(library)], check=True)
        self._update = ctypes.CDLL(str(library)).update

    def __call__(self, n_threads: int, w, t1, t2, pre, post, thresholds, keys, row_counts,
                 repeats: int = 1) -> None:
        """``repeats`` updates of every synapse, in place (arrays as
        :meth:`arguments` gives; the counts are the last update's)."""
        n, n_post, n_pre = w.shape
        self._update(*(ctypes.c_int(v) for v in (n, n_post, n_pre, n_threads)),
                     *(a.ctypes.data_as(ctypes.c_void_p)
                       for a in (w, t1, t2, pre, post, thresholds, keys, row_counts)),
                     ctypes.c_int(repeats))

    def arguments(self, weights, tag_1, tag_2, pre, post, thresholds, seeds, step: int):
        """The kernel's arrays for one learning step of the engine's state: int16
        synaptic variables, int32 per-neuron parts, the epoch's keys, row counts."""
        with np.errstate(over="ignore"):
            keys = np.array([[counter_rng.stream_key(np.uint64(s), np.uint64(step),
                                                     np.uint64(target))
                              for target in self.targets] for s in seeds], np.uint64)
        n, n_post, _ = weights.shape
        narrow = [np.ascontiguousarray(a, np.int16) for a in (weights, tag_1, tag_2)]
        return (*narrow, np.ascontiguousarray(pre, np.int32),
                np.ascontiguousarray(post, np.int32), np.ascontiguousarray(thresholds),
                keys, np.zeros((n * n_post, len(self.targets)), np.int64))

    def check(self, dense) -> None:
        """Assert that one update equals the engine's generated one on ``dense``'s
        state (a :class:`LearningDenseEngine` after some learning steps)."""
        (w, t1, t2, _, _, tx, ty, y0, _), _, static = dense.kernel_arguments(0)
        counters, pre, post, xh, yh, thresholds, seeds = static[6:]
        step = dense.time_step + 1
        arguments = self.arguments(w, t1, t2, pre, post, thresholds, seeds, step)
        self(1, *arguments)
        want = [a.copy() for a in (w, t1, t2)]
        counts = np.zeros_like(counters)
        dense._module.update(*want, pre, post, xh, yh, tx.copy(), ty.copy(), y0.copy(),
                             thresholds, counts, step, seeds)
        for got, expected in zip(arguments[:3], want):
            assert np.array_equal(got, expected), "the yardstick's update differs"
        got_counts = np.zeros_like(counts)
        for r, target in enumerate(self.targets):
            got_counts[target] = arguments[-1][:, r].sum()
        assert np.array_equal(got_counts, counts), "the yardstick's counters differ"

    def rate(self, arguments, n_threads: int, updates: int) -> tuple[float, float]:
        """Synapse-updates/s of ``updates`` updates in one call (one parallel
        region), by wall clock and per CPU-second."""
        self(n_threads, *arguments)  # warm
        start, cpu = time.perf_counter(), time.process_time()
        self(n_threads, *arguments, repeats=updates)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        return updates * arguments[0].size / wall, updates * arguments[0].size / cpu
