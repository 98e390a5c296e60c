"""Shared test set-up: hypothesis profiles, the backend under test and the ``xp`` fixture.

The whole suite runs on one backend per run, chosen by ``MINIGAN_TEST_BACKEND``:

    python -m pytest                                   # numpy (the default)
    MINIGAN_TEST_BACKEND=strict python -m pytest       # the strict device double (tests/device_double.py)
    MINIGAN_TEST_BACKEND=cupy python -m pytest         # CuPy on a GPU

Every test starts on that backend with ``minigan.seed(0)``; the ``xp`` fixture is its array module. On a
backend other than NumPy, a ``Tensor`` that holds a NumPy array fails the test at once: it would mean the
test (or the code) left the device and silently ran on the host. A test that is NumPy-only by nature is
marked ``@pytest.mark.numpy_only("why")`` and is skipped, with that reason, on the other backends.
"""

import importlib.util
import os
import sys

import numpy
import pytest
from hypothesis import HealthCheck, settings

import device_double
from minigan import backend, nn
from minigan.engine import autograd

# The ``xp`` fixture only selects an array module, so sharing it across hypothesis examples is safe.
_QUIET = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
settings.register_profile("ci", max_examples=20, deadline=None, print_blob=True, suppress_health_check=_QUIET)
settings.register_profile("dev", max_examples=50, deadline=None, suppress_health_check=_QUIET)
settings.register_profile("thorough", max_examples=500, deadline=None, suppress_health_check=_QUIET)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

CUPY = backend.cupy_available()
TEST_BACKENDS = ("numpy", "strict", "cupy")
BACKEND = os.environ.get("MINIGAN_TEST_BACKEND", "numpy")


def pytest_configure(config):
    config.addinivalue_line("markers", "numpy_only(reason): runs on the NumPy backend only; the reason says why")
    if BACKEND not in TEST_BACKENDS:
        pytest.exit(f"MINIGAN_TEST_BACKEND={BACKEND!r}: expected one of {', '.join(TEST_BACKENDS)}", returncode=4)
    if BACKEND == "cupy" and not CUPY:
        try:
            backend.set_backend("cupy")
        except backend.BackendError as error:
            pytest.exit(f"MINIGAN_TEST_BACKEND=cupy: {error}", returncode=4)
    if BACKEND == "strict":
        device_double.install()


def pytest_collection_modifyitems(config, items):
    for item in items:
        marker = item.get_closest_marker("numpy_only")
        if marker is None:
            continue
        if not marker.args or not marker.args[0]:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.numpy_only needs a one-line reason")
        if BACKEND != "numpy":
            item.add_marker(pytest.mark.skip(reason=f"NumPy-only: {marker.args[0]}"))


def pytest_report_header(config):
    return f"minigan backend under test: {BACKEND} (MINIGAN_TEST_BACKEND)"


def pytest_terminal_summary(terminalreporter):
    if BACKEND == "strict":
        totals = device_double.counts
        terminalreporter.write_line(f"strict device double: {totals.calls} array-module calls, {totals.syncs} device→host syncs in all")


class HostTensorError(AssertionError):
    """A Tensor holds a NumPy array while the backend under test is another one."""


def _device_only_init(original):
    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if type(self.data) is numpy.ndarray or isinstance(self.data, numpy.generic):
            raise HostTensorError(f"a Tensor of shape {self.data.shape} holds a NumPy array while the backend under test "
                                  f"is {BACKEND!r}: build the test's arrays with the xp fixture (or mark the test numpy_only)")
    return __init__


@pytest.fixture(autouse=True)
def _backend_under_test(request, monkeypatch):
    """Each test starts on the backend under test with a fixed seed, whatever the previous test did; on a
    device backend every Tensor must hold a device array."""
    numpy_only = request.node.get_closest_marker("numpy_only") is not None
    backend.set_backend("numpy" if numpy_only else BACKEND)
    backend.seed(0)
    if BACKEND != "numpy" and not numpy_only:
        monkeypatch.setattr(autograd.Tensor, "__init__", _device_only_init(autograd.Tensor.__init__))
    yield


@pytest.fixture
def xp():
    """The array module of the backend under test (numpy, the strict double or cupy)."""
    return backend.get_backend().xp


def to_numpy(array):
    return backend.to_numpy(array)


def assert_close(actual, expected, rtol=1e-6, atol=1e-9):
    numpy.testing.assert_allclose(to_numpy(actual), to_numpy(expected), rtol=rtol, atol=atol)


