"""The engine: arrays, automatic differentiation, the layers and the optimisers. Nothing here knows about GANs.

Read it in this order (each module is one idea):

    backend     which array library (NumPy / CuPy), default dtype, seeded generators
    autograd    Tensor, Function, no_grad, grad: the reverse-mode engine, to any order of derivative
    ops/        the differentiable operations, forward and backward side by side (arithmetic, reduce,
                shape, linalg, activations, conv, batchnorm, layernorm, instancenorm, dropout, resample),
                and ops/reference.py, the slow twin of each fast kernel, to read beside it
    losses      binary cross-entropy (on logits and probabilities), softmax cross-entropy, MSE
    nn/         Module, Parameter and the layers (linear, conv, norm, dropout, maxout, noise, weight norm,
                and for images instance norm, resampling, residual blocks, the U-Net)
    optim       SGD, Adam and RMSprop over one flat parameter buffer
    gradcheck   finite-difference checking of any backward pass (gradcheck) and of its backward (gradgradcheck)
    checks      the argument checks the public API shares: finite numbers, arrays loaded from saved state
"""

from . import backend, losses, nn, ops, optim
from .autograd import Function, Tensor, grad, no_grad
from .backend import BackendError, get_backend, seed, set_backend
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
