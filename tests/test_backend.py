"""The backend: choosing NumPy or CuPy, clear errors, seeded generators."""

import numpy
import pytest

import minigan
from minigan import backend
from conftest import CUPY


@pytest.mark.numpy_only("it selects the NumPy backend itself and checks that it is the default")
def test_numpy_is_the_default_with_float32():
    chosen = backend.set_backend("numpy")
    assert chosen.xp is numpy and chosen.dtype == numpy.float32
    assert minigan.Tensor([1.0, 2.0]).dtype == numpy.float32


def test_environment_variable_picks_the_backend(monkeypatch):
    monkeypatch.setattr(backend, "_current", None)
    monkeypatch.setenv("MINIGAN_BACKEND", "NumPy")
    assert backend.get_backend().name == "numpy"


def test_unknown_backend_names_the_value_and_the_choices():
    with pytest.raises(backend.BackendError, match=r"unknown backend 'torch'.*numpy, cupy"):
        backend.set_backend("torch")


def test_unknown_backend_from_environment(monkeypatch):
    monkeypatch.setattr(backend, "_current", None)
    monkeypatch.setenv("MINIGAN_BACKEND", "jax")
    with pytest.raises(backend.BackendError, match="unknown backend 'jax'"):
        backend.get_backend()


@pytest.mark.skipif(CUPY, reason="CuPy is available here, so it cannot be missing")
def test_missing_cupy_says_what_to_install():
    with pytest.raises(backend.BackendError, match=r"(pip install|no usable CUDA GPU|no CUDA GPU)"):
        backend.set_backend("cupy")


def test_cupy_missing_module_message(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_cupy(name, *args, **kwargs):
        if name == "cupy":
            raise ImportError("No module named 'cupy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cupy)
    with pytest.raises(backend.BackendError, match=r"needs CuPy, which is not installed.*pip install"):
        backend.set_backend("cupy")


def test_same_seed_same_stream(xp):
    backend.seed(123)
    first = backend.to_numpy(backend.default_rng().standard_normal(5))
    backend.seed(123)
    second = backend.to_numpy(backend.default_rng().standard_normal(5))
    backend.seed(124)
    third = backend.to_numpy(backend.default_rng().standard_normal(5))
    numpy.testing.assert_array_equal(first, second)
    assert not numpy.array_equal(first, third)


def test_array_module_and_to_numpy(xp):
    array = xp.arange(3.0)
    assert backend.array_module(array) is xp
    assert isinstance(backend.to_numpy(array), numpy.ndarray)
    assert backend.to_numpy(array).tolist() == [0.0, 1.0, 2.0]


def test_reseeding_in_place_restarts_exactly_the_stream_of_a_fresh_generator(xp):
    be = backend.get_backend()
    generator = be.rng(1)
    generator.standard_normal(7)
    assert be.reseed(generator, 5) is generator
    again = be.reseed(be.rng(2), 5)
    fresh = be.rng(5)
    draws = [backend.to_numpy(g.standard_normal(4, dtype=numpy.float32)) for g in (generator, again, fresh)]
    numpy.testing.assert_array_equal(draws[0], draws[2])
    numpy.testing.assert_array_equal(draws[1], draws[2])


def test_seed_restarts_the_default_generator_instead_of_replacing_it(xp):
    """One generator for a whole run: seeding every training iteration builds no new generator."""
    backend.seed(3)
    generator = backend.default_rng()
    first = backend.to_numpy(generator.standard_normal(3))
    backend.seed(3)
    assert backend.default_rng() is generator
    numpy.testing.assert_array_equal(backend.to_numpy(generator.standard_normal(3)), first)


def test_registering_a_backend_keeps_the_built_in_names():
    with pytest.raises(backend.BackendError, match="'cupy' is built in"):
        backend.register_backend("cupy", numpy, numpy.ndarray)


def test_allocator_tuning_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("MINIGAN_KEEP_FREED_MEMORY", "0")
    assert backend.keep_freed_memory() is False
    monkeypatch.delenv("MINIGAN_KEEP_FREED_MEMORY")
    import platform

    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert backend.keep_freed_memory() is True


BAD_SEEDS = {"-1": (-1, ValueError), "2**64": (2**64, ValueError), "10**400": (10**400, ValueError),
             "'abc'": ("abc", TypeError), "1.5": (1.5, TypeError), "3.0": (3.0, TypeError), "True": (True, TypeError),
             "[1, 2]": ([1, 2], TypeError), "int64(-5)": (numpy.int64(-5), ValueError)}


@pytest.mark.parametrize("bad, error", list(BAD_SEEDS.values()), ids=list(BAD_SEEDS))
def test_a_bad_seed_is_refused_at_the_call_naming_the_range(xp, bad, error):
    with pytest.raises(error, match=r"minigan.seed: expected an int in \[0, 2\*\*64\), got"):
        minigan.seed(bad)
    with pytest.raises(error, match=r"rng: expected an int in \[0, 2\*\*64\)"):
        backend.get_backend().rng(bad)


def test_seeds_across_the_whole_range_and_none_are_accepted(xp):
    for good in (0, 2**64 - 1, numpy.uint64(2**64 - 1), numpy.uint32(7), None):
        minigan.seed(good)
        backend.default_rng().standard_normal(2)
    minigan.seed(numpy.uint32(7))
    first = backend.to_numpy(backend.default_rng().standard_normal(3))
    minigan.seed(7)
    numpy.testing.assert_array_equal(first, backend.to_numpy(backend.default_rng().standard_normal(3)))
