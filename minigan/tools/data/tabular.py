"""A table as the rows a GAN reads and writes: one-hot categories, and mode-specific normalisation of the
continuous columns (Xu et al. 2019, "Modeling Tabular Data using Conditional GAN", CTGAN, §4.2).

Why not just scale a continuous column to [−1, 1]: a column such as the time of day has several modes
(the morning and the evening peak), and a generator ending in tanh, fitted with min–max scaling, has to
place narrow peaks with a single output. CTGAN §4.2 instead writes each value as *which mode it belongs
to* and *where it lies within that mode*:

    1. fit a Gaussian mixture with modes (η_k, φ_k) and weights π_k to the column, k = 1 … m;
    2. for a value c, the probability that each mode made it, ρ_k ∝ π_k N(c; η_k, φ_k), and one mode k
       sampled from ρ ("we sample one mode from given the probability density");
    3. c is represented by the one-hot β of that mode and the scalar α = (c − η_k) / (4φ_k), clipped to
       [−0.99, 0.99]: "α_{i,j} = (c_{i,j} − η_k) / (4φ_k)".

A row is then the concatenation, column by column, of α ⊕ β for a continuous column and the one-hot of
the category for a categorical one; the generator gives α through tanh and every one-hot block through a
(Gumbel-)softmax (``minigan/gans/ctgan.py``). Decoding inverts it: k = argmax β, c = 4φ_k α + η_k.

The paper fits a *variational* Gaussian mixture (which switches off the modes it does not need). Here an
ordinary mixture is fitted by expectation–maximisation, from ``modes`` starting components placed at
the column's quantiles (deterministic: no seed), and the components left with a weight below
``MIN_WEIGHT`` (CTGAN's code keeps modes of weight above 0.005) are dropped and the rest refitted.

    GaussianMixture(modes).fit(values)             EM in NumPy; .weights, .means, .stds; .log_likelihood(values)
    ModeSpecificNormaliser(modes).fit(values)      .encode(values, rng) -> (α (n,), mode (n,)); .decode(α, mode)
    TableEncoder(schema).fit(columns)              .encode(columns, rng) -> (n, width) float32; .decode(rows);
                                                   .spans: which slice of a row is which column, tanh or softmax
"""

from typing import NamedTuple

import numpy

MIN_WEIGHT = 0.005  # CTGAN's threshold: a mode with less weight is dropped
VARIANCE_FLOOR = 1e-6  # times the column's variance, added to every mode's: no mode collapses onto one value


