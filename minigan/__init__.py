"""minigan: generative adversarial networks from first principles, on NumPy or CuPy.

The package has three layers, one folder each, read in this order, and the lab that shows them at work:

    engine/   arrays, autograd, ops, layers, optimisers, losses, gradient checks (no GANs in it)
    gans/     Goodfellow et al. 2014, Algorithm 1, its variants, the MNIST models, epochs of training
    tools/    data, files, pictures, evaluation with its classifier, the latent space
    lab/      python -m minigan.lab: a 2-D GAN trained live in the browser, the code beside each view

The engine's public surface is re-exported here, PyTorch-like: ``minigan.Tensor``, ``minigan.nn.Linear``,
``minigan.optim.Adam``, ``minigan.grad`` (as ``torch.autograd.grad``, to any order). ``gans``, ``tools`` and ``lab``
are imported on demand (``from minigan.gans import gan``), so ``import minigan`` stays light.
"""

from .engine import backend, losses, nn, ops, optim
from .engine.autograd import Function, Tensor, grad, no_grad
from .engine.backend import BackendError, get_backend, seed, set_backend
from .engine.gradcheck import GradcheckError, gradcheck, gradgradcheck
from .engine.ops import concatenate, leaky_relu, relu, sigmoid, softplus, tanh

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Function", "no_grad", "grad", "set_backend", "get_backend", "seed", "BackendError",
    "gradcheck", "gradgradcheck", "GradcheckError", "backend", "ops", "nn", "losses", "optim",
    "concatenate", "relu", "leaky_relu", "tanh", "sigmoid", "softplus",
]
