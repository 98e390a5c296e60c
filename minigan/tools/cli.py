"""Argument types for minigan's command-line programs (the examples, the evaluator, the benchmarks).

Each turns a flag's text into a number or raises ``argparse.ArgumentTypeError``, which argparse reports
as ``--flag: expected a positive integer, got '0'`` and exit status 2: a bad flag never gives a traceback.
"""

import argparse
import math


def _integer(text, smallest, what):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < smallest:
        raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
    return value


def positive_int(text):
    """An integer ≥ 1."""
    return _integer(text, 1, "a positive integer")


def non_negative_int(text):
    """An integer ≥ 0."""
    return _integer(text, 0, "a non-negative integer")


def _number(text, accepted, what, range_what):
    """``float(text)`` if ``accepted(value)``; else the error "expected {what}" (not a number at all) or
    "expected {range_what}" (a number out of range)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if not accepted(value):
        raise argparse.ArgumentTypeError(f"expected {range_what}, got {text}")
    return value


def positive_float(text):
    """A finite number > 0."""
    return _number(text, lambda v: v > 0 and math.isfinite(v), "a positive number", "a positive finite number")


def non_negative_float(text):
    """A finite number ≥ 0."""
    return _number(text, lambda v: v >= 0 and math.isfinite(v), "a non-negative number", "a non-negative finite number")


def number_between(low, high):
    """The type of a flag that takes a number in [low, high] (a range outside which the value means nothing)."""
    def number(text):
        return _number(text, lambda v: low <= v <= high, "a number", f"a number between {low:g} and {high:g}")
    number.__name__ = f"number in [{low:g}, {high:g}]"
    return number


def open_unit_interval(text):
    """A number strictly between 0 and 1 (a decay rate such as an average's β)."""
    return _number(text, lambda v: 0 < v < 1, "a number between 0 and 1", "a number between 0 and 1 (both excluded)")


def seed_value(text):
    """A seed: an integer in [0, 2**64), the range ``minigan.seed`` accepts."""
    value = _integer(text, 0, "a seed, an integer in [0, 2**64)")
    if value >= 2**64:
        raise argparse.ArgumentTypeError(f"expected a seed, an integer in [0, 2**64), got {value}")
    return value
