"""minigan: generative adversarial networks from first principles, on NumPy or CuPy.

Read it in this order (each module is one idea):

    backend     which array library (NumPy / CuPy), default dtype, seeded generators
    autograd    Tensor, Function, no_grad: the reverse-mode engine
    ops/        the differentiable operations, forward and backward side by side
                (arithmetic, reduce, shape, linalg, activations, conv, batchnorm, dropout)
    losses      binary cross-entropy (on logits and probabilities), MSE
    nn/         Module, Parameter and the layers (linear, conv, norm, dropout, maxout)
    optim       SGD and Adam over one flat parameter buffer
    gradcheck   finite-difference checking of any backward pass
    gan         Goodfellow et al. 2014, Algorithm 1
    training    epochs of it: the history of statistics, progress lines, a stop at the first NaN
    models      the MLP GAN and DCGAN for MNIST
    conditional_gan
                Mirza & Osindero 2014: the label fed to G and D, a digit on demand
    data/       MNIST, shipped with the package, and seeded minibatches; a 2-D ring of 8 Gaussians
    io, plots   atomic files and checkpoints; sample grids and training curves
    classifier  a small MNIST CNN trained with minigan, to judge samples
    evaluate    label histogram, modes, Fréchet distance, Parzen window (python -m minigan.evaluate)
    latent      interpolation (lerp, slerp) and vector arithmetic in a generator's noise space

``gan``, ``training``, ``models``, ``conditional_gan``, ``data``, ``io``, ``plots``, ``classifier``,
``evaluate`` and ``latent`` are imported on demand (``from minigan import models``), so ``import minigan``
stays light.
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
