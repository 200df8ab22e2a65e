"""micrograd: a tiny scalar reverse-mode autograd engine that shows its work.

``Value`` is the graph node, and ``apply`` makes one from any registered op; ``ops`` is the
op registry; ``gradcheck`` holds backward() to central differences; ``nn`` has the networks
(``MLP``, the notes' ``Net221``), ``losses`` the losses, ``optim`` SGD, Adam and AdamW;
``train`` is the training loop and the notes' gradient descent; ``compile`` records a graph
once and replays it as generated Python; ``data`` small data sets; ``reference`` the notes'
hand formulas; ``check`` marks a hand derivation node by node. Drawing (``micrograd.graph``)
and the pages (``micrograd.page``, ``micrograd.training_page``) are imported on first use;
``micrograd.notebook`` shows a Value's drawing and the pages inline in Jupyter.
"""

from micrograd import data, losses, nn, notebook, ops, optim, reference
from micrograd.compiler import CompiledGraph, compile
from micrograd.engine import Value, apply
from micrograd.gradcheck import GradcheckError, gradcheck
from micrograd.nn import MLP, Layer, Module, Net221, Neuron
from micrograd.optim import SGD, Adam, AdamW
from micrograd.trace import check
from micrograd.train import gradient_descent, train

__all__ = [
    "MLP", "SGD", "Adam", "AdamW", "CompiledGraph", "GradcheckError", "Layer", "Module",
    "Net221", "Neuron", "Value", "apply", "check", "compile", "data", "gradcheck",
    "gradient_descent", "losses", "nn", "notebook", "ops", "optim", "reference", "train",
]
__version__ = "0.1.0"
