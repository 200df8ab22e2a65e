"""micrograd: a tiny scalar reverse-mode autograd engine that shows its work."""

from micrograd import ops
from micrograd.engine import Value

__all__ = ["Value", "ops"]
__version__ = "0.1.0"