class GaussianMixture:
    """A 1-D mixture Σ_k π_k N(x; μ_k, σ_k²), fitted by expectation–maximisation (Dempster et al. 1977).

    E step: the responsibility of mode k for xᵢ, rᵢₖ = π_k N(xᵢ; μ_k, σ_k²) / Σⱼ πⱼ N(xᵢ; μⱼ, σⱼ²), in logs
    (log-sum-exp over k, so a point far from every mode does not underflow to 0/0).
    M step: with n_k = Σᵢ rᵢₖ:  π_k = n_k / n,  μ_k = Σᵢ rᵢₖ xᵢ / n_k,  σ_k² = Σᵢ rᵢₖ (xᵢ − μ_k)² / n_k + floor.
    Each step does not decrease the log-likelihood Σᵢ log Σ_k π_k N(xᵢ; μ_k, σ_k²); it stops when the mean
    log-likelihood rises by less than ``tolerance``, or after ``iterations`` steps.
    """

    def __init__(self, modes=10, iterations=200, tolerance=1e-6):
        if isinstance(modes, bool) or not isinstance(modes, (int, numpy.integer)) or modes < 1:
            raise ValueError(f"GaussianMixture: modes must be a positive int, got {modes!r}")
        self.modes, self.iterations, self.tolerance = int(modes), iterations, tolerance

    def fit(self, values):
        x = _column("GaussianMixture.fit", values)
        if len(x) < self.modes:
            raise ValueError(f"GaussianMixture.fit: {len(x)} values cannot fit {self.modes} modes")
        floor = VARIANCE_FLOOR * max(float(x.var()), 1e-12)
        quantiles = (numpy.arange(self.modes) + 0.5) / self.modes
        self.weights = numpy.full(self.modes, 1.0 / self.modes)
        self.means = numpy.quantile(x, quantiles)                     # spread over the data: EM starts near every mode
        self.stds = numpy.full(self.modes, x.std() / self.modes + numpy.sqrt(floor))
        self._em(x, floor)
        keep = self.weights >= min(MIN_WEIGHT, self.weights.max())   # the heaviest mode stays, however many were asked
        if not keep.all():  # drop the modes EM left (almost) empty, and let the others take their points
            self.weights, self.means, self.stds = self.weights[keep] / self.weights[keep].sum(), self.means[keep], self.stds[keep]
            self._em(x, floor)
        return self

    def _em(self, x, floor):
        previous = -numpy.inf
        for _ in range(self.iterations):
            log_joint = self._log_joint(x)                                          # (n, k): log π_k N(xᵢ; μ_k, σ_k²)
            log_total = _logsumexp(log_joint)                                       # (n,)
            responsibility = numpy.exp(log_joint - log_total[:, None])              # (n, k), rows sum to 1
            counts = responsibility.sum(axis=0) + 1e-12                             # n_k
            self.weights = counts / len(x)
            self.means = (responsibility * x[:, None]).sum(axis=0) / counts
            self.stds = numpy.sqrt((responsibility * (x[:, None] - self.means) ** 2).sum(axis=0) / counts + floor)
            likelihood = float(log_total.mean())
            if likelihood - previous < self.tolerance:
                break
            previous = likelihood

    def _log_joint(self, x):
        """log π_k + log N(x; μ_k, σ_k²), (n, k)."""
        z = (x[:, None] - self.means) / self.stds
        return numpy.log(self.weights) - 0.5 * z * z - numpy.log(self.stds) - 0.5 * numpy.log(2 * numpy.pi)

    def log_likelihood(self, values):
        """The mean log-density of ``values`` under the fitted mixture."""
        return float(_logsumexp(self._log_joint(_column("GaussianMixture.log_likelihood", values))).mean())

    def posterior(self, values):
        """ρ (n, k): the probability that each mode made each value."""
        log_joint = self._log_joint(_column("GaussianMixture.posterior", values))
        return numpy.exp(log_joint - _logsumexp(log_joint)[:, None])


class ModeSpecificNormaliser:
    """One continuous column written as (α, mode): CTGAN §4.2 (see the module's docstring).

    ``fit`` fits the ``GaussianMixture``; ``encode(values, rng)`` samples each value's mode from its
    posterior ρ and returns α = clip((c − η_k) / (4φ_k), −0.99, 0.99) and k; ``decode(α, k)`` returns
    4φ_k α + η_k. A value within 3.96 standard deviations of its mode comes back exactly (up to rounding).
    """

    CLIP = 0.99

    def __init__(self, modes=10):
        self.mixture = GaussianMixture(modes)

    def fit(self, values):
        self.mixture.fit(values)
        return self

    @property
    def modes(self):
        return len(self.mixture.means)

    def encode(self, values, rng):
        x = _column("ModeSpecificNormaliser.encode", values)
        rho = self.mixture.posterior(x)                                            # (n, k)
        cumulative = numpy.cumsum(rho, axis=1)
        mode = numpy.minimum((rng.uniform(size=(len(x), 1)) > cumulative).sum(axis=1), self.modes - 1)  # k ~ ρ
        alpha = (x - self.mixture.means[mode]) / (4 * self.mixture.stds[mode])
        return numpy.clip(alpha, -self.CLIP, self.CLIP), mode

    def decode(self, alpha, mode):
        return 4 * self.mixture.stds[mode] * numpy.asarray(alpha, numpy.float64) + self.mixture.means[mode]


class Span(NamedTuple):
    """The slice [start, stop) of an encoded row that holds one column's part: ``activation`` "tanh" (a
    continuous column's α) or "softmax" (a one-hot block: a category, or a continuous column's mode β)."""

    column: str
    activation: str
    start: int
    stop: int


ENCODINGS = ("mode-specific", "min-max")  # of the continuous columns


