"""Argument checks shared by the engine's public API: hyper-parameters and saved state.

A mistake is caught at the call the user made, with one line naming the function, the argument, what
was expected and what was found, rather than as a traceback from inside NumPy later or, worse, as a
run that silently trains on NaN. Two kinds of value need the same care in several places:

* **numbers** such as an optimiser's ``lr``: a real, finite number, not a bool (``lr=True`` is a
  slip, not 1.0) and not a string. ``inf`` and ``NaN`` compare in surprising ways (``inf > 0`` holds,
  ``NaN < 0`` does not), so range checks alone let them through; ``finite_number`` does not.
* **saved arrays** handed to ``load_state_dict`` (from a checkpoint, perhaps edited by hand): numeric,
  of the expected shape, and finite once converted to the dtype they are loaded into (a float64
  1e300 becomes inf in float32). ``state_array`` checks all three and returns a NumPy array.
"""

import math
import numbers

import numpy

from .backend import to_numpy


def finite_number(owner, name, value):
    """``value`` itself if it is a real, finite number; else a TypeError or ValueError naming ``owner`` and ``name``.

    Python and NumPy ints and floats pass; bools, strings, None, complex numbers, arrays, inf and NaN do not.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {name} must be a real number, got {value!r} (a {type(value).__name__})")
    if not math.isfinite(value):
        raise ValueError(f"{owner}: {name} must be finite, got {value!r}")
    return value


def boolean(owner, name, value):
    """``value`` as a bool if it is True or False (a NumPy bool too); else a TypeError naming ``owner`` and ``name``.

    Why not ``bool(value)``: every non-empty string is true, so ``skips='no'`` would switch skips on;
    and a number given for a flag is more often a slip for the argument beside it than a choice.
    """
    if isinstance(value, (bool, numpy.bool_)):
        return bool(value)
    raise TypeError(f"{owner}: {name} must be True or False, got {value!r} (a {type(value).__name__})")


def positive_int(owner, name, value):
    """``value`` as an int if it is an integer ≥ 1 (a NumPy integer too); else a TypeError or ValueError naming
    ``owner`` and ``name``. Bools are refused: ``True`` is 1 to Python but never meant as a count."""
    if isinstance(value, (bool, numpy.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{owner}: {name} must be a positive int, got {value!r} (a {type(value).__name__})")
    if value < 1:
        raise ValueError(f"{owner}: {name} must be a positive int, got {value!r}")
    return int(value)


def state_array(owner, key, value, shape, dtype):
    """``value`` as a NumPy array of ``dtype`` and ``shape`` with every entry finite, or an error naming ``key``.

    Args:
        owner: who is loading, for the message (``"Linear.load_state_dict"``).
        key: the entry's name in the state dict (``"fc.weight"``, ``"m"``).
        value: a NumPy or CuPy array, a NumPy scalar, or a nested list of numbers.
        shape, dtype: what the array it is copied into has.

    Raises ``TypeError`` for a non-numeric value (strings, objects, complex numbers), ``ValueError`` for
    a wrong shape, or for NaN or ±inf after the conversion to ``dtype`` (an overflowing cast included).
    """
    try:
        array = numpy.asarray(to_numpy(value))
    except (TypeError, ValueError) as error:
        raise TypeError(f"{owner}: {key!r} is not an array of numbers ({error})") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: {key!r} must be an array of real numbers, got dtype {array.dtype}")
    if tuple(array.shape) != tuple(shape):
        raise ValueError(f"{owner}: {key!r} has shape {tuple(array.shape)} in the state, expected {tuple(shape)}")
    with numpy.errstate(over="ignore", invalid="ignore"):  # an overflowing cast gives inf: reported just below
        array = array.astype(dtype, copy=False)
    if array.dtype.kind == "f" and array.size:
        finite = numpy.isfinite(array)
        if not finite.all():
            bad = int(array.size - numpy.count_nonzero(finite))
            first = numpy.unravel_index(int(numpy.argmin(finite)), array.shape)
            raise ValueError(f"{owner}: {key!r} holds {bad} non-finite value(s) of {array.size} (NaN or ±inf in {dtype}; "
                             f"the first at index {tuple(int(i) for i in first)} is {array[first]}); expected finite numbers")
    return array
