"""Elementwise arithmetic: + − × ÷, negation, power, exp, log, casts.

Each op states its forward formula and its local derivatives. Inputs may broadcast against each other;
the engine sums each gradient back to its input's shape (see ``autograd.unbroadcast``), so the
backward methods below are written for equal shapes.
"""

from ..autograd import Function, Tensor, as_tensor
from ..backend import array_module


def _pair(x, y, op):
    """Both operands as tensors of one floating dtype; a Python scalar takes the tensor's dtype.

    Mixing float32 and float64 tensors raises instead of silently upcasting the float32 pipeline.
    """
    if not isinstance(x, Tensor):
        x = as_tensor(x, like=y)
    y = as_tensor(y, like=x)
    if x.dtype != y.dtype:
        raise TypeError(f"{op}: operands have dtypes {x.dtype} and {y.dtype}; convert one with .astype() so both match")
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
        return grad, -grad if self.needs_input_grad[1] else None


class Mul(Function):
    """z = x · y;   dz/dx = y,  dz/dy = x."""

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, grad):
        grad_x = grad * self.y if self.needs_input_grad[0] else None
        grad_y = grad * self.x if self.needs_input_grad[1] else None
        return grad_x, grad_y


class Div(Function):
    """z = x / y;   dz/dx = 1/y,  dz/dy = −x/y² = −z/y."""

    def forward(self, x, y):
        self.y = y
        self.z = x / y
        return self.z

    def backward(self, grad):
        grad_x = grad / self.y
        grad_y = -grad_x * self.z if self.needs_input_grad[1] else None
        return grad_x, grad_y


class Neg(Function):
    """z = −x;   dz/dx = −1."""

    def forward(self, x):
        return -x

    def backward(self, grad):
        return -grad


class Pow(Function):
    """z = x^p for a constant exponent p;   dz/dx = p · x^(p−1)."""

    def forward(self, x, exponent):
        self.x, self.exponent = x, exponent
        return x**exponent

    def backward(self, grad):
        return grad * (self.exponent * self.x ** (self.exponent - 1))


class Exp(Function):
    """z = eˣ;   dz/dx = eˣ = z."""

    def forward(self, x):
        self.z = array_module(x).exp(x)
        return self.z

    def backward(self, grad):
        return grad * self.z


class Log(Function):
    """z = ln x (x > 0);   dz/dx = 1/x."""

    def forward(self, x):
        self.x = x
        return array_module(x).log(x)

    def backward(self, grad):
        return grad / self.x


class AsType(Function):
    """z = x converted to another dtype;   the gradient is converted back to x's dtype."""

    def forward(self, x, dtype):
        self.input_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad):
        return grad.astype(self.input_dtype)


def add(x, y):
    return Add.apply(*_pair(x, y, "add"))


def sub(x, y):
    return Sub.apply(*_pair(x, y, "sub"))


def mul(x, y):
    return Mul.apply(*_pair(x, y, "mul"))


def div(x, y):
    return Div.apply(*_pair(x, y, "div"))


def neg(x):
    return Neg.apply(x)


def pow(x, exponent):
    """x ** exponent for a constant (Python number) exponent."""
    if isinstance(exponent, Tensor) or not isinstance(exponent, (int, float)):
        raise TypeError(f"pow: exponent must be a Python int or float, got {type(exponent).__name__}")
    return Pow.apply(x, exponent=exponent)


def exp(x):
    return Exp.apply(x)


def log(x):
    return Log.apply(x)


def astype(x, dtype):
    return AsType.apply(x, dtype=dtype)
