"""A small reverse-mode automatic differentiation engine over arrays, to any order.

A ``Tensor`` wraps one backend array (``.data``). Every differentiable operation is a ``Function``
subclass with two methods side by side:

* ``forward(*arrays, **params)`` computes the output *array* from the input arrays;
* ``backward(grad)`` receives dL/d(output) as a *Tensor* and returns dL/d(input) for each input as a
  Tensor (or ``None`` for an input that needs no gradient), **written with differentiable ops**: the
  input tensors are ``self.inputs``, the output tensor is ``self.output``.

``Function.apply`` runs the forward pass and, when gradients are wanted, records the function as the
output's ``_ctx`` together with its input tensors. The recorded graph is a DAG whose leaves are the
tensors made by the user (parameters, data). ``backward`` and ``grad`` walk it in reverse topological
order (each node after every node that uses it), so each node's gradient is complete before it is pushed
on to its inputs: this is the chain rule, dL/dx = Σ over uses u of dL/du · du/dx.

Gradients of gradients (``create_graph``)
-----------------------------------------
Because every backward is itself a composition of ops (Chainer's ``FunctionNode``, PyTorch's derivative
formulas), the backward pass can be *recorded* like any forward pass, and the gradient it returns
differentiated again, to any order. Each op's derivative is written once, beside its forward; the
derivative of the derivative is not written at all: it is the backward of the ops the backward used.
Conv2d's dL/dx *is* ``conv_transpose2d(dL/dy, w)``, tanh's is ``dL/dy · (1 − y²)`` with y the output
tensor, so the second derivative of tanh, −2y(1 − y²), comes out of Mul and Sub (worked through in
``docs/double-backward.md``).

* ``create_graph=False`` (the default, and every training step of Algorithm 1): the engine runs each
  backward under ``no_grad``. The ops inside it then only compute on arrays and record nothing; the
  array operations are the same ones a hand-written array backward would run (the seeded example runs
  give bit-identical losses), plus one small Tensor object per op (what that costs a DCGAN step is
  measured in ``docs/double-backward.md``).
* ``create_graph=True``: the backward's ops are recorded, with the incoming gradient and the op's inputs
  and output as their inputs, so the result is a Tensor with a graph of its own.

Two ops keep a fused array kernel for their first-order backward, because composing it would cost
several more passes over the largest activations: batch norm and layer norm. When a graph is wanted
they differentiate the same function composed from mean, subtract, multiply and power instead
(``ops.batchnorm.batch_norm_composed``, ``Function.backward_by_composition``); the fused kernel and the
composition are tested against each other. A custom Function whose backward returns arrays still works
to first order; recording it (``create_graph=True``) is refused, since an array has no graph.

The API is PyTorch's:

* ``loss.backward(grad=None, create_graph=False)`` adds dL/d(leaf) into each leaf's ``.grad`` (an array);
  with ``create_graph=True`` each leaf also gets ``.grad_tensor``, the same gradient as a Tensor with
  its graph (the gradient already in ``.grad`` before the call enters it as a constant).
* ``grad(outputs, inputs, grad_outputs=None, create_graph=False)`` returns dL/d(input) for each input as
  a tuple of Tensors and touches no ``.grad``. Only the part of the graph that leads to ``inputs`` is
  differentiated (a penalty on ∇ₓD(x) computes no weight gradients of D).

Rules that make the engine safe to use
--------------------------------------
* **Broadcasting**: when an op broadcast an input of shape (3, 1) to (2, 3, 4), the input's gradient is
  the output gradient summed over the broadcast axes (``unbroadcast``). The engine does this once, for
  every op, so no op has to.
* **Checked gradients**: each gradient a backward returns must have its input's shape (or one that
  broadcasting explains) and its input's dtype; otherwise the engine raises, naming the op and the input.
* **Accumulation**: leaf tensors *add* into ``.grad``; calling ``backward`` twice (on the same graph or
  on two graphs) adds both gradients, exactly like PyTorch. Call ``zero_grad()`` between steps.
  Only leaves keep ``.grad``; intermediate gradients are dropped once used.
* **Version counters**: a backward uses the values its op saw in the forward. Every in-place change the
  library makes to a tensor (an optimiser's ``step()``, ``load_state_dict``, an averaged G swapped in)
  bumps its ``_version``; each recorded op keeps its inputs' versions, and backward refuses, naming the
  op, if one has changed since. This is PyTorch's "a variable needed for gradient computation has been
  modified by an inplace operation": D stepped before G's loss through D was back-propagated.
* **Dtypes**: a Tensor holds bool, integer or floating data, nothing else (``None``, strings, object and
  complex arrays are refused). Only floating tensors take part in arithmetic and require gradients: an integer
  or bool operand is refused with a message, never promoted or truncated, so ``Tensor(ints) * 0.5``
  cannot silently give zeros. Convert first with ``.astype(numpy.float32)``.
"""

