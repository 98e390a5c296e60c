"""minigan: generative adversarial networks from first principles, on NumPy or CuPy.

Read it in this order (each module is one idea):

    backend     which array library (NumPy / CuPy), default dtype, seeded generators
    autograd    Tensor, Function, no_grad: the reverse-mode engine
    ops/        the differentiable operations, forward and backward side by side
    losses      binary cross-entropy (on logits and probabilities), MSE
    nn/         Module, Parameter and the layers
    optim       SGD and Adam over one flat parameter buffer
    gradcheck   finite-difference checking of any backward pass
"""

from . import losses, nn, ops, optim
from .autograd import Function, Tensor, no_grad
from .backend import BackendError, get_backend, seed, set_backend
from .gradcheck import GradcheckError, gradcheck
from .ops import concatenate, leaky_relu, relu, sigmoid, softplus, tanh

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Function", "no_grad", "set_backend", "get_backend", "seed", "BackendError",
    "gradcheck", "GradcheckError", "ops", "nn", "losses", "optim",
    "concatenate", "relu", "leaky_relu", "tanh", "sigmoid", "softplus",
]
