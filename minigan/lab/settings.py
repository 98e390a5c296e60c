"""The lab's settings: every knob the page turns, its accepted range, and the presets that retell the lectures.

A setting arrives as JSON from the page (or from a script, ``POST /api/config``), so each one is checked
here, at the boundary, and a bad one is refused with one line naming the field and what it accepts
("g_lr: expected a number in (0, 1], got -1") — the server answers that line with HTTP 400 and trains on.

Two kinds of setting:

* **live** ones change how the *next* step trains and keep the networks as they are: the objective, k,
  each player's learning rate and optimiser, R1, the batch size, the data. (A new optimiser starts
  with fresh moments: Adam's running averages belong to the optimiser that made them.)
* **structural** ones change the networks' shapes: the number and width of G's and D's hidden layers
  and the noise dimension. A network of another shape cannot keep its weights, so changing one of
  these rebuilds both networks from the seed, as a reset does (``STRUCTURAL``).

``check_settings(changes, current)`` returns the new settings or raises ``SettingError``.
"""

import math
import numbers

from .distributions import DATA_NAMES, check_drawn_points

OBJECTIVES = ("minimax", "non-saturating", "wgan-gp", "lsgan")
OPTIMIZERS = ("sgd", "adam")


class SettingError(ValueError):
    """A setting the lab cannot take; its message is the one line the page shows."""


def _integer(low, high):
    def check(name, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
            raise SettingError(f"{name}: expected an integer in [{low}, {high}], got {value!r}")
        return int(value)
    return check


def _number(low, high, low_open=False):
    def check(name, value):
        bracket = "(" if low_open else "["
        if (isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value)
                or not (value > low if low_open else value >= low) or not value <= high):
            raise SettingError(f"{name}: expected a finite number in {bracket}{low:g}, {high:g}], got {value!r}")
        return float(value)
    return check


def _choice(choices):
    def check(name, value):
        if value not in choices:
            raise SettingError(f"{name}: expected one of {', '.join(choices)}, got {value!r}")
        return value
    return check


def _drawn(name, value):
    try:
        return check_drawn_points(value)
    except ValueError as error:
        raise SettingError(f"{name}: {error}") from None


# name -> (check, default). The defaults are the "balanced" preset: the ring learnt in about a minute of play.
FIELDS = {
    "data": (_choice(DATA_NAMES), "ring"),
    "drawn": (_drawn, None),                        # the user's points, [[x, y], …]; used when data is "drawn"
    "objective": (_choice(OBJECTIVES), "non-saturating"),
    "r1_gamma": (_number(0.0, 100.0), 0.0),         # γ of R1 (Mescheder et al. 2018); 0 is off
    "k": (_integer(1, 20), 1),                      # discriminator steps per generator step
    "batch_size": (_integer(8, 1024), 256),
    "g_lr": (_number(0.0, 1.0, low_open=True), 1e-3),
    "d_lr": (_number(0.0, 1.0, low_open=True), 1e-3),
    "g_optimizer": (_choice(OPTIMIZERS), "adam"),
    "d_optimizer": (_choice(OPTIMIZERS), "adam"),
    "g_layers": (_integer(1, 4), 2),
    "g_width": (_integer(2, 256), 128),
    "d_layers": (_integer(1, 4), 2),
    "d_width": (_integer(2, 256), 128),
    "noise_dim": (_integer(1, 16), 2),
}
DEFAULTS = {name: default for name, (_, default) in FIELDS.items()}
STRUCTURAL = ("g_layers", "g_width", "d_layers", "d_width", "noise_dim")


def check_settings(changes, current=None):
    """``current`` (default: ``DEFAULTS``) updated by ``changes``, a dict from JSON; each value checked.

    Refuses an unknown field, a value out of its range, R1 with an objective it does not belong to, and
    drawn data without points.
    """
    if not isinstance(changes, dict):
        raise SettingError(f"settings: expected a JSON object of fields, got {type(changes).__name__}")
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise SettingError(f"{unknown[0]}: unknown setting; the settings are {', '.join(FIELDS)}")
    settings = dict(DEFAULTS if current is None else current)
    for name, value in changes.items():
        settings[name] = FIELDS[name][0](name, value)
    if settings["r1_gamma"] > 0 and settings["objective"] not in ("minimax", "non-saturating"):
        raise SettingError(f"r1_gamma: R1 penalises the standard objective's D (minimax or non-saturating), "
                           f"not objective {settings['objective']!r}; set r1_gamma to 0 with it")
    if settings["data"] == "drawn" and settings["drawn"] is None:
        raise SettingError("drawn: data 'drawn' needs the drawn points, [[x, y], …]; draw some first")
    return settings


# The presets retell the lectures. Each is a full set of settings (the rest from DEFAULTS) and a reset.
PRESETS = {
    "balanced": ({}, "G and D of the same size, non-saturating loss, k = 1: G spreads over the ring's 8 modes."),
    "strong-d": ({"d_layers": 3, "d_width": 256, "d_lr": 3e-3, "k": 3},
                 "D too strong (3 layers of 256, 3 steps per G step, 3× the learning rate): G collapses onto a few modes."),
    "wgan-gp": ({"objective": "wgan-gp", "k": 5},
                "WGAN-GP (Gulrajani et al. 2017) on the same ring: a critic with the gradient penalty, 5 critic steps per G step."),
}


def preset(name):
    """The settings of preset ``name``: ``DEFAULTS`` with its changes."""
    if name not in PRESETS:
        raise SettingError(f"name: expected one of {', '.join(PRESETS)}, got {name!r}")
    return check_settings(PRESETS[name][0])