class TableEncoder:
    """A table (``{name: (n,) array}`` with the ``schema`` of ``camera_records.SCHEMA``) as rows (n, width) and back.

    Row layout, column after column in ``schema``'s order: a categorical column is its one-hot (one span,
    "softmax"); a continuous column is α (a "tanh" span of width 1) then its mode's one-hot β (a "softmax"
    span). ``spans`` lists them; ``category_spans`` maps each categorical column to its span (what a
    conditional vector picks from). Decoding clips each continuous value to its column's range, since
    4φ_k α + η_k may leave it.

    ``continuous="min-max"`` is what CTGAN §4.2 argues against, for comparison: a continuous column is then
    only α = 2(c − low)/(high − low) − 1 over its documented range, one tanh.
    """

    def __init__(self, schema, modes=10, continuous="mode-specific"):
        if continuous not in ENCODINGS:
            raise ValueError(f"TableEncoder: continuous must be one of {ENCODINGS}, got {continuous!r}")
        self.schema, self.modes, self.continuous = tuple(schema), modes, continuous

    def fit(self, columns):
        self.normalisers, self.spans, self.category_spans, start = {}, [], {}, 0
        for column in self.schema:
            values = _table_column(columns, column.name)
            if column.kind == "categorical":
                span = Span(column.name, "softmax", start, start + len(column.categories))
                self.category_spans[column.name] = span
                self.spans.append(span)
            elif self.continuous == "min-max":
                self.spans.append(Span(column.name, "tanh", start, start + 1))
            else:
                normaliser = self.normalisers[column.name] = ModeSpecificNormaliser(self.modes).fit(values)
                self.spans += [Span(column.name, "tanh", start, start + 1),
                               Span(column.name, "softmax", start + 1, start + 1 + normaliser.modes)]
            start = self.spans[-1].stop
        self.width = start
        return self

    def encode(self, columns, rng):
        n = len(_table_column(columns, self.schema[0].name))
        rows = numpy.zeros((n, self.width), numpy.float32)
        for column in self.schema:
            values = _table_column(columns, column.name)
            if column.kind == "categorical":
                span = self.category_spans[column.name]
                rows[numpy.arange(n), span.start + values] = 1.0
            elif self.continuous == "min-max":
                alpha = self._continuous_spans(column.name)[0].start
                rows[:, alpha] = numpy.clip(2 * (values - column.low) / (column.high - column.low) - 1, -1, 1)
            else:
                alpha, mode = self.normalisers[column.name].encode(values, rng)
                alpha_span, mode_span = self._continuous_spans(column.name)
                rows[:, alpha_span.start] = alpha
                rows[numpy.arange(n), mode_span.start + mode] = 1.0
        return rows

    def decode(self, rows):
        """Rows (n, width) -> {name: (n,) array}: each one-hot block read by its argmax (so G's softmax
        outputs decode as their most likely category), each continuous value clipped to its range."""
        rows = numpy.asarray(rows)
        if rows.ndim != 2 or rows.shape[1] != self.width:
            raise ValueError(f"TableEncoder.decode: expected rows of shape (n, {self.width}), got {rows.shape}")
        columns = {}
        for column in self.schema:
            if column.kind == "categorical":
                span = self.category_spans[column.name]
                columns[column.name] = rows[:, span.start:span.stop].argmax(axis=1).astype(numpy.int64)
            else:
                spans = self._continuous_spans(column.name)
                if self.continuous == "min-max":
                    values = column.low + (rows[:, spans[0].start].astype(numpy.float64) + 1) / 2 * (column.high - column.low)
                else:
                    mode = rows[:, spans[1].start:spans[1].stop].argmax(axis=1)
                    values = self.normalisers[column.name].decode(rows[:, spans[0].start], mode)
                high = numpy.nextafter(numpy.float32(column.high), numpy.float32(column.low)) if column.high_open else column.high
                columns[column.name] = numpy.clip(values, column.low, high).astype(numpy.float32)
        return columns

    def _continuous_spans(self, name):
        """(α's span, β's span) of a continuous column; (α's span,) with min-max."""
        return tuple(span for span in self.spans if span.column == name)


def _column(caller, values):
    x = numpy.asarray(values, numpy.float64).reshape(-1)
    if x.size == 0 or not numpy.isfinite(x).all():
        raise ValueError(f"{caller}: values must be a non-empty array of finite numbers")
    return x


def _table_column(columns, name):
    if name not in columns:
        raise KeyError(f"TableEncoder: the table has no column {name!r} (it has {', '.join(columns)})")
    return numpy.asarray(columns[name])


def _logsumexp(a):
    """log Σ_k exp(a[:, k]) per row, the largest term taken out first."""
    top = a.max(axis=1)
    return top + numpy.log(numpy.exp(a - top[:, None]).sum(axis=1))
