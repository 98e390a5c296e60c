"""Shared test set-up: hypothesis profiles and the backend fixture.

Every op test takes the ``xp`` fixture and so runs once per backend: NumPy always, CuPy when CuPy and a
GPU are present (otherwise that case is reported as skipped, never failed).
"""

import importlib.util
import os
import sys

import numpy
import pytest
from hypothesis import HealthCheck, settings

from minigan import backend

# The ``xp`` fixture only selects an array module, so sharing it across hypothesis examples is safe.
_QUIET = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
settings.register_profile("ci", max_examples=20, deadline=None, print_blob=True, suppress_health_check=_QUIET)
settings.register_profile("dev", max_examples=50, deadline=None, suppress_health_check=_QUIET)
settings.register_profile("thorough", max_examples=500, deadline=None, suppress_health_check=_QUIET)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

CUPY = backend.cupy_available()
requires_cupy = pytest.mark.skipif(not CUPY, reason="CuPy with a CUDA GPU is not available")


@pytest.fixture(params=["numpy", pytest.param("cupy", marks=requires_cupy)])
def xp(request):
    """The array module of each available backend, made current for the test's duration."""
    previous = backend.get_backend().name
    chosen = backend.set_backend(request.param)
    backend.seed(0)
    yield chosen.xp
    backend.set_backend(previous)


@pytest.fixture(autouse=True)
def _default_backend():
    """Each test starts on NumPy with a fixed seed, whatever the previous test did."""
    backend.set_backend("numpy")
    backend.seed(0)
    yield


def to_numpy(array):
    return backend.to_numpy(array)


def assert_close(actual, expected, rtol=1e-6, atol=1e-9):
    numpy.testing.assert_allclose(to_numpy(actual), to_numpy(expected), rtol=rtol, atol=atol)


# ----- the example scripts ------------------------------------------------------------------------
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"  # the first 8 bytes of every PNG file


def example_path(name):
    """The path of ``examples/<name>.py``."""
    return os.path.join(EXAMPLES, f"{name}.py")


def load_example(name):
    """``examples/<name>.py`` imported as a module (the examples are scripts, not a package).

    Run as ``python examples/<name>.py`` a script finds its sibling ``examples/common.py`` because Python
    puts the script's folder on ``sys.path``; here the folder is put there the same way.
    """
    if EXAMPLES not in sys.path:
        sys.path.insert(0, EXAMPLES)
    spec = importlib.util.spec_from_file_location(f"example_{name}", example_path(name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def assert_usage_error(parse_args, flags, message, capsys):
    """``parse_args(flags)`` stops as argparse does for a bad flag (exit status 2), with ``message`` on stderr."""
    with pytest.raises(SystemExit) as exit_info:
        parse_args(flags)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