import contextlib
import weakref

import numpy

from .backend import array_module, get_backend, to_numpy

_grad_enabled = True

NUMERIC_KINDS = "biuf"  # what a Tensor may hold: bool, signed and unsigned integers, floating point


@contextlib.contextmanager
def no_grad():
    """Within this block no graph is recorded: outputs have ``requires_grad=False``.

    Use it for sampling, evaluation and optimiser updates, where a graph would only cost memory.
    """
    with _grad_mode(False):
        yield


@contextlib.contextmanager
def _grad_mode(enabled):
    """Record (True) or do not record (False) the ops run inside the block; restores the previous mode."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, enabled
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled():
    """True when ops are being recorded: outside ``no_grad``, or inside a ``create_graph=True`` backward."""
    return _grad_enabled


def unbroadcast(grad, shape):
    """Sum ``grad`` down to ``shape``: the adjoint of NumPy broadcasting (an array or a Tensor).

    Broadcasting prepends axes and stretches axes of length 1, so the gradient sums over the
    prepended axes and over every axis where ``shape`` has 1 but ``grad`` does not. On a Tensor the sums
    are the differentiable ``sum`` op, so a recorded backward stays differentiable.
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


def _broadcasts_to(shape, target):
    """True when an array of ``shape`` broadcasts to ``target`` (so unbroadcast can bring target back)."""
    if len(shape) > len(target):
        return False
    return all(s == t or s == 1 for s, t in zip(reversed(shape), reversed(target)))


def _numeric(data, what):
    """``data`` unchanged if its dtype is bool, integer or floating; a TypeError naming ``what`` otherwise."""
    if data.dtype.kind not in NUMERIC_KINDS:
        raise TypeError(f"{what}: data has dtype {data.dtype}; a Tensor holds bool, integer or floating-point numbers only")
    return data


