"""Lava processes of e-prop: one folder per process.

The mapping they implement: docs/architecture.md#the-loihi-2-mapping.

Their models live in :mod:`process_models` (same folder names); select them
with :func:`lava_eprop.lava_run.run_config`.
"""
from lava_eprop.lava_runtime import import_lava_runtime

import_lava_runtime()
