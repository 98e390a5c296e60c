"""A small reverse-mode automatic differentiation engine over arrays.

A ``Tensor`` wraps one backend array (``.data``). Every differentiable operation is a ``Function``
subclass with two methods side by side:

* ``forward(*arrays, **params)`` computes the output array from the input arrays and saves what the
  backward pass will need;
* ``backward(grad_output)`` receives dL/d(output) and returns dL/d(input) for each input (or ``None``
  for an input that needs no gradient).

``Function.apply`` runs the forward pass and, when gradients are wanted, records the function as the
output's ``_ctx`` together with its input tensors. The recorded graph is a DAG whose leaves are the
tensors made by the user (parameters, data). ``Tensor.backward()`` walks it in reverse topological order
(each node after every node that uses it), so each node's gradient is complete before it is pushed on
to its inputs: this is the chain rule, dL/dx = sum over uses u of dL/du * du/dx.

Two rules make the engine safe to use:

* **Broadcasting**: when an op broadcast an input of shape (3, 1) to (2, 3, 4), the input's gradient is
  the output gradient summed over the broadcast axes (``unbroadcast``). The engine does this once, for
  every op, so no op has to.
* **Accumulation**: leaf tensors *add* into ``.grad``; calling ``backward`` twice (on the same graph or
  on two graphs) adds both gradients, exactly like PyTorch. Call ``zero_grad()`` between steps.
  Only leaves keep ``.grad``; intermediate gradients are dropped once used.
"""

import contextlib

from .backend import array_module, get_backend, to_numpy

_grad_enabled = True