class Tensor:
    """An array with an optional gradient.

    Args:
        data: a NumPy/CuPy array, a Python number or a nested list of numbers. Arrays are kept as they
            are (no copy, same dtype, same device); numbers and lists become arrays of the current
            backend with the default dtype (float32) unless ``dtype`` is given. ``None``, strings,
            object and complex arrays are refused (TypeError).
        requires_grad: record operations on this tensor so that ``backward`` can reach it. Only
            floating-point tensors can require gradients.
        dtype: convert ``data`` to this dtype.

    Attributes:
        grad: the accumulated gradient (an array of ``data``'s shape and dtype), or None.
        grad_tensor: set by ``backward(create_graph=True)``: the same gradient as a Tensor with a graph.
            None whenever it would no longer be the same: after a plain backward adds to ``.grad``, and
            after ``zero_grad()`` (of a Module or an optimiser).
    """

    # Makes ``numpy_scalar * tensor`` call Tensor.__rmul__ instead of NumPy's own multiply.
    __array_priority__ = 1000

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, Tensor):
            raise TypeError("Tensor(data): data is already a Tensor; use tensor.detach() or tensor.data")
        if hasattr(data, "dtype") and hasattr(data, "shape"):
            _numeric(data, "Tensor(data)")
            if dtype is not None and data.dtype != dtype:
                data = data.astype(dtype)
        else:
            if data is None:
                raise TypeError("Tensor(data): data is None; expected an array, a number or a nested list of numbers")
            try:
                probe = numpy.asarray(data)  # inspected on the host first, so None in a list is not cast to NaN
            except ValueError as error:  # a ragged nested list
                raise ValueError(f"Tensor(data): data is not a rectangular array of numbers ({error})") from None
            _numeric(probe, "Tensor(data)")
            backend = get_backend()
            data = backend.xp.asarray(probe, dtype=dtype if dtype is not None else backend.dtype)
        if requires_grad and data.dtype.kind != "f":
            raise TypeError(f"Tensor: requires_grad=True needs a floating dtype, got data of dtype {data.dtype}")
        self.data = data
        self.grad = None
        self.grad_tensor = None  # .grad with a graph, while the whole of .grad came from create_graph backwards
        self.requires_grad = bool(requires_grad)
        self._version = 0  # bumped by every in-place change the library makes (optimiser steps, loaded states)
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
    def backward(self, grad=None, create_graph=False):
        """Add dL/d(leaf) into ``.grad`` of every leaf that requires a gradient.

        Args:
            grad: dL/d(self), an array or Tensor of ``self``'s shape. May be omitted for a one-element
                tensor (then L = self and the gradient is 1).
            create_graph: record the backward pass, so that the gradients can be differentiated again;
                each leaf then also gets ``.grad_tensor``. Without it nothing extra is recorded or kept.
        """
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require a gradient (no input had requires_grad=True, or it was made under no_grad())")
        seed = _seed_gradient(self, grad, "backward()")
        _backpropagate([self], [seed], create_graph, inputs=None)


