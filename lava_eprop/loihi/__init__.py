"""Loihi 2 learning-engine definitions the product owns, without Lava.

Lava 0.10.0 (archived, Python 3.10 and NumPy < 2 only) defines the widths,
names and the rule grammar the fast engine and the compiler need. This
package holds the product's own copy of them, so that everything except
Lava's runtime works on any supported Python:

* :mod:`~lava_eprop.loihi.symbols` and :mod:`~lava_eprop.loihi.constants`:
  Lava's ``string_symbols`` and ``constants`` (plus ``SignMode`` and
  ``clip_weights`` of ``lava.utils.weightutils``), same names and values;
* :mod:`~lava_eprop.loihi.grammar`: a parser of the sum-of-products rule
  strings that yields the products Lava's ``ProductSeries`` yields;
* :mod:`~lava_eprop.loihi.rule`: :class:`~lava_eprop.loihi.rule.LearningRule`,
  the engine's stand-in for Lava's ``Loihi*LearningRule`` objects.

The tests compare all three with Lava where Lava is installed.
"""

#: The Lava release these definitions copy.
LAVA_NC_VERSION = "0.10.0"
