"""e-prop to Loihi 2: fixed-point plans and learning-engine rules.

The mapping: docs/architecture.md#the-loihi-2-mapping.

From a validated config (:mod:`lava_eprop.config`) the compiler produces a
:class:`~compilers.plan.Plan`: fixed-point neuron parameters and, per plastic
projection, Lava ``Loihi3FLearningRule`` strings implementing e-prop (Bellec
et al. 2020) on the learning engine:

=====================  ==========================================================
e-prop quantity        Loihi 2 resource (rule, ``u0``: every epoch, ``t_epoch=1``)
=====================  ==========================================================
presynaptic trace      ``x1``: impulse ``x1_impulse`` per spike, ``x1_tau = tau_m/dt``
pseudo-derivative psi  ``y2``, sent by the neuron
learning signal L      ``y3 = 64 + Lambda L``, read as ``(y3-64)``
filtered eligibility   tag ``t``: ``dt = c_t u0 x1 y2 - c_k u0 t`` (``c_k = 1-kappa``)
ALIF eps               ``d`` (tag_2): ``dd = c_d u0 x1 y2 - c_q u0 y1 d``, with
                       ``y1 ~ (1-rho) + beta psi``; ``dt`` adds ``- c_b u0 y2 d``
weight update          ``dw = -c_w u0 t (y3-64)``; readout ``dw = -c_o u0 x1 (y3-64)``
=====================  ==========================================================

What Loihi 2 cannot hold is refused with a one-line
:class:`~lava_eprop.errors.UserError` ``<parameter> = <value>: <why>
(allowed: <range>)``; near misses warn (:class:`~compilers.checks.FixedPointWarning`).

Public API: :func:`compile_plan`, :func:`export_rules`, :func:`load_document`,
:func:`load_rules`. Nothing here imports the runtime (reference model, tasks,
process models).
"""
from compilers.compile import compile_plan
from compilers.export import export_rules, load_document, load_rules

__all__ = ["compile_plan", "export_rules", "load_document", "load_rules"]
