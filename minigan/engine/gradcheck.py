"""Check a backward pass, and the backward of a backward, against central finite differences.

For a function f of tensors x₁ … xₖ with output y, pick a random cotangent v of y's shape and let
L = ⟨v, f(x)⟩. The engine gives ∂L/∂xᵢ by one ``backward``; central differences give each element:

    ∂L/∂x[j] ≈ (L(x + h·e_j) − L(x − h·e_j)) / 2h        (error O(h²))

The two agree when ‖analytic − numeric‖ / max(‖analytic‖, ‖numeric‖) is below ``tolerance``. A random
v (not all ones) checks every output element's contribution, not just their sum. Use float64 inputs:
in float32 the rounding error of the difference quotient (~1e-7/h) swamps the check.

``gradgradcheck`` checks second derivatives the same way, one level up (PyTorch's construction): the
first derivative with a random output gradient v, (x, v) ↦ ∂⟨v, f(x)⟩/∂x, is itself a function, computed
by ``grad(..., create_graph=True)``; ``gradcheck`` of that function compares its recorded backward (the
backward of the backward) with central differences of the first derivative.
"""

import numpy

from .autograd import Tensor, grad
from .backend import check_seed, to_numpy
from .checks import finite_number


class GradcheckError(AssertionError):
    """The analytic gradient of an input disagrees with the finite-difference estimate."""


def relative_error(analytic, numeric):
    """‖a − n‖ / max(‖a‖, ‖n‖) in the 2-norm (0 when both are 0)."""
    analytic, numeric = numpy.asarray(analytic, numpy.float64), numpy.asarray(numeric, numpy.float64)
    scale = max(numpy.linalg.norm(analytic), numpy.linalg.norm(numeric))
    return 0.0 if scale == 0 else float(numpy.linalg.norm(analytic - numeric) / scale)


def numerical_gradient(function, inputs, cotangent, index, step):
    """∂⟨v, f(x)⟩/∂xᵢ by central differences, perturbing one element at a time (in place, then restored)."""
    x = inputs[index].data
    grad = numpy.zeros(x.shape, dtype=numpy.float64)
    flat_view = x.reshape(-1)  # a view: x is contiguous (checked by gradcheck)
    for j in range(flat_view.size):
        original = flat_view[j].copy()
        flat_view[j] = original + step
        plus = float((to_numpy(function(*inputs).data) * cotangent).sum())
        flat_view[j] = original - step
        minus = float((to_numpy(function(*inputs).data) * cotangent).sum())
        flat_view[j] = original
        grad.reshape(-1)[j] = (plus - minus) / (2 * step)
    return grad


def _checked_arguments(name, inputs, step, tolerance, seed):
    """The inputs as a list, after the checks both checkers share: a positive finite step, a tolerance
    ≥ 0, a valid seed, and inputs that are Tensors, float64 where they require a gradient."""
    if not finite_number(name, "step", step) > 0:
        raise ValueError(f"{name}: step must be positive, got {step}")
    if not finite_number(name, "tolerance", tolerance) >= 0:
        raise ValueError(f"{name}: tolerance must be ≥ 0, got {tolerance}")
    check_seed(seed, f"{name}: seed")
    if isinstance(inputs, Tensor) or not isinstance(inputs, (list, tuple)):
        raise TypeError(f"{name}: inputs must be a list of Tensors (the arguments of the function), got a "
                        f"{type(inputs).__name__}; write [x] for one input")
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: input {i} is a {type(x).__name__}, expected a Tensor")
        if x.requires_grad and x.dtype != numpy.float64:
            raise TypeError(f"{name}: input {i} has dtype {x.dtype}; finite differences need float64 inputs")
    return inputs


def _tensor_output(name, output):
    """The function's output, which must be one Tensor (the thing whose derivative is checked)."""
    if not isinstance(output, Tensor):
        raise TypeError(f"{name}: function must return a Tensor, got a {type(output).__name__}")
    return output


