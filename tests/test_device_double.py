"""The strict device double itself (tests/device_double.py): it refuses what CuPy refuses, lets through the
explicit transfers CuPy has, and counts syncs and calls. The rest of the suite trusts these rules."""

import numpy
import pytest

import device_double

pytestmark = pytest.mark.numpy_only("it tests the double directly, whatever the backend under test; one run covers it")

xp = device_double.strict


@pytest.mark.parametrize("implicit", [
    lambda a: numpy.asarray(a),
    lambda a: numpy.array([a, a]),
    lambda a: numpy.testing.assert_allclose(a, [1.0, 2.0]),
    lambda a: numpy.exp(a),                  # a NumPy ufunc
    lambda a: numpy.concatenate([a, a]),     # a NumPy function
    lambda a: a + numpy.ones(2),             # mixed with a host array, either side
    lambda a: numpy.ones(2) * a,
    lambda a: xp.maximum(a, numpy.zeros(2)),
    lambda a: xp.concatenate([a, numpy.zeros(2)]),
    lambda a: a[numpy.array([0, 1])],        # a host index array
    lambda a: a.__setitem__(slice(None), numpy.zeros(2)),  # a host value assigned
])
def test_what_cupy_refuses_is_refused(implicit):
    with pytest.raises(TypeError):
        implicit(xp.asarray([1.0, 2.0]))


def test_the_explicit_transfers_work_and_each_is_one_sync():
    a = xp.asarray([1.5, 2.5])  # host data in: an upload, not a sync
    with device_double.counting() as counts:
        values = [a.get(), xp.asnumpy(a), float(a[0]), int(a[1]), bool(a[0]), a[1].item(), a.tolist()]
    assert isinstance(values[0], numpy.ndarray) and values[0].tolist() == [1.5, 2.5] and values[1].tolist() == [1.5, 2.5]
    assert values[2:] == [1.5, 2, True, 2.5, [1.5, 2.5]]
    assert counts.syncs == 7
    assert dict(counts.sync_names) == {"get": 1, "asnumpy": 1, "__float__": 1, "__int__": 1, "__bool__": 1, "item": 1, "tolist": 1}


def test_every_call_into_the_module_is_counted_and_results_stay_on_the_device():
    a = xp.asarray([[1.0, 2.0], [3.0, 4.0]])
    with device_double.counting() as counts:
        b = xp.exp(a) * 2.0 + a          # a function and two operators
        total = b.sum()                  # a method; NumPy would give a host scalar, CuPy a 0-d array
        out = xp.empty_like(a)
        same = xp.multiply(a, a, out=out)
    assert counts.calls == 6 and counts.syncs == 0
    assert dict(counts.names) == {"exp": 1, "__mul__": 1, "__add__": 1, "sum": 1, "empty_like": 1, "multiply": 1}
    assert type(total) is device_double.DeviceArray and total.shape == ()
    assert same is out  # out= gives back the very array passed
    assert float(total) == pytest.approx(2 * numpy.exp([1.0, 2.0, 3.0, 4.0]).sum() + 10)


def test_the_generator_draws_numpys_numbers_as_device_arrays():
    draws = xp.random.default_rng(3).standard_normal(4, dtype=numpy.float32)
    assert type(draws) is device_double.DeviceArray
    numpy.testing.assert_array_equal(draws.get(), numpy.random.default_rng(3).standard_normal(4, dtype=numpy.float32))