def grad(outputs, inputs, grad_outputs=None, create_graph=False, allow_unused=False):
    """dL/d(input) for each input, L = Σₖ ⟨grad_outputs[k], outputs[k]⟩, without touching any ``.grad``.

    Args:
        outputs: a Tensor or a sequence of Tensors that require gradients.
        inputs: a Tensor or a sequence of Tensors (leaves or intermediate results) that ``outputs`` depend on.
        grad_outputs: dL/d(output) for each output (arrays or Tensors of the outputs' shapes); may be
            None, or None for an output, when that output has one element (the gradient is then 1).
        create_graph: record the backward pass, so that the returned gradients have a graph and can be
            differentiated again (a gradient penalty, a Hessian-vector product); off, nothing is recorded.
        allow_unused: return None for an input that ``outputs`` do not depend on, instead of raising.

    Returns:
        A tuple with one Tensor per input, of the input's shape and dtype (the total derivative: every
        path from the input to the outputs). Only the part of the graph that leads to ``inputs`` is
        differentiated.
    """
    outputs = _as_sequence(outputs, "outputs")
    inputs = _as_sequence(inputs, "inputs")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    else:
        grad_outputs = list(grad_outputs) if isinstance(grad_outputs, (list, tuple)) else [grad_outputs]
        if len(grad_outputs) != len(outputs):
            raise ValueError(f"grad(): got {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for i, output in enumerate(outputs):
        if not output.requires_grad:
            raise RuntimeError(f"grad(): output {i} (shape {output.shape}) does not require a gradient: it does not depend on any tensor with requires_grad=True")
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            raise RuntimeError(f"grad(): input {i} (shape {x.shape}) does not require a gradient; make it with requires_grad=True")
    seeds = [_seed_gradient(output, g, f"grad(): grad_outputs[{i}]") for i, (output, g) in enumerate(zip(outputs, grad_outputs))]
    found = _backpropagate(outputs, seeds, create_graph, inputs=inputs)
    results = []
    for i, x in enumerate(inputs):
        g = found.get(id(x))
        if g is None and not allow_unused:
            raise RuntimeError(f"grad(): input {i} (shape {x.shape}) is not used to compute the outputs; pass allow_unused=True to get None for it")
        if g is not None and not create_graph and any(g is seed for seed in seeds):
            g = Tensor(g.data.copy())  # an input that is an output gets v itself: a copy, so the caller's v is not shared
            # (with create_graph, v is returned as it is: its graph is the derivative with respect to v)
        results.append(g)
    return tuple(results)


def _as_sequence(value, name):
    values = [value] if isinstance(value, Tensor) else list(value)
    if not values:
        raise ValueError(f"grad(): {name} is empty; expected a Tensor or a non-empty sequence of Tensors")
    for i, v in enumerate(values):
        if not isinstance(v, Tensor):
            raise TypeError(f"grad(): {name}[{i}] is a {type(v).__name__}, expected a Tensor")
    return values


def _seed_gradient(output, grad, what):
    """The starting gradient dL/d(output) as a Tensor: ones for a one-element output when omitted."""
    if grad is None:
        if output.size != 1:
            raise ValueError(f"{what}: grad can be omitted only for a one-element tensor; this one has shape {output.shape}")
        return Tensor(output.xp.ones(output.shape, dtype=output.dtype))
    if not isinstance(grad, Tensor):
        if hasattr(grad, "dtype") and grad.dtype != output.dtype:  # an array is not cast silently, as a Tensor is not
            raise TypeError(f"{what}: grad has dtype {grad.dtype}, expected the tensor's dtype {output.dtype}")
        grad = Tensor(output.xp.asarray(grad, dtype=output.dtype))
    if grad.shape != output.shape:
        raise ValueError(f"{what}: grad has shape {grad.shape}, expected the tensor's shape {output.shape}")
    if grad.dtype != output.dtype:
        raise TypeError(f"{what}: grad has dtype {grad.dtype}, expected the tensor's dtype {output.dtype}")
    return grad


# ----- the reverse sweep ------------------------------------------------------------------------------
# Read it beside ``Value.backward()`` of Karpathy's micrograd (2020), which is
#
#     build_topo(self)                  # every node after the nodes it was computed from
#     self.grad = 1
#     for v in reversed(topo):          # every node after all of its users
#         v._backward()                 # push v.grad on to v's inputs
#
# ``_backpropagate`` is that loop. What it adds: the gradients live in a dict instead of on the nodes
# (only leaves keep ``.grad``), there may be several roots, each with a seed, and ``grad(inputs=...)``
# first prunes the graph to the paths that reach the requested inputs (``_paths_to``).


def _topological_order(roots, stop=frozenset()):
    """Every recorded tensor the ``roots`` depend on, each after all of its inputs (micrograd's
    ``build_topo``, as an iterative depth-first search so that a deep graph cannot overflow Python's
    stack); the walk does not go past the tensors whose ids are in ``stop``."""
    order, visited = [], set()
    stack = [(root, False) for root in reversed(roots)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)  # all of node's inputs are already in order
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))  # come back to node once its inputs are done
        function = node._ctx
        if function is not None and id(node) not in stop:
            stack.extend((parent, False) for parent, needed in zip(function.inputs, function.needs_input_grad) if needed)
    return order


def _paths_to(order, wanted):
    """The pruning step of ``grad(inputs=...)``: the ids of the nodes of ``order`` that lie on some path
    to a wanted input. Only these need a gradient; a backward is asked for no other input's (a penalty
    on ∇ₓD(x) computes no weight gradients of D)."""
    on_path = set()
    for node in order:  # inputs before their users, so each node's inputs are decided before it
        function = node._ctx
        if id(node) in wanted or (function is not None and any(id(p) in on_path for p in function.inputs)):
            on_path.add(id(node))
    return on_path


