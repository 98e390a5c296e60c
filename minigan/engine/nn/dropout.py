"""``Dropout``: inverted dropout in training mode, the identity in eval mode. Its op is ``ops.dropout.dropout``."""

from ..checks import finite_number
from ..ops.dropout import dropout
from .module import Module


class Dropout(Module):
    """Zero each unit with probability p and scale the rest by 1/(1 − p) while training; identity in eval.

    ``rng`` (optional) draws the masks; by default the backend's ``default_rng()`` (seeded by ``minigan.seed``).
    """

    def __init__(self, p=0.5, rng=None):
        if not 0 <= finite_number("Dropout", "p", p) < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p, self.rng = p, rng

    def forward(self, x):
        return dropout(x, self.p, training=self.training, rng=self.rng)

    def extra_repr(self):
        return f"p={self.p}"
