"""Differentiable operations, one family per module; each op's forward and backward sit together.

* ``arithmetic``  + − × ÷, negation, power, exp, log, casts
* ``reduce``      sum, mean, max over axes; logsumexp
* ``shape``       reshape, transpose, slicing, concatenation
* ``linalg``      matmul and the fused dense layer ``linear``
* ``activations`` ReLU, LeakyReLU, tanh, sigmoid, softplus, softmax, Gumbel-softmax
* ``conv``        conv2d and its adjoint conv_transpose2d (channels-last, im2col + GEMM)
* ``im2col``      im2col and col2im: the patches of a convolution as one matrix, and their sum back
* ``batchnorm``   batch normalisation (channels-last) with a fused backward
* ``layernorm``   layer normalisation (per example) with a fused backward
* ``dropout``     inverted dropout
* ``instancenorm`` instance normalisation (channels-last), per image and channel
* ``resample``    pixel shuffle and its inverse, nearest-neighbour upsampling
* ``reference``   the slow twins: each fast kernel above written the obvious way (loops, one slice per
                  kernel offset, the papers' algorithms line by line); the tests' oracles, never used in
                  training and not imported here

This module also gives ``Tensor`` its operators (``x + y``, ``x @ w``, ``x.sum()``, ``x[1:]`` …), so
that the engine in ``autograd.py`` stays free of any particular op.
"""

from ..autograd import Tensor
from .activations import gumbel_softmax, leaky_relu, relu, sigmoid, softmax, softplus, tanh
from .arithmetic import add, astype, clamp_min, div, exp, log, mul, neg, pow, sub
from .batchnorm import batch_norm
from .layernorm import layer_norm
from .conv import conv2d, conv_transpose2d
from .dropout import dropout
from .instancenorm import instance_norm
from .linalg import linear, matmul
from .reduce import logsumexp, max, mean, sum
from .resample import pixel_shuffle, pixel_unshuffle, upsample_nearest
from .shape import concatenate, getitem, reshape, transpose


def _reflected(op):
    return lambda self, other: op(other, self)


Tensor.__add__ = add
Tensor.__radd__ = _reflected(add)
Tensor.__sub__ = sub
Tensor.__rsub__ = _reflected(sub)
Tensor.__mul__ = mul
Tensor.__rmul__ = _reflected(mul)
Tensor.__truediv__ = div
Tensor.__rtruediv__ = _reflected(div)
Tensor.__neg__ = neg
Tensor.__pow__ = pow
Tensor.__matmul__ = matmul
Tensor.__rmatmul__ = _reflected(matmul)
Tensor.__getitem__ = getitem
Tensor.sum = sum
Tensor.mean = mean
Tensor.max = max
Tensor.reshape = reshape
Tensor.transpose = transpose
Tensor.T = property(transpose)
Tensor.exp = exp
Tensor.log = log
Tensor.relu = relu
Tensor.tanh = tanh
Tensor.sigmoid = sigmoid

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "exp", "log", "astype", "clamp_min",
    "sum", "mean", "max", "logsumexp", "reshape", "transpose", "getitem", "concatenate",
    "matmul", "linear", "relu", "leaky_relu", "tanh", "sigmoid", "softplus", "softmax", "gumbel_softmax",
    "conv2d", "conv_transpose2d",
    "batch_norm", "layer_norm", "dropout",
    "instance_norm", "pixel_shuffle", "pixel_unshuffle", "upsample_nearest",
]