# ----- networks whose outputs a test works out by hand ---------------------------------------------
class Multiply(nn.Module):
    """x ↦ factor·x, with ``factor`` a Tensor (a parameter, or a gradcheck's input): a generator or refiner
    whose outputs and gradients are worked out by hand (test_dualgan.py, test_simgan.py)."""

    def __init__(self, factor, dtype=numpy.float32):
        self.factor = nn.Parameter(backend.get_backend().xp.full(1, factor, dtype=dtype))

    def forward(self, x):
        return x * self.factor


def pixelwise_linear(weight, bias, dtype=numpy.float32):
    """D(x) = weight·x + bias at every pixel, a 1×1 convolution: a critic's scores, or a patch D's logits, by hand."""
    d = nn.Conv2d(1, 1, 1, dtype=dtype)
    d.weight.data[...] = weight
    d.bias.data[...] = bias
    return d


# ----- the example scripts ------------------------------------------------------------------------
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"  # the first 8 bytes of every PNG file


def example_path(name):
    """The path of ``examples/<name>.py``."""
    return os.path.join(EXAMPLES, f"{name}.py")


def load_example(name):
    """``examples/<name>.py`` imported as a module (the examples are scripts, not a package).

    Run as ``python examples/<name>.py`` a script finds its siblings (``examples/acgan.py`` imports
    ``examples/conditional_gan.py``) because Python puts the script's folder on ``sys.path``; here the
    folder is put there the same way.
    """
    if EXAMPLES not in sys.path:
        sys.path.insert(0, EXAMPLES)
    spec = importlib.util.spec_from_file_location(f"example_{name}", example_path(name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def interrupt_while_training(script, flags, first_line, environment):
    """Run ``examples/<script>.py`` with ``flags`` as a child process, send it Ctrl-C (SIGINT) once it prints
    a line starting with ``first_line`` (it is training), and return (exit status, stderr)."""
    import signal
    import subprocess

    child = subprocess.Popen([sys.executable, example_path(script), *map(str, flags)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=ROOT, env=environment)
    try:
        for line in child.stdout:  # wait until it trains: the first progress line
            if line.startswith(first_line):
                break
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=120)
    finally:
        child.kill()
    return child.returncode, stderr


def assert_same_history_files(first, second, length_key, length):
    """The runs in folders ``first`` and ``second`` wrote the same ``history.npz``, array for array, bit for
    bit; ``length_key`` holds ``length`` steps (so that two empty histories cannot pass)."""
    with numpy.load(os.path.join(first, "history.npz")) as a, numpy.load(os.path.join(second, "history.npz")) as b:
        assert len(a[length_key]) == length
        for name in a.files:
            numpy.testing.assert_array_equal(a[name], b[name])


def assert_resume_matches_one_run(example, flags, tmp_path, steps, cut, resume_flags=()):
    """``example.main``: a run of ``steps`` iterations, and one stopped after ``cut`` and resumed (with
    ``resume_flags``) to ``steps``, write the same history: a resume continues the run exactly."""
    whole, parts = tmp_path / "a", tmp_path / "b"
    assert example.main([*flags, "--steps", str(steps), "--out", str(whole)]) == 0
    assert example.main([*flags, "--steps", str(cut), "--out", str(parts)]) == 0
    assert example.main(["--resume", str(parts), "--steps", str(steps), *resume_flags]) == 0
    assert_same_history_files(whole, parts, "g_loss", steps)


def assert_usage_error(parse_args, flags, message, capsys):
    """``parse_args(flags)`` stops as argparse does for a bad flag (exit status 2), with ``message`` on stderr."""
    with pytest.raises(SystemExit) as exit_info:
        parse_args(flags)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def write_mnist_subset(tmp_path_factory, train, test):
    """The first ``train`` training and ``test`` test images of the shipped MNIST, as a user's mnist.npz in
    a new temporary folder; returns its path (for quick example runs, which take it as ``--data``)."""
    from minigan.tools.data import read_mnist

    arrays = read_mnist()
    path = tmp_path_factory.mktemp("data") / f"mnist_{train}_{test}.npz"
    numpy.savez(path, x_train=arrays["x_train"][:train], y_train=arrays["y_train"][:train],
                x_test=arrays["x_test"][:test], y_test=arrays["y_test"][:test])
    return str(path)


@pytest.fixture(scope="session")
def small_mnist(tmp_path_factory):
    """The first 400 training images and the first 100 test images, as a user's mnist.npz (for quick example runs)."""
    return write_mnist_subset(tmp_path_factory, 400, 100)
