"""Matrix products: ``matmul`` and the fused affine map ``linear``.

These are the GEMMs that dominate a training step; every backward is again one GEMM per input, written
as the same op (a product of the gradient with the other factor, transposed), so the backward can itself
be differentiated: d(dL/dX)/dW, the term a gradient penalty needs, is again a product.
"""

from ..autograd import Function
from .arithmetic import _pair
from .reduce import Sum
from .shape import Transpose

gemm_observer = None  # set by benchmarks/ to time every GEMM of a step; None in normal use


def gemm(a, b):
    """a @ b for a matrix a (M, K) and a matrix b (K, N), or a stack of them (B, K, N) → (B, M, N).

    The one matrix product of the dense and convolution layers (a stack is a convolution's GEMM split
    per kernel offset: one call, B products of a with each matrix of b).

    Every GEMM of the hot path goes through this function so that a benchmark can measure how much of a
    training step is spent inside BLAS (``gemm_observer(a, b)`` then times ``matrix_product(a, b)``).
    """
    if gemm_observer is None:
        return matrix_product(a, b)
    return gemm_observer(a, b)


def matrix_product(a, b):
    """a @ b (b may be a stack), with the one shape BLAS handles badly done by broadcasting instead."""
    # With an inner dimension of 1 the product is an outer product, which BLAS runs far below its GEMM
    # speed (D's last dense layer, 6272 → 1, hits it in every backward pass); broadcasting does it in
    # one pass (benchmarks/README.md).
    return a * b if a.shape[1] == 1 else a @ b


class MatMul(Function):
    """Z = X Y for X (..., n, k) and Y (..., k, m) with batch axes broadcast as in NumPy.

    dL/dX = dL/dZ Yᵀ  (..., n, k);   dL/dY = Xᵀ dL/dZ  (..., k, m)   (MatMul again, on transposed views).
    Batch axes that were broadcast are summed by the engine. Two matrices go through ``gemm``.
    """

    def forward(self, x, y):
        return gemm(x, y) if x.ndim == 2 and y.ndim == 2 else x @ y

    def backward(self, grad):
        x, y = self.inputs
        grad_x = MatMul.apply(grad, _swap_last_axes(y)) if self.needs_input_grad[0] else None
        grad_y = MatMul.apply(_swap_last_axes(x), grad) if self.needs_input_grad[1] else None
        return grad_x, grad_y


def _swap_last_axes(t):
    """t with its last two axes swapped, (..., n, k) -> (..., k, n): a Transpose (a view)."""
    axes = tuple(range(t.ndim - 2)) + (t.ndim - 1, t.ndim - 2)
    return Transpose.apply(t, axes=axes)


class Linear(Function):
    """Y = X Wᵀ + b, the dense layer, for X (N, in), W (out, in), b (out,) → Y (N, out).

    dL/dX = dL/dY W  (N, in);   dL/dW = dL/dYᵀ X  (out, in);   dL/db = Σₙ dL/dYₙ  (out,),
    each a ``MatMul`` (a GEMM) or a ``Sum``, so the backward is differentiable again.
    Fused into one op so that the forward is one GEMM plus one add, and nothing else is stored.
    The weight layout (out, in) is PyTorch's, so ``state_dict`` keys and shapes read the same.
    """

    def forward(self, x, weight, bias=None):
        y = gemm(x, weight.T)
        if bias is not None:
            y += bias
        return y

    def backward(self, grad):
        x, weight = self.inputs[:2]
        grad_x = MatMul.apply(grad, weight) if self.needs_input_grad[0] else None  # (N, out) @ (out, in)
        grad_weight = MatMul.apply(_transpose(grad), x) if self.needs_input_grad[1] else None  # (out, N) @ (N, in)
        grad_bias = Sum.apply(grad, axes=(0,), keepdims=False) if len(self.needs_input_grad) > 2 and self.needs_input_grad[2] else None
        return (grad_x, grad_weight, grad_bias)[: len(self.inputs)]  # no bias, no third gradient


def _transpose(matrix):
    """A matrix's transpose, (a, b) -> (b, a): a view."""
    return Transpose.apply(matrix, axes=(1, 0))


def matmul(x, y):
    x, y = _pair(x, y, "matmul")
    if x.ndim < 2 or y.ndim < 2:
        raise ValueError(f"matmul: both operands need at least 2 dimensions, got shapes {x.shape} and {y.shape}")
    if x.shape[-1] != y.shape[-2]:
        raise ValueError(
            f"matmul: shapes {x.shape} and {y.shape} do not match: the last axis of x ({x.shape[-1]}) "
            f"must equal the second-to-last axis of y ({y.shape[-2]})"
        )
    return MatMul.apply(x, y)


def linear(x, weight, bias=None):
    """x (N, in) → x Wᵀ + b (N, out) with weight (out, in) and optional bias (out,)."""
    if x.ndim != 2:
        raise ValueError(f"linear: input must have shape (batch, in_features), got shape {x.shape}")
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"linear: input has {x.shape[1]} features (shape {x.shape}) but weight expects {weight.shape[1]} (weight shape {weight.shape})")
    if x.dtype != weight.dtype:
        raise TypeError(f"linear: input has dtype {x.dtype} but weight has dtype {weight.dtype}; convert the input with .astype({weight.dtype})")
    if bias is None:
        return Linear.apply(x, weight)
    return Linear.apply(x, weight, bias)
