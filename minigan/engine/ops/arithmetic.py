"""Elementwise arithmetic: + − × ÷, negation, power, exp, log, casts.

Each op states its forward formula and its local derivatives. Inputs may broadcast against each other;
the engine sums each gradient back to its input's shape (see ``autograd.unbroadcast``), so the
backward methods below are written for equal shapes.
"""

from ..autograd import Function, Tensor, _broadcasts_to, as_tensor, is_grad_enabled
from ..backend import array_module


def _floating(x, op):
    """``x`` unchanged if it is a floating tensor; arithmetic refuses integer and bool tensors.

    They are refused rather than promoted: promoting would hide a dtype the caller did not choose, and
    keeping them would cast a Python float operand to an integer (``ints * 0.5`` would give zeros).
    """
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: operand has dtype {x.dtype}; arithmetic needs floating tensors, "
                        f"convert it first with .astype(numpy.float32) (or float64)")
    return x


def _pair(x, y, op):
    """Both operands as tensors of one floating dtype; a Python scalar takes the tensor's dtype.

    Mixing float32 and float64 tensors raises instead of silently upcasting the float32 pipeline, and
    integer or bool tensors raise instead of being promoted (or of truncating the scalar).
    """
    if isinstance(x, Tensor):
        _floating(x, op)
    if isinstance(y, Tensor):
        _floating(y, op)
    if not isinstance(x, Tensor):
        x = as_tensor(x, like=y)
    y = as_tensor(y, like=x)
    if x.dtype != y.dtype:
        raise TypeError(f"{op}: operands have dtypes {x.dtype} and {y.dtype}; convert one with .astype() so both match")
    _floating(x, op)
    return x, y


class Add(Function):
    """z = x + y;   dz/dx = 1,  dz/dy = 1."""

    def forward(self, x, y):
        return x + y

    def backward(self, grad):
        return grad, grad


class Sub(Function):
    """z = x − y;   dz/dx = 1,  dz/dy = −1."""

    def forward(self, x, y):
        return x - y

    def backward(self, grad):
        return grad, Neg.apply(grad) if self.needs_input_grad[1] else None


class Mul(Function):
    """z = x · y;   dz/dx = y,  dz/dy = x.

    The backward is Mul again (by the other factor), so d²z/dx dy = 1: the second derivative of a
    product is what makes ∂(w·x)/∂x = w depend on w, the heart of a gradient penalty.
    """

    def forward(self, x, y):
        return x * y

    def backward(self, grad):
        x, y = self.inputs
        grad_x = Mul.apply(grad, y) if self.needs_input_grad[0] else None
        grad_y = Mul.apply(grad, x) if self.needs_input_grad[1] else None
        return grad_x, grad_y


class MulConstant(Function):
    """z = c ⊙ x for a constant array c (not differentiated);   dz/dx = c.

    The backward of a piecewise-linear op is dL/dy ⊙ its local slope, and that slope is a constant of the
    derivative (ReLU's mask, LeakyReLU's 1-or-a, max's share of the gradient, dropout's mask): this op.
    Its own backward is the same product, so the second derivative through x is c ⊙ (its gradient).

    ``consume=True`` says the caller built c for this product alone: when this op is not being recorded
    (no ``create_graph``), the product is then written into c's memory instead of a new array, which
    saves allocating an array the size of the activation in every first-order backward.
    """

    def forward(self, x, constant, consume=False):
        recorded = is_grad_enabled() and self.needs_input_grad[0]
        if consume and not recorded and constant.dtype == x.dtype and _broadcasts_to(x.shape, constant.shape):
            constant *= x  # x may broadcast against c (max's dL/dz against its mask), never the other way
            return constant
        self.constant = constant
        return constant * x

    def backward(self, grad):
        return MulConstant.apply(grad, constant=self.constant)


class Div(Function):
    """z = x / y;   dz/dx = 1/y,  dz/dy = −x/y² = −z/y  (z the output)."""

    def forward(self, x, y):
        return x / y

    def backward(self, grad):
        grad_x = grad / self.inputs[1]
        grad_y = -grad_x * self.output if self.needs_input_grad[1] else None
        return grad_x, grad_y


class Neg(Function):
    """z = −x;   dz/dx = −1."""

    def forward(self, x):
        return -x

    def backward(self, grad):
        return Neg.apply(grad)


class Pow(Function):
    """z = x^p for a constant exponent p;   dz/dx = p · x^(p−1) (Pow again, so every order follows)."""

    def forward(self, x, exponent):
        self.exponent = exponent
        return x**exponent

    def backward(self, grad):
        return grad * (Pow.apply(self.inputs[0], exponent=self.exponent - 1) * self.exponent)


class Exp(Function):
    """z = eˣ;   dz/dx = eˣ = z  (the output tensor, so d²z/dx² = z too)."""

    def forward(self, x):
        return array_module(x).exp(x)

    def backward(self, grad):
        return grad * self.output


class Log(Function):
    """z = ln x (x > 0);   dz/dx = 1/x."""

    def forward(self, x):
        return array_module(x).log(x)

    def backward(self, grad):
        return grad / self.inputs[0]


class AsType(Function):
    """z = x converted to another dtype;   the gradient is converted back to x's dtype."""

    def forward(self, x, dtype):
        self.input_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad):
        return AsType.apply(grad, dtype=self.input_dtype)


class ClampMin(Function):
    """z = max(x, c) for a constant c;   dz/dx = 1 where x > c, else 0 (0 at x = c, as ReLU at its kink)."""

    def forward(self, x, low):
        self.mask = x > low
        return array_module(x).maximum(x, x.dtype.type(low))

    def backward(self, grad):
        return MulConstant.apply(grad, constant=self.mask)  # the mask's own derivative is 0 almost everywhere


def add(x, y):
    return Add.apply(*_pair(x, y, "add"))


def sub(x, y):
    return Sub.apply(*_pair(x, y, "sub"))


def mul(x, y):
    return Mul.apply(*_pair(x, y, "mul"))


def div(x, y):
    return Div.apply(*_pair(x, y, "div"))


def neg(x):
    return Neg.apply(_floating(x, "neg"))


def pow(x, exponent):
    """x ** exponent for a constant (Python number) exponent."""
    if isinstance(exponent, Tensor) or not isinstance(exponent, (int, float)):
        raise TypeError(f"pow: exponent must be a Python int or float, got {type(exponent).__name__}")
    return Pow.apply(_floating(x, "pow"), exponent=exponent)


def exp(x):
    return Exp.apply(_floating(x, "exp"))


def log(x):
    return Log.apply(_floating(x, "log"))


def astype(x, dtype):
    return AsType.apply(x, dtype=dtype)


def clamp_min(x, low):
    """max(x, low) elementwise for a constant (Python number) ``low``; the gradient is 0 where clamped."""
    if isinstance(low, Tensor) or not isinstance(low, (int, float)):
        raise TypeError(f"clamp_min: low must be a Python int or float, got {type(low).__name__}")
    return ClampMin.apply(_floating(x, "clamp_min"), low=float(low))
