"""The array backend: NumPy on the CPU or CuPy on an NVIDIA GPU.

Every other module is written once, against the array module returned here (called ``xp``, as in
Chainer). An op never imports NumPy or CuPy to compute: it asks ``array_module(x)`` for the module
that owns its input, so the same line runs on either device.

Choosing a backend::

    import minigan
    minigan.set_backend("cupy")          # or MINIGAN_BACKEND=cupy in the environment
    be = minigan.get_backend()
    be.xp, be.name, be.dtype            # the array module, "cupy", float32
    rng = be.rng(seed=0)                # a seeded generator on that device

The default dtype is float32 (training); gradient checks pass float64 arrays explicitly.

``register_backend`` lets another array module stand in for a device (the tests register a strict
NumPy-backed double of CuPy this way); the package itself only ever knows NumPy and CuPy.
"""

import ctypes
import os
import sys

import numpy

DEFAULT_DTYPE = numpy.float32
BACKEND_NAMES = ("numpy", "cupy")


class BackendError(RuntimeError):
    """The requested backend cannot be used (unknown name, CuPy missing, no GPU)."""


class Backend:
    """One array library and everything minigan needs to know about it.

    Attributes:
        name:  ``"numpy"`` or ``"cupy"``.
        xp:    the array module (``numpy`` or ``cupy``).
        dtype: the default floating dtype for parameters and data (float32).
    """

    def __init__(self, name, xp):
        self.name = name
        self.xp = xp
        self.dtype = xp.dtype(DEFAULT_DTYPE)

    def rng(self, seed=None):
        """A random generator on this device; the same seed (an int in [0, 2**64), see ``check_seed``)
        gives the same stream on the same backend, None a fresh unpredictable one.

        NumPy: ``numpy.random.default_rng`` (PCG64). CuPy: a ``cupy.random.Generator`` over cuRAND's
        Philox4x32-10, a counter-based generator: setting one up is one cheap kernel, where CuPy's default
        XORWOW must skip every one of its ~10⁵ per-thread states ahead to its own subsequence.
        """
        seed = None if seed is None else check_seed(seed, f"Backend({self.name!r}).rng")
        if self.name == "cupy":
            return self.xp.random.Generator(self.xp.random.Philox4x3210(seed))
        return self.xp.random.default_rng(seed)

    def reseed(self, generator, seed):
        """Put ``generator`` (made by ``rng``) back at the start of the stream ``rng(seed)`` would give, in place.

        Why in place: the training loop restarts the stream every iteration (so that iteration t draws
        the same numbers whether or not the run was resumed before it), and it keeps one generator for
        the whole run instead of building a new one each time. NumPy: the bit generator's state is
        overwritten, so the numbers are exactly those of ``rng(seed)``. CuPy: the Generator gets a fresh
        Philox bit generator (its set-up is counter arithmetic, no skip-ahead).
        """
        if self.name == "cupy":
            generator.bit_generator = self.xp.random.Philox4x3210(seed)
        else:
            generator.bit_generator.state = type(generator.bit_generator)(seed).state
        return generator

    def asarray(self, data, dtype=None):
        """``data`` (NumPy array, CuPy array, list, scalar) as an array on this device."""
        return self.xp.asarray(data, dtype=dtype)

    def to_numpy(self, array):
        """A NumPy copy of ``array`` (a no-op for NumPy arrays)."""
        return to_numpy(array)

    def synchronize(self):
        """Wait for queued device work to finish (for honest timing on the GPU)."""
        if self.name == "cupy":
            self.xp.cuda.get_current_stream().synchronize()

    def __repr__(self):
        return f"Backend({self.name!r}, dtype={self.dtype})"


def _load_cupy():
    try:
        import cupy
    except ImportError as error:
        raise BackendError(
            "backend 'cupy' needs CuPy, which is not installed: install the CuPy wheel for your CUDA "
            "version (for example `pip install cupy-cuda12x`, or `pip install -e '.[gpu]'`), "
            "or use backend='numpy'"
        ) from error
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as error:  # CUDA driver missing or broken: CuPy raises its own runtime errors
        raise BackendError(f"backend 'cupy' found CuPy but no usable CUDA GPU ({error}); use backend='numpy'") from error
    if count < 1:
        raise BackendError("backend 'cupy' found CuPy but no CUDA GPU; use backend='numpy'")
    return cupy


def keep_freed_memory():
    """Ask glibc to keep freed large blocks in the process instead of returning them to the OS.

    Why: by default glibc serves each array above ~128 KiB with a fresh ``mmap`` and gives it back with
    ``munmap`` when freed, so every op's output costs page faults on first touch. A training step frees
    and re-allocates the same sizes hundreds of times, and keeping the memory saves those page faults
    every time (the DCGAN iteration's speed-up is in ``benchmarks/README.md``). The cost: the process
    keeps its peak memory until it exits. Applied when the NumPy backend is created; set
    ``MINIGAN_KEEP_FREED_MEMORY=0`` to leave the allocator alone. Returns True if it was applied.
    """
    if os.environ.get("MINIGAN_KEEP_FREED_MEMORY", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, …): nothing to tune
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # from glibc's <malloc.h>
    return bool(mallopt(M_MMAP_THRESHOLD, 1 << 30) and mallopt(M_TRIM_THRESHOLD, 2**31 - 1))