def gradcheck(function, inputs, step=1e-6, tolerance=1e-6, seed=0):
    """Compare ``function``'s backward with central differences for every input that requires a gradient.

    Args:
        function: takes the tensors in ``inputs`` and returns one tensor.
        inputs: float64 tensors; those with ``requires_grad=True`` are checked.
        step: the finite-difference step h.
        tolerance: the largest relative error accepted.
        seed: seeds the random cotangent v.

    Returns:
        The list of relative errors, one per checked input. Raises ``GradcheckError`` naming the input,
        its shape and the error when one exceeds ``tolerance``.
    """
    inputs = _checked_arguments("gradcheck", inputs, step, tolerance, seed)
    for i, x in enumerate(inputs):
        if x.requires_grad and not x.data.flags.c_contiguous:
            inputs[i] = x = Tensor(x.xp.ascontiguousarray(x.data), requires_grad=True)
        x.grad = None
    if not any(x.requires_grad for x in inputs):
        raise ValueError("gradcheck: no input has requires_grad=True, so there is no gradient to check")
    output = _tensor_output("gradcheck", function(*inputs))
    cotangent = numpy.random.default_rng(seed).standard_normal(output.shape)
    if output.requires_grad:  # else no graph reached the output: the analytic gradient is 0, compared below
        output.backward(output.xp.asarray(cotangent, dtype=output.dtype))

    errors = []
    for i, x in enumerate(inputs):
        if not x.requires_grad:
            continue
        analytic = numpy.zeros(x.shape) if x.grad is None else to_numpy(x.grad)
        numeric = numerical_gradient(function, inputs, cotangent, i, step)
        error = relative_error(analytic, numeric)
        if not error <= tolerance:  # written so that NaN fails too
            # plain ints and floats: NumPy 2 would print the index as (np.int64(3), np.int64(0))
            worst = tuple(int(j) for j in numpy.unravel_index(numpy.argmax(numpy.abs(analytic - numeric)), x.shape)) if x.size else ()
            raise GradcheckError(
                f"gradcheck: input {i} (shape {x.shape}): relative error {error:.3g} > {tolerance:.3g}; "
                f"worst element {worst}: analytic {float(analytic[worst]) if x.size else None!r}, "
                f"numeric {float(numeric[worst]) if x.size else None!r}"
            )
        errors.append(error)
    return errors


def gradgradcheck(function, inputs, step=1e-6, tolerance=1e-6, seed=0):
    """Compare ``function``'s second derivatives with central differences of its first derivatives.

    With v a random output gradient (float64, drawn from ``seed``), the first derivative
    g(x, v) = ∂⟨v, f(x)⟩/∂x is computed with ``grad(..., create_graph=True)`` and flattened into one
    vector; ``gradcheck`` then checks g's backward — the backward of ``function``'s backward — against
    central differences of g, with respect to every input that requires a gradient *and* to v (so both
    the Hessian part and the part linear in v are checked).

    Args:
        function: takes the tensors in ``inputs`` and returns one tensor.
        inputs: float64 tensors; those with ``requires_grad=True`` are differentiated.
        step, tolerance: as in ``gradcheck`` (relative error < ``tolerance``, default 1e-6).
        seed: seeds v and gradcheck's cotangent.

    Returns:
        The relative errors: one per checked input, then one for v. Raises ``GradcheckError`` naming the
        input (or "the output gradient v") whose second derivative disagrees.
    """
    inputs = _checked_arguments("gradgradcheck", inputs, step, tolerance, seed)
    checked = [i for i, x in enumerate(inputs) if x.requires_grad]
    if not checked:
        raise ValueError("gradgradcheck: no input has requires_grad=True, so there is nothing to check")
    output = _tensor_output("gradgradcheck", function(*inputs))
    if output.dtype != numpy.float64:
        raise TypeError(f"gradgradcheck: the function returns dtype {output.dtype}; finite differences need float64")
    v = Tensor(output.xp.asarray(numpy.random.default_rng(seed).standard_normal(output.shape)), requires_grad=True)

    # The recorded first derivative must be the first-order one (which gradcheck checks): a recorded
    # backward that computed something else would otherwise be differentiated consistently and pass.
    plain = grad(output, [inputs[i] for i in checked], grad_outputs=v.detach(), allow_unused=True)
    recorded = grad(function(*inputs), [inputs[i] for i in checked], grad_outputs=v.detach(), create_graph=True, allow_unused=True)
    for i, a, b in zip(checked, plain, recorded):
        a, b = (numpy.zeros(inputs[i].shape) if g is None else to_numpy(g.data) for g in (a, b))
        error = relative_error(b, a)
        if not error <= tolerance:
            raise GradcheckError(f"gradgradcheck: input {i} (shape {inputs[i].shape}): the first derivative recorded with "
                                 f"create_graph=True differs from the first-order one, relative error {error:.3g} > {tolerance:.3g}")

    def first_derivative(*tensors):
        """∂⟨v, f(x)⟩/∂x for every checked input, flattened and joined: (Σ sizes,)."""
        *xs, cotangent = tensors
        from .ops.shape import concatenate

        gradients = grad(function(*xs), [xs[i] for i in checked], grad_outputs=cotangent, create_graph=True, allow_unused=True)
        pieces = [g.reshape(-1) if g is not None else Tensor(xs[i].xp.zeros(xs[i].size, dtype=xs[i].dtype))
                  for i, g in zip(checked, gradients)]
        return concatenate(pieces)

    try:
        return gradcheck(first_derivative, inputs + [v], step=step, tolerance=tolerance, seed=seed + 1)
    except GradcheckError as error:
        message = str(error).replace("gradcheck: ", "", 1)
        if message.startswith(f"input {len(inputs)} "):
            message = "the output gradient v " + message[len(f"input {len(inputs)} "):]
        raise GradcheckError(f"gradgradcheck: second derivative with respect to {message}") from None
