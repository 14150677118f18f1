"""The import path of earlier versions: :class:`process_models.error.process.EpropError`."""
from process_models.error.process import EpropError

__all__ = ["EpropError"]