_registered = {}        # name -> array module, for backends added with register_backend
_registered_types = {}  # array type -> its array module


def register_backend(name, xp, array_type):
    """Make the array module ``xp``, whose arrays are of class ``array_type``, selectable as ``name``.

    After this, ``set_backend(name)`` creates parameters and data with ``xp``, and ``array_module``
    recognises ``array_type`` as ``xp``'s. ``xp`` must offer the NumPy/CuPy functions minigan calls,
    ``xp.asnumpy`` (the explicit copy to the host, as CuPy has) and ``xp.random.default_rng``. Used by
    the tests to run everything on a strict stand-in for a GPU; the names "numpy" and "cupy" are taken.
    """
    if name in BACKEND_NAMES:
        raise BackendError(f"register_backend: {name!r} is built in; choose another name")
    _registered[name] = xp
    _registered_types[array_type] = xp


def _make_backend(name):
    if isinstance(name, str) and name in _registered:
        return Backend(name, _registered[name])
    if not isinstance(name, str) or name.lower() not in BACKEND_NAMES:
        names = ", ".join(BACKEND_NAMES + tuple(_registered))
        raise BackendError(f"unknown backend {name!r}: expected one of {names}")
    name = name.lower()
    if name == "numpy":
        keep_freed_memory()
        return Backend("numpy", numpy)
    return Backend("cupy", _load_cupy())


_current = None


def set_backend(name):
    """Make ``name`` ("numpy" or "cupy") the backend for new tensors and parameters; returns it."""
    global _current
    _current = _make_backend(name)
    return _current


def get_backend():
    """The current backend: the last ``set_backend``, else ``MINIGAN_BACKEND``, else NumPy."""
    global _current
    if _current is None:
        _current = _make_backend(os.environ.get("MINIGAN_BACKEND", "numpy"))
    return _current


# Seeds are ints in [0, 2**64). NumPy's and CuPy's generators both hand an int seed to NumPy's
# SeedSequence, which takes any non-negative int, but hashes it word by word (a seed of a million
# bits, one mistyped exponent away, looks like a hang), and 64 bits is the widest integer a NumPy
# array, a checkpoint's counters or another framework (PyTorch's manual_seed) can hold.
SEED_LIMIT = 2**64


def check_seed(value, name="seed"):
    """``value`` as a Python int in [0, 2**64), or a TypeError/ValueError that names ``name`` and the range.

    Python and NumPy integers are accepted; bools, floats (even 3.0), strings and sequences are not, so
    that a mistyped seed fails here rather than deep inside NumPy's SeedSequence (or, for True, silently).
    """
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)):
        raise TypeError(f"{name}: expected an int in [0, 2**64), got {value!r} (a {type(value).__name__})")
    if not 0 <= value < SEED_LIMIT:
        raise ValueError(f"{name}: expected an int in [0, 2**64), got {value}")
    return int(value)


_seed = None
_generators = {}  # backend name -> (Backend, its default generator)


def seed(value):
    """Seed the default generator of every backend (used by initialisers, dropout and noise samplers).

    ``value``: an int in [0, 2**64) (see ``check_seed``), or None for fresh, unpredictable entropy. The
    same seed on the same backend gives the same parameters, noise and losses. A generator already made is
    restarted in place (``Backend.reseed``), not replaced, so that seeding every training iteration costs
    no new generator.
    """
    global _seed
    _seed = None if value is None else check_seed(value, "minigan.seed")
    for made_by, generator in _generators.values():
        made_by.reseed(generator, _seed)


def default_rng():
    """The current backend's default generator, made from the last ``seed`` (unseeded if none)."""
    backend = get_backend()
    if backend.name not in _generators:
        _generators[backend.name] = (backend, backend.rng(_seed))
    return _generators[backend.name][1]


def cupy_available():
    """True when CuPy imports and sees at least one GPU (used by tests to skip)."""
    try:
        _load_cupy()
    except BackendError:
        return False
    return True


def array_module(*arrays):
    """The array module that owns ``arrays``: cupy if any is a CuPy array (or a registered backend's
    module for its arrays), else numpy.

    Checked by the class's module name so that NumPy-only machines never import CuPy.
    """
    for array in arrays:
        if type(array).__module__.startswith("cupy"):
            import cupy

            return cupy
        if _registered_types and type(array) in _registered_types:
            return _registered_types[type(array)]
    return numpy


def to_numpy(array):
    """A NumPy array holding ``array``'s values (copied off the device for CuPy arrays: ``xp.asnumpy``)."""
    xp = array_module(array)
    if xp is not numpy:
        return xp.asnumpy(array)
    return numpy.asarray(array)
