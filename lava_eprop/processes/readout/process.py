"""The import path of earlier versions: :class:`process_models.readout.process.LeakyReadout`."""
from process_models.readout.process import LeakyReadout

__all__ = ["LeakyReadout"]