def _backpropagate(roots, seeds, create_graph, inputs, partial=False):
    """The reverse sweep shared by ``Tensor.backward`` (inputs None: accumulate into the leaves' .grad)
    and ``grad`` (return {id(input): gradient}, only for the part of the graph that leads to ``inputs``).

    ``partial``: stop at the inputs, so that each result is the partial derivative with the other inputs
    held fixed (paths through another input are not followed), as ``Function.backward_by_composition`` needs.
    """
    wanted = None if inputs is None else {id(x) for x in inputs}
    stop = wanted if partial else frozenset()  # where a partial derivative stops
    order = _topological_order(roots, stop)                        # 1. micrograd's build_topo
    on_path = None if inputs is None else _paths_to(order, wanted)  # 2. grad(inputs=...): prune
    grads = {}  # id(node) -> dL/d(node), summed over the users of node swept so far
    for root, seed in zip(roots, seeds):
        grads[id(root)] = _add(grads[id(root)], seed) if id(root) in grads else seed
    found = {}
    with _grad_mode(create_graph):  # record the backward's ops only when a graph of the gradient is wanted
        for node in reversed(order):                               # 3. for v in reversed(topo): v._backward()
            node_grad = grads.pop(id(node), None)
            if node_grad is None:
                continue  # no gradient reached node (it lies on no path from the roots that needs one)
            if wanted is not None and id(node) in wanted:
                found[id(node)] = node_grad  # complete: every user of node came before it
            if node._ctx is None or id(node) in stop:  # a leaf, or where a partial derivative stops
                if inputs is None:
                    _accumulate(node, node_grad, create_graph)
                continue
            _push_to_inputs(node._ctx, node_grad, grads, on_path)
    return found


def _push_to_inputs(function, grad, grads, on_path):
    """micrograd's ``_backward()`` for one node: the chain rule's dL/d(input) += dL/d(output) · d(output)/d(input),
    for each input of ``function`` that needs a gradient (and, when ``on_path`` is given, lies on it)."""
    needs = function.needs_input_grad
    if on_path is not None:
        needs = tuple(n and id(p) in on_path for p, n in zip(function.inputs, needs))
        if not any(needs):
            return
    for i, (parent, seen) in enumerate(zip(function.inputs, function.versions)):
        if parent._version != seen:  # its values now are not those the forward saw: the gradient would be wrong
            raise RuntimeError(f"backward through {type(function).__name__}: its input {i} (shape {parent.shape}) was changed in "
                               f"place after the forward (version {seen} -> {parent._version}), e.g. by an optimiser step; "
                               f"compute the loss again after the step")
    input_grads = _call_backward(function, grad, needs)
    for parent, parent_grad in zip(function.inputs, input_grads):
        if parent_grad is None:
            continue
        if id(parent) in grads:
            grads[id(parent)] = _add(grads[id(parent)], parent_grad)  # a new tensor: inputs may alias
        else:
            grads[id(parent)] = parent_grad


def _call_backward(function, grad, needs):
    """``function.backward(grad)`` with ``needs_input_grad`` set to ``needs``; each gradient checked against
    its input (count, shape, dtype) and summed back over broadcast axes. None where no gradient is needed."""
    recorded = function.needs_input_grad
    function.needs_input_grad = needs
    try:
        input_grads = function.backward(grad)
    finally:
        function.needs_input_grad = recorded
    name = type(function).__name__
    if not isinstance(input_grads, tuple):
        input_grads = (input_grads,)
    if len(input_grads) != len(function.inputs):
        raise RuntimeError(f"{name}.backward returned {len(input_grads)} gradients for {len(function.inputs)} inputs")
    checked = []
    for i, (parent, g, needed) in enumerate(zip(function.inputs, input_grads, needs)):
        if g is None or not needed:
            checked.append(None)
            continue
        if not isinstance(g, Tensor):
            if _grad_enabled:
                raise TypeError(f"{name}.backward returned a {type(g).__name__} for input {i}; a backward that is to be "
                                f"differentiated again (create_graph=True) must return Tensors made by differentiable ops")
            g = Tensor(g)
        if g.shape != parent.shape:
            if not _broadcasts_to(parent.shape, g.shape):
                raise RuntimeError(f"{name}.backward returned a gradient of shape {g.shape} for input {i} of shape {parent.shape}; "
                                   f"expected the input's shape (or a shape it broadcasts to)")
            g = unbroadcast(g, parent.shape)
        if g.dtype != parent.dtype:
            raise RuntimeError(f"{name}.backward returned a gradient of dtype {g.dtype} for input {i} of dtype {parent.dtype}")
        checked.append(g)
    return checked


