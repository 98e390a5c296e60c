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


def positive_float(text):
    """A finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def non_negative_float(text):
    """A finite number ≥ 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {text!r}") from None
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a non-negative finite number, got {text}")
    return value


def open_unit_interval(text):
    """A number strictly between 0 and 1 (a decay rate such as an average's β)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1 (both excluded), got {text}")
    return value


def seed_value(text):
    """A seed: an integer in [0, 2**64), the range ``minigan.seed`` accepts."""
    value = _integer(text, 0, "a seed, an integer in [0, 2**64)")
    if value >= 2**64:
        raise argparse.ArgumentTypeError(f"expected a seed, an integer in [0, 2**64), got {value}")
    return value
