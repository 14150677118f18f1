"""Quantization error of the fixed-point e-prop network.

Overview: docs/architecture.md#quantization-error.

Three models run on the same inputs from the same initial weights: the
**paper** float reference (:mod:`lava_eprop.reference`), the **twin**
(:mod:`lava_eprop.quant.twin`: the fixed-point model's own dynamics in
float64) and the **fixed** point (:class:`lava_eprop.engine.FastNetwork`).
Paper vs twin is the model mismatch, twin vs fixed the quantization;
:mod:`lava_eprop.quant.report` measures both.
"""