@contextlib.contextmanager
def no_grad():
    """Within this block no graph is recorded: outputs have ``requires_grad=False``.

    Use it for sampling, evaluation and optimiser updates, where a graph would only cost memory.
    """
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled():
    return _grad_enabled


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting.

    Broadcasting prepends axes and stretches axes of length 1, so the gradient sums over the
    prepended axes and over every axis where ``shape`` has 1 but ``grad`` does not.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(axis for axis, size in enumerate(shape) if size == 1 and grad.shape[axis] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


class Tensor:
    """An array with an optional gradient.

    Args:
        data: a NumPy/CuPy array, a Python scalar or nested list. Arrays are kept as they are (no copy,
            same dtype, same device); scalars and lists become arrays of the current backend with the
            default dtype (float32) unless ``dtype`` is given.
        requires_grad: record operations on this tensor so that ``backward`` can reach it. Only
            floating-point tensors can require gradients.
        dtype: convert ``data`` to this dtype.
    """

    # Makes ``numpy_scalar * tensor`` call Tensor.__rmul__ instead of NumPy's own multiply.
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, Tensor):
            raise TypeError("Tensor(data): data is already a Tensor; use tensor.detach() or tensor.data")
        if hasattr(data, "dtype") and hasattr(data, "shape"):
            if dtype is not None and data.dtype != dtype:
                data = data.astype(dtype)
        else:
            backend = get_backend()
            data = backend.xp.asarray(data, dtype=dtype if dtype is not None else backend.dtype)
        if requires_grad and data.dtype.kind != "f":
            raise TypeError(f"Tensor: requires_grad=True needs a floating dtype, got data of dtype {data.dtype}")
        self.data = data
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None  # the Function that produced this tensor, if recorded

    # ----- plain properties -------------------------------------------------------------------
    shape = property(lambda self: self.data.shape)
    dtype = property(lambda self: self.data.dtype)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    xp = property(lambda self: array_module(self.data), doc="The array module (numpy or cupy) of .data.")

    def __len__(self):
        return len(self.data)

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({to_numpy(self.data)!r}{grad})"

    def numpy(self):
        """The values as a NumPy array (copied from the GPU under CuPy)."""
        return to_numpy(self.data)

    def item(self):
        """The value of a one-element tensor as a Python float."""
        if self.size != 1:
            raise ValueError(f"item(): tensor has {self.size} elements, expected 1 (shape {self.shape})")
        return float(self.data.reshape(()))

    def detach(self):
        """A tensor sharing ``data`` but cut from the graph (gradients stop here)."""
        return Tensor(self.data)

    def astype(self, dtype):
        """A differentiable cast (the gradient is cast back)."""
        from .ops.arithmetic import astype

        return astype(self, dtype)

    # ----- reverse mode -----------------------------------------------------------------------
    def backward(self, grad=None):
        """Add dL/d(leaf) into ``.grad`` of every leaf that requires a gradient.

        Args:
            grad: dL/d(self), same shape as ``self``. May be omitted for a one-element tensor
                (then L = self and the gradient is 1).
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require a gradient (no input had requires_grad=True, or it was made under no_grad())")
        if grad is None:
            if self.size != 1:
                raise ValueError(f"backward(): grad can be omitted only for a one-element tensor; this one has shape {self.shape}")
            grad = self.xp.ones(self.shape, dtype=self.dtype)
        else:
            grad = grad.data if isinstance(grad, Tensor) else self.xp.asarray(grad, dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"backward(): grad has shape {grad.shape}, expected the tensor's shape {self.shape}")

        grads = {id(self): grad}
        for node in reversed(self._topological_order()):
            node_grad = grads.pop(id(node), None)
            if node_grad is None:
                continue
            if node._ctx is None:  # a leaf: accumulate
                if node.grad is None:
                    # A copy: backward functions may hand the same array to several inputs.
                    node.grad = node_grad.astype(node.dtype, copy=True)
                else:
                    node.grad += node_grad
                continue
            function = node._ctx
            input_grads = function.backward(node_grad)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            for parent, parent_grad in zip(function.parents, input_grads):
                if parent_grad is None or not parent.requires_grad:
                    continue
                parent_grad = unbroadcast(parent_grad, parent.shape)
                if id(parent) in grads:
                    grads[id(parent)] = grads[id(parent)] + parent_grad  # new array: inputs may alias
                else:
                    grads[id(parent)] = parent_grad

    def _topological_order(self):
        """Every tensor that ``self`` depends on, each after all of its inputs (iterative DFS)."""
        order, visited, stack = [], set(), [(self, False)]
        while stack:
            node, inputs_done = stack.pop()
            if inputs_done:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            if node._ctx is not None:
                stack.extend((parent, False) for parent in node._ctx.parents if parent.requires_grad)
        return order


class Function:
    """Base class of every differentiable op. Subclasses write ``forward`` and ``backward``.

    ``self.needs_input_grad[i]`` tells ``backward`` whether input ``i`` wants a gradient, so an op can
    skip work (a convolution need not compute dL/dx for the images fed to the first layer).
    """

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad_output):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        tensors = tuple(x if isinstance(x, Tensor) else Tensor(x) for x in inputs)
        function = cls()
        function.needs_input_grad = tuple(t.requires_grad for t in tensors)
        output = Tensor(function.forward(*(t.data for t in tensors), **params))
        if _grad_enabled and any(function.needs_input_grad):
            output.requires_grad = True
            output._ctx = function
            function.parents = tensors
        return output


def as_tensor(value, like):
    """``value`` as a Tensor on ``like``'s device; Python scalars also take ``like``'s dtype (so 0.2 * x stays float32).

    An array keeps its dtype but is copied to ``like``'s device when it lives elsewhere (a NumPy target
    for a CuPy prediction): one explicit transfer here, rather than an op that mixes a host array with a
    device array, which CuPy refuses.
    """
    if isinstance(value, Tensor):
        return value
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        xp = like.xp
        if array_module(value) is not xp:
            value = to_numpy(value) if xp.__name__ == "numpy" else xp.asarray(value)
        return Tensor(value)
    return Tensor(like.xp.asarray(value, dtype=like.dtype))
