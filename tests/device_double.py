"""A strict device double: an array module built on NumPy that keeps CuPy's rules, and counts.

CuPy arrays live in GPU memory, so CuPy refuses what would silently copy them to the host: ``numpy.asarray``
of a CuPy array (and so ``numpy.testing`` on one) raises, and an op that mixes a CuPy array with a NumPy
array raises. Code that passes on NumPy can therefore still fail on the first GPU it meets. This module
(``strict`` below) lets the whole test suite run under those rules on any machine:

* its arrays (``DeviceArray``) hold a NumPy array "on the device"; the only ways back to the host are
  the explicit ones CuPy has: ``a.get()``, ``strict.asnumpy(a)``, and the scalar conversions ``float(a)``,
  ``int(a)``, ``bool(a)``, ``a.item()``, ``a.tolist()`` (and printing one);
* ``numpy.asarray(a)``, ``numpy.testing`` on it, any NumPy function or ufunc given one, and any op mixing
  one with a NumPy array raise ``TypeError``, as on CuPy. In one respect it is stricter than CuPy: a NumPy
  array is never taken where CuPy would copy it to the device on the quiet (an index array, a value
  assigned into a slice). Host data enters only through ``strict.asarray`` / ``strict.array``;
* it counts every device→host transfer (``syncs``: on a GPU each one waits for all queued work) and every
  call into the array module — a function, a method or an operator on its arrays (``calls``: a stand-in
  for a kernel launch; views and reshapes count too, as each costs a Python-level call on CuPy).

``install()`` registers it with ``minigan.engine.backend`` as the backend "strict". ``counting()`` gives
the counts of a block::

    with device_double.counting() as counts:
        gan.train_iteration(batches)
    counts.syncs, counts.calls, counts.names   # names: calls per function, for a report

The random generator ``strict.random.default_rng(seed)`` draws NumPy's numbers (PCG64) as device arrays,
so a seeded run gives the same losses on the double as on NumPy.
"""

import collections
import contextlib
import numbers
import types

import numpy

SYNC_NAMES = ("item", "tolist", "tobytes", "get")  # the methods that copy values to the host


class Counts:
    """How many device→host syncs and array-module calls were made, in all and per name."""

    def __init__(self):
        self.syncs, self.calls = 0, 0
        self.names = collections.Counter()
        self.sync_names = collections.Counter()

    def call(self, name):
        self.calls += 1
        self.names[name] += 1

    def sync(self, name):
        self.syncs += 1
        self.sync_names[name] += 1


counts = Counts()  # the running totals; ``counting()`` swaps in a fresh one for a block


@contextlib.contextmanager
def counting():
    """The syncs and calls made inside the block (on top of which the running totals keep counting)."""
    global counts
    outer, inner = counts, Counts()
    counts = inner
    try:
        yield inner
    finally:
        counts = outer
        outer.syncs += inner.syncs
        outer.calls += inner.calls
        outer.names.update(inner.names)
        outer.sync_names.update(inner.sync_names)


# ----- moving values in and out ---------------------------------------------------------------------
def _refuse_host_array(where):
    raise TypeError(f"{where}: a NumPy array (host memory) meets a device array; CuPy refuses this. Move it "
                    "to the device explicitly (xp.asarray) or the device array to the host (.get())")


def _unwrap(value, where):
    """``value`` with every DeviceArray replaced by its NumPy array; a NumPy array is refused."""
    if type(value) is DeviceArray:
        return value._host
    if isinstance(value, numpy.ndarray):
        _refuse_host_array(where)
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(item, where) for item in value)
    if isinstance(value, dict):
        return {key: _unwrap(item, where) for key, item in value.items()}
    return value


def _wrap(value):
    """Results back "on the device": arrays (and NumPy scalars, which CuPy returns as 0-d arrays) wrapped."""
    if isinstance(value, numpy.ndarray):
        return DeviceArray(value)
    if isinstance(value, numpy.generic):
        return DeviceArray(numpy.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(item) for item in value)
    if isinstance(value, list):
        return [_wrap(item) for item in value]
    return value


def _operand(value, where):
    """One operand of an operator: a DeviceArray's array, a scalar as it is; a NumPy array refused;
    anything else NotImplemented (so that Python tries the other operand, e.g. a minigan Tensor)."""
    if type(value) is DeviceArray:
        return value._host
    if isinstance(value, numpy.ndarray):
        _refuse_host_array(where)
    if isinstance(value, (numbers.Number, numpy.generic)):
        return value
    return NotImplemented


