"""What users of synthetic tables check, each against the real table: marginals, associations, usefulness, privacy.

Tables are dicts of columns with a schema (``minigan/tools/data/camera_records.py``: categorical columns as
int codes, continuous as floats). Each measure is one number per column or per table, 0 for a perfect copy:

    marginal_distances(real, synthetic, schema)   per column: the total variation distance between the
                                                  category frequencies, ½ Σ_k |p_k − q_k|, for a categorical
                                                  column; the Kolmogorov–Smirnov statistic sup_v |F(v) − G(v)|
                                                  between the empirical distribution functions for a continuous one
    association_matrix(table, schema, edges)      Cramér's V of every pair of columns, V = √(χ² / (n (min(r, c) − 1))),
                                                  with each continuous column cut into bins (``decile_edges`` of the
                                                  real training table): one measure of dependence in [0, 1] for
                                                  every pair, linear or not (the speed drop at the peaks is not linear)
    utility(train, test, schema, target)          "train on synthetic, test on real" (TSTR, Esteban et al. 2017): a small
                                                  MLP classifier predicting ``target`` from the other columns, trained on
                                                  ``train`` and scored on the held-out real ``test``: accuracy and macro F1
    closest_record_distances(queries, reference)  DCR: each query record's distance to its nearest reference record, in
                                                  the space of one-hot categories and continuous columns divided by their
                                                  real standard deviation; a synthetic table that copies its training
                                                  records shows distances of 0 where held-out real records do not
    independent_marginals(table, schema, n, rng)  the baseline: each column resampled from its own marginal, alone
"""

import numpy

from minigan.engine import backend, nn, optim
from minigan.engine.autograd import Tensor, no_grad
from minigan.engine.losses import cross_entropy
from minigan.tools.data.mnist import minibatches


# ----- marginals and associations ---------------------------------------------------------------------
def marginal_distances(real, synthetic, schema):
    """{column: distance}: total variation for categorical columns, Kolmogorov–Smirnov for continuous ones."""
    distances = {}
    for column in schema:
        a, b = numpy.asarray(real[column.name]), numpy.asarray(synthetic[column.name])
        if column.kind == "categorical":
            k = len(column.categories)
            distances[column.name] = 0.5 * float(numpy.abs(_frequencies(a, k) - _frequencies(b, k)).sum())
        else:
            values = numpy.sort(numpy.concatenate([a, b]))
            cdf_a = numpy.searchsorted(numpy.sort(a), values, side="right") / len(a)
            cdf_b = numpy.searchsorted(numpy.sort(b), values, side="right") / len(b)
            distances[column.name] = float(numpy.abs(cdf_a - cdf_b).max())
    return distances


def decile_edges(table, schema, bins=10):
    """{continuous column: the inner edges of its ``bins`` quantile bins} in ``table`` (the real training table)."""
    return {column.name: numpy.quantile(table[column.name], numpy.arange(1, bins) / bins)
            for column in schema if column.kind == "continuous"}


def association_matrix(table, schema, edges):
    """Cramér's V (k, k) of every pair of the k columns, continuous columns binned at ``edges``; 1 on the diagonal."""
    codes = [(_binned(table, column, edges)) for column in schema]
    k = len(codes)
    matrix = numpy.eye(k)
    for i in range(k):
        for j in range(i + 1, k):
            matrix[i, j] = matrix[j, i] = cramers_v(*codes[i], *codes[j])
    return matrix


def cramers_v(a, levels_a, b, levels_b):
    """V = √(χ² / (n (min(r, c) − 1))) of the contingency table of two code arrays; rows or columns never seen are left out."""
    table = numpy.zeros((levels_a, levels_b))
    numpy.add.at(table, (a, b), 1)
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if min(table.shape) < 2:
        return 0.0
    n = table.sum()
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
    chi2 = ((table - expected) ** 2 / expected).sum()
    return float(numpy.sqrt(chi2 / (n * (min(table.shape) - 1))))


def association_error(real_matrix, synthetic_matrix):
    """The mean |V_real − V_synthetic| over the pairs of distinct columns."""
    upper = numpy.triu_indices(len(real_matrix), 1)
    return float(numpy.abs(real_matrix[upper] - synthetic_matrix[upper]).mean())


def _binned(table, column, edges):
    values = numpy.asarray(table[column.name])
    if column.kind == "categorical":
        return values, len(column.categories)
    return numpy.searchsorted(edges[column.name], values, side="right"), len(edges[column.name]) + 1


def _frequencies(codes, k):
    return numpy.bincount(codes, minlength=k)[:k] / max(len(codes), 1)