def _add(a, b):
    from .ops.arithmetic import Add

    return Add.apply(a, b)


def _accumulate(leaf, grad, create_graph):
    """Add ``grad`` (a Tensor) into ``leaf.grad`` (an array); with ``create_graph`` keep it as ``leaf.grad_tensor`` too."""
    # With a graph, .grad_tensor is the new .grad (the earlier .grad entering as a constant); without, the
    # sum in .grad has a part no graph recorded, so .grad_tensor would be stale: it goes.
    leaf.grad_tensor = (grad if leaf.grad is None else _add(Tensor(leaf.grad.copy()), grad)) if create_graph else None
    if leaf.grad is None:
        # A copy: backward functions may hand the same array to several inputs.
        leaf.grad = grad.data.astype(leaf.dtype, copy=True)
    else:
        leaf.grad += grad.data


class Function:
    """Base class of every differentiable op. Subclasses write ``forward`` (arrays) and ``backward`` (Tensors).

    Inside ``backward``:

    * ``self.inputs`` are the input tensors and ``self.output`` the output tensor: build the gradient
      from them with differentiable ops (``grad * self.inputs[1]``, ``conv_transpose2d(grad, w)``), never
      from arrays saved in ``forward``, unless that array is a constant of the derivative (ReLU's mask);
    * ``self.needs_input_grad[i]`` tells whether input ``i`` wants a gradient, so an op can skip work
      (a convolution need not compute dL/dx for the images fed to the first layer).

    Arrays saved in ``forward`` may still be used as a cache of values (the im2col patches of a conv).
    """

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    @property
    def output(self):
        """The tensor this function produced (held weakly: the graph does not keep its own outputs alive)."""
        output = self._output()
        if output is None:
            raise RuntimeError(f"{type(self).__name__}: its output tensor no longer exists")
        return output

    def backward_by_composition(self, grad, composition, **params):
        """The input gradients of this op, found by differentiating ``composition(*self.inputs, **params)``
        (the same function written with differentiable ops) with the graph recorded.

        This is how an op whose first-order backward is a fused array kernel (batch norm, layer norm)
        still has derivatives of every order: its ``backward`` uses the kernel when no graph is being
        recorded, and this method when one is. Each gradient is the partial derivative with the other
        inputs held fixed.
        """
        wanted = [t for t, needed in zip(self.inputs, self.needs_input_grad) if needed]
        with _grad_mode(True):
            output = composition(*self.inputs, **params)
            found = _backpropagate([output], [grad], True, inputs=wanted, partial=True)
        return tuple(found.get(id(t)) if needed else None for t, needed in zip(self.inputs, self.needs_input_grad))

    @classmethod
    def apply(cls, *inputs, **params):
        tensors = tuple([x if isinstance(x, Tensor) else Tensor(x) for x in inputs])
        function = cls()
        function.needs_input_grad = needs = tuple([t.requires_grad for t in tensors])
        output = Tensor(function.forward(*[t.data for t in tensors], **params))
        if _grad_enabled and True in needs:
            output.requires_grad = True
            output._ctx = function
            function.inputs = tensors
            function.versions = tuple([t._version for t in tensors])  # what backward may rely on: see _push_to_inputs
            function._output = weakref.ref(output)
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