def _index(key, where):
    """An index: ints, slices, None, Ellipsis and device arrays; a NumPy array or a list is refused."""
    if type(key) is DeviceArray:
        return key._host
    if isinstance(key, tuple):
        return tuple(_index(part, where) for part in key)
    if isinstance(key, (numpy.ndarray, list)):
        raise TypeError(f"{where}: index is a host {type(key).__name__}; on a GPU every use copies it to the "
                        "device: make it a device array once (xp.asarray)")
    return key


# ----- the array ---------------------------------------------------------------------------------------
def _binary(name):
    def method(self, other):
        other = _operand(other, f"DeviceArray.{name}")
        if other is NotImplemented:
            return NotImplemented
        counts.call(name)
        return _wrap(getattr(self._host, name)(other))

    method.__name__ = name
    return method


def _inplace(name):
    def method(self, other):
        other = _operand(other, f"DeviceArray.{name}")
        if other is NotImplemented:
            return NotImplemented
        counts.call(name)
        getattr(self._host, name)(other)
        return self

    method.__name__ = name
    return method


def _unary(name):
    def method(self):
        counts.call(name)
        return _wrap(getattr(self._host, name)())

    method.__name__ = name
    return method


def _to_host_scalar(name):
    def method(self):
        counts.sync(name)
        return getattr(self._host, name)()

    method.__name__ = name
    return method


class DeviceArray:
    """An array in (pretend) device memory: NumPy underneath, CuPy's rules on top."""

    __slots__ = ("_host",)
    __array_ufunc__ = None  # NumPy ufuncs refuse it (and ``numpy_array + a`` comes to __radd__, which refuses)
    __hash__ = None

    def __init__(self, host):
        self._host = host

    # metadata lives on the host in CuPy too: no sync, no call
    shape = property(lambda self: self._host.shape)
    dtype = property(lambda self: self._host.dtype)
    ndim = property(lambda self: self._host.ndim)
    size = property(lambda self: self._host.size)
    strides = property(lambda self: self._host.strides)
    itemsize = property(lambda self: self._host.itemsize)
    nbytes = property(lambda self: self._host.nbytes)
    flags = property(lambda self: self._host.flags)

    @property
    def T(self):
        counts.call("T")
        return DeviceArray(self._host.T)

    def __len__(self):
        return len(self._host)

    # refused: the implicit ways to the host
    def __array__(self, *args, **kwargs):
        raise TypeError("Implicit conversion to a NumPy array is not allowed (CuPy refuses it too): "
                        "use .get() or xp.asnumpy() to copy a device array to the host")

    def __array_function__(self, function, types, args, kwargs):
        raise TypeError(f"numpy.{function.__name__} was given a device array: call the array's own module "
                        f"(xp.{function.__name__}), or copy it to the host first with .get()")

    def __getattr__(self, name):
        if name == "_host":  # not set yet (an object being copied): no recursion through _host below
            raise AttributeError(name)
        if name.startswith("__array") or name in ("ctypes", "data"):
            raise AttributeError(f"DeviceArray has no {name!r}: device memory is not host memory")
        attribute = getattr(self._host, name)
        if not callable(attribute):
            if isinstance(attribute, (numpy.ndarray, numpy.generic)):
                counts.call(name)
                return _wrap(attribute)
            return attribute
        if name in SYNC_NAMES:
            def to_host(*args, **kwargs):
                counts.sync(name)
                result = attribute(*args, **kwargs)
                return result.copy() if name == "get" else result
            return to_host

        def method(*args, **kwargs):
            counts.call(name)
            return _wrap(attribute(*_unwrap(args, f"DeviceArray.{name}"), **_unwrap(kwargs, f"DeviceArray.{name}")))
        return method

    def get(self):
        """The values as a NumPy array (a copy on the host): CuPy's explicit transfer."""
        counts.sync("get")
        return self._host.copy()

    # device -> host scalars: each one a sync
    __float__ = _to_host_scalar("__float__")
    __int__ = _to_host_scalar("__int__")
    __bool__ = _to_host_scalar("__bool__")
    __index__ = _to_host_scalar("__index__")
    __complex__ = _to_host_scalar("__complex__")

    def __repr__(self):
        counts.sync("__repr__")
        return f"DeviceArray({self._host!r})"

    __str__ = __repr__

    def __format__(self, spec):
        counts.sync("__format__")
        return format(self._host, spec)

    def __iter__(self):
        for i in range(len(self._host)):
            yield self[i]

    def __getitem__(self, key):
        counts.call("__getitem__")
        return _wrap(self._host[_index(key, "DeviceArray.__getitem__")])

    def __setitem__(self, key, value):
        value = _operand(value, "DeviceArray.__setitem__")
        if value is NotImplemented:
            raise TypeError(f"DeviceArray.__setitem__: cannot assign a {type(self).__name__} from a "
                            f"{type(value).__name__}; expected a device array or a scalar")
        counts.call("__setitem__")
        self._host[_index(key, "DeviceArray.__setitem__")] = value

    __neg__, __pos__, __abs__, __invert__ = (_unary(n) for n in ("__neg__", "__pos__", "__abs__", "__invert__"))


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor", "lshift", "rshift"):
    setattr(DeviceArray, f"__{_name}__", _binary(f"__{_name}__"))
    setattr(DeviceArray, f"__r{_name}__", _binary(f"__r{_name}__"))
    setattr(DeviceArray, f"__i{_name}__", _inplace(f"__i{_name}__"))
