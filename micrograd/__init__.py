"""micrograd: a tiny scalar reverse-mode autograd engine that shows its work.

``Value`` is the graph node; ``ops`` the op registry; ``nn`` the networks (``MLP``, the notes'
``Net221``) and losses; ``optim`` SGD, the notes' gradient descent and the training loop;
``data`` small data sets; ``reference`` the notes' hand formulas. Drawing (``micrograd.graph``)
and step-through backprop (``micrograd.trace``) are imported on first use.
"""

from micrograd import data, nn, ops, optim, reference
from micrograd.engine import Value
from micrograd.nn import MLP, Layer, Module, Net221, Neuron
from micrograd.optim import SGD, gradient_descent, train

__all__ = [
    "MLP", "SGD", "Layer", "Module", "Net221", "Neuron", "Value",
    "data", "gradient_descent", "nn", "ops", "optim", "reference", "train",
]
__version__ = "0.1.0"
