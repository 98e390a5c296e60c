"""Ops that move values without changing them: reshape, transpose, slicing, concatenation, broadcasting.

Their backward passes move the gradient back the same way: reshape back, transpose by the inverse
permutation, scatter into the sliced positions, split along the concatenation axis, sum over the
broadcast axes. Each of those is again an op of this module (slicing and scattering are each other's
adjoint), so every order of derivative is a rearrangement too.
"""

from ..autograd import Function, Tensor, as_tensor
from ..backend import array_module


class Reshape(Function):
    """z = x viewed with a new shape (same elements, C order);   dL/dx = dL/dz reshaped to x's shape."""

    def forward(self, x, shape):
        self.input_shape = x.shape
        return x.reshape(shape)

    def backward(self, grad):
        return Reshape.apply(grad, shape=self.input_shape)


class Transpose(Function):
    """z = x with axes permuted, z.shape[i] = x.shape[axes[i]];   dL/dx = dL/dz permuted by the inverse."""

    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, grad):
        inverse = [0] * len(self.axes)
        for position, axis in enumerate(self.axes):
            inverse[axis] = position
        return Transpose.apply(grad, axes=tuple(inverse))


class BroadcastTo(Function):
    """z = x broadcast to ``shape`` (a read-only view);   dL/dx = dL/dz summed over the broadcast axes.

    The backward returns dL/dz unchanged: the engine sums every gradient back to its input's shape
    (``autograd.unbroadcast``), which is exactly the adjoint of broadcasting.
    """

    def forward(self, x, shape):
        return array_module(x).broadcast_to(x, shape)

    def backward(self, grad):
        return grad


def _is_basic_index(index):
    """True for indices made of ints, slices, None and Ellipsis (views with no repeated element)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, slice)) or p is None or p is Ellipsis for p in parts)


class GetItem(Function):
    """z = x[index];   dL/dx is zero except at the selected positions, which receive dL/dz.

    An integer-array index may select one element several times; its gradients are then added
    (``add.at``), since each selection is a separate use of that element.
    """

    def forward(self, x, index):
        self.shape, self.index = x.shape, index
        return x[index]

    def backward(self, grad):
        return Scatter.apply(grad, shape=self.shape, index=self.index)


class Scatter(Function):
    """z = zeros(shape) with z[index] += x: the adjoint of ``GetItem`` (so dL/dx = dL/dz[index], a GetItem)."""

    def forward(self, x, shape, index):
        self.index = index
        xp = array_module(x)
        z = xp.zeros(shape, dtype=x.dtype)
        if _is_basic_index(index):
            z[index] = x
        else:
            xp.add.at(z, index, x)
        return z

    def backward(self, grad):
        return GetItem.apply(grad, index=self.index)


class Concatenate(Function):
    """z = [x₁, x₂, …] joined along ``axis``;   dL/dxᵢ = the slice of dL/dz where xᵢ was placed."""

    def forward(self, *arrays, axis):
        self.axis = axis
        self.sizes = [a.shape[axis] for a in arrays]
        return array_module(*arrays).concatenate(arrays, axis=axis)

    def backward(self, grad):
        grads, start = [], 0
        for size, needed in zip(self.sizes, self.needs_input_grad):
            index = [slice(None)] * grad.ndim
            index[self.axis] = slice(start, start + size)
            grads.append(GetItem.apply(grad, index=tuple(index)) if needed else None)
            start += size
        return tuple(grads)


def reshape(x, *shape):
    """``x.reshape(2, 3)`` or ``x.reshape((2, 3))``; one size may be -1."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    try:
        x.data.reshape(shape)  # validate early so the error names this op, not the backward pass
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) into shape {shape}") from None
    return Reshape.apply(x, shape=shape)


def transpose(x, *axes):
    """Permute axes; with no arguments reverse them (``x.T``)."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    if not axes:
        axes = tuple(reversed(range(x.ndim)))
    if sorted(a % x.ndim for a in axes) != list(range(x.ndim)) or len(axes) != x.ndim:
        raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of shape {x.shape}")
    return Transpose.apply(x, axes=tuple(a % x.ndim for a in axes))


def getitem(x, index):
    if isinstance(index, Tensor):
        index = index.data
    return GetItem.apply(x, index=index)


def concatenate(tensors, axis=0):
    """Join tensors of one dtype along ``axis``; all other axes must match."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("concatenate: expected at least one tensor")
    tensors = [as_tensor(t, like=tensors[0]) if not isinstance(t, Tensor) else t for t in tensors]
    first = tensors[0]
    axis = axis % first.ndim
    for i, t in enumerate(tensors):
        if t.dtype != first.dtype:
            raise TypeError(f"concatenate: tensor {i} has dtype {t.dtype}, tensor 0 has {first.dtype}")
        if t.ndim != first.ndim or any(a != axis and t.shape[a] != first.shape[a] for a in range(first.ndim)):
            raise ValueError(f"concatenate: tensor {i} has shape {t.shape}, which does not match tensor 0's shape {first.shape} outside axis {axis}")
    return Concatenate.apply(*tensors, axis=axis)