for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(DeviceArray, f"__{_name}__", _binary(f"__{_name}__"))


# ----- the module --------------------------------------------------------------------------------------
class _Function:
    """A NumPy function or ufunc (or one of a ufunc's methods, ``add.at``) made to take and give device arrays."""

    __slots__ = ("function", "name")

    def __init__(self, function, name):
        self.function, self.name = function, name

    def __call__(self, *args, **kwargs):
        counts.call(self.name)
        out = kwargs.get("out")
        result = self.function(*_unwrap(args, f"xp.{self.name}"), **_unwrap(kwargs, f"xp.{self.name}"))
        if type(out) is DeviceArray and result is out._host:
            return out  # the same device array the caller passed as out=
        return _wrap(result)

    def __getattr__(self, name):  # a ufunc's methods: add.at, maximum.reduce, …
        return _Function(getattr(self.function, name), f"{self.name}.{name}")


def _host_data(value, where):
    """What ``asarray``/``array`` may take: host data (the explicit upload) or a device array."""
    if type(value) is DeviceArray:
        return value._host
    if isinstance(value, (list, tuple)):
        return type(value)(_host_data(item, where) for item in value)
    return value


class Generator:
    """``numpy.random.Generator``'s draws, as device arrays; ``bit_generator`` is NumPy's (host) one."""

    def __init__(self, bit_generator):
        self._numpy = numpy.random.Generator(bit_generator)

    @property
    def bit_generator(self):
        return self._numpy.bit_generator

    def __getattr__(self, name):
        return _Function(getattr(self._numpy, name), f"random.{name}")


class _Namespace:
    """A NumPy submodule (``lib.stride_tricks``, ``linalg``): its functions wrapped, the rest passed through."""

    def __init__(self, module, prefix):
        self._module, self._prefix = module, prefix

    def __getattr__(self, name):
        return _lookup(getattr(self._module, name), f"{self._prefix}{name}")


def _lookup(attribute, name):
    if isinstance(attribute, types.ModuleType):
        return _Namespace(attribute, f"{name}.")
    if isinstance(attribute, type) or not callable(attribute):
        return attribute  # dtypes, scalar types, constants: host-side, as in CuPy
    return _Function(attribute, name)


class StrictModule(types.ModuleType):
    """The array module: ``strict.zeros``, ``strict.maximum``, ``strict.einsum`` … as NumPy's, on device arrays."""

    ndarray = DeviceArray

    def __init__(self):
        super().__init__("strict", __doc__)
        self.random = types.SimpleNamespace(default_rng=self._default_rng, Generator=Generator)

    def asarray(self, value, dtype=None, order=None):
        """Host data (NumPy array, list, scalar) copied to the device, or a device array (converted if asked)."""
        counts.call("asarray")
        return DeviceArray(numpy.asarray(_host_data(value, "xp.asarray"), dtype=dtype, order=order))

    def array(self, value, dtype=None, copy=True, order="K"):
        counts.call("array")
        return DeviceArray(numpy.array(_host_data(value, "xp.array"), dtype=dtype, copy=copy, order=order))

    def asnumpy(self, value):
        """A NumPy copy of a device array (CuPy's ``cupy.asnumpy``): the explicit device→host transfer."""
        if type(value) is not DeviceArray:
            return numpy.asarray(value)
        counts.sync("asnumpy")
        return value._host.copy()

    @staticmethod
    def _default_rng(seed=None):
        return Generator(numpy.random.PCG64(seed))

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _lookup(getattr(numpy, name), name)


strict = StrictModule()


def install(name="strict"):
    """Register the double with minigan as the backend ``name`` (``set_backend(name)`` then selects it)."""
    from minigan.engine import backend

    backend.register_backend(name, strict, DeviceArray)
    return strict
