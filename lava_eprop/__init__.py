"""lava-eprop: e-prop for recurrent spiking networks, from a float reference to
Loihi 2 microcode learning rules in Lava."""
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lava-eprop")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