# ----- the baseline ------------------------------------------------------------------------------------
def independent_marginals(table, schema, n, rng):
    """``n`` records whose every column is drawn, independently of the others, from that column of ``table``
    (its empirical marginal): right marginals, no associations at all."""
    size = len(table[schema[0].name])
    return {column.name: numpy.asarray(table[column.name])[rng.integers(size, size=n)] for column in schema}


# ----- usefulness: train on synthetic, test on real -----------------------------------------------------
def features(table, schema, target, scales):
    """The inputs of the classifier: the one-hot of every categorical column but ``target``, and each continuous
    column divided by its ``scales`` entry (the real standard deviation) after centring at ``scales``' mean;
    a column named "hour" also as its sine and cosine over the day (23:59 sits next to 00:00)."""
    parts = []
    for column in schema:
        if column.name == target:
            continue
        values = numpy.asarray(table[column.name])
        if column.kind == "categorical":
            parts.append(numpy.eye(len(column.categories), dtype=numpy.float32)[values])
        else:
            mean, std = scales[column.name]
            parts.append(((values - mean) / std)[:, None])
            if column.name == "hour":
                angle = 2 * numpy.pi * values / 24.0
                parts += [numpy.sin(angle)[:, None], numpy.cos(angle)[:, None]]
    return numpy.concatenate(parts, axis=1).astype(numpy.float32)


def utility(train, test, schema, target, scales, seed=0, hidden=64, epochs=30, batch_size=256, lr=3e-3):
    """Train an MLP (one hidden layer of ``hidden`` ReLUs, Adam, softmax cross-entropy) to predict the categorical
    column ``target`` from the others of ``train``; return {"accuracy", "macro_f1"} on ``test``. Seeded.
    A table of fewer than ``batch_size`` records is one minibatch of all of them (each epoch one step), not none."""
    classes = len(next(column for column in schema if column.name == target).categories)
    x, y = features(train, schema, target, scales), numpy.asarray(train[target])
    backend.seed(seed)
    net = nn.Sequential(nn.Linear(x.shape[1], hidden), nn.ReLU(), nn.Linear(hidden, classes))
    optimizer = optim.Adam(net.parameters(), lr=lr)
    xp, rng = backend.get_backend().xp, numpy.random.default_rng(seed)
    for _ in range(epochs):
        for batch_x, batch_y in minibatches(x, min(batch_size, len(x)), rng, labels=y):
            loss = cross_entropy(net(Tensor(xp.asarray(batch_x))), xp.asarray(batch_y))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with no_grad():
        predicted = backend.to_numpy(net(Tensor(xp.asarray(features(test, schema, target, scales)))).data).argmax(axis=1)
    truth = numpy.asarray(test[target])
    f1 = []
    for k in range(classes):
        true_positive = ((predicted == k) & (truth == k)).sum()
        precision = true_positive / max((predicted == k).sum(), 1)
        recall = true_positive / max((truth == k).sum(), 1)
        f1.append(0.0 if true_positive == 0 else 2 * precision * recall / (precision + recall))
    return {"accuracy": float((predicted == truth).mean()), "macro_f1": float(numpy.mean(f1))}


# ----- privacy: distance to the closest record ---------------------------------------------------------
def record_vectors(table, schema, scales):
    """Records as vectors (n, d) float64: one-hot categories, continuous columns centred and divided by ``scales``."""
    parts = []
    for column in schema:
        values = numpy.asarray(table[column.name])
        if column.kind == "categorical":
            parts.append(numpy.eye(len(column.categories))[values])
        else:
            mean, std = scales[column.name]
            parts.append(((values.astype(numpy.float64) - mean) / std)[:, None])
    return numpy.concatenate(parts, axis=1)


def closest_record_distances(queries, reference, chunk=1000):
    """For each row of ``queries`` (n, d) the Euclidean distance to its nearest row of ``reference`` (N, d):
    ‖q − r‖² = ‖q‖² + ‖r‖² − 2 q·r as one GEMM per ``chunk`` of queries (n·N distances, never held at once)."""
    reference_norms = (reference * reference).sum(axis=1)                         # (N,)
    distances = numpy.empty(len(queries))
    for start in range(0, len(queries), chunk):
        q = queries[start:start + chunk]                                          # (c, d)
        squared = (q * q).sum(axis=1)[:, None] + reference_norms[None, :] - 2 * q @ reference.T   # (c, N)
        distances[start:start + chunk] = numpy.sqrt(numpy.maximum(squared.min(axis=1), 0.0))
    return distances


def column_scales(table, schema):
    """{continuous column: (mean, std)} of the real training table: the unit of every distance and feature."""
    return {column.name: (float(numpy.mean(table[column.name])), float(numpy.std(table[column.name])) or 1.0)
            for column in schema if column.kind == "continuous"}
