"""gradcheck itself: its arguments are checked, and a function whose output lost the graph is caught."""

import pytest

from minigan import Function, GradcheckError, Tensor, gradcheck


def square(x):
    return x * x


@pytest.mark.parametrize("kwargs, error, message", [
    ({"step": 0}, ValueError, "gradcheck: step must be positive, got 0"),  # used to be ZeroDivisionError
    ({"step": float("inf")}, ValueError, "gradcheck: step must be finite, got inf"),
    ({"tolerance": -1}, ValueError, "gradcheck: tolerance must be ≥ 0, got -1"),  # used to fail every check
    ({"tolerance": float("nan")}, ValueError, "gradcheck: tolerance must be finite, got nan"),
    ({"seed": -1}, ValueError, r"gradcheck: seed: expected an int in \[0, 2\*\*64\), got -1"),
])
def test_bad_arguments_are_named(xp, kwargs, error, message):
    with pytest.raises(error, match=message):
        gradcheck(square, [Tensor(xp.ones(2), requires_grad=True)], **kwargs)


def test_a_check_with_nothing_to_check_or_a_non_tensor_output_is_named(xp):
    with pytest.raises(ValueError, match="gradcheck: no input has requires_grad=True"):
        gradcheck(square, [Tensor(xp.ones(2))])
    with pytest.raises(TypeError, match=f"gradcheck: function must return a Tensor, got a {type(xp.ones(1)).__name__}"):
        gradcheck(lambda x: x.data * 2, [Tensor(xp.ones(2), requires_grad=True)])


class Detached(Function):
    """2x, but its apply is bypassed below so that the output records no graph: a bug gradcheck must catch."""

    def forward(self, x):
        return 2 * x


def test_an_output_that_lost_its_graph_fails_the_check_instead_of_raising_from_backward(xp):
    x = Tensor(xp.ones(3), requires_grad=True)
    # the worst element as plain numbers (not NumPy 2's "(np.int64(0),)" and "np.float64(...)"); numeric is 2v, v random
    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(3,\)\): relative error 1 > 1e-06; worst element \([0-2],\): analytic 0\.0, numeric -?[0-9.]+$"):
        gradcheck(lambda x: Tensor(Detached().forward(x.data)), [x])
    assert gradcheck(lambda x: Tensor(xp.ones(2)), [x]) == [0.0]  # a constant: zero gradient, both ways
