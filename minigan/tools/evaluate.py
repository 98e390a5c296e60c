"""Evaluate a GAN's MNIST samples: which digits it draws, how close they are to real digits, and the
Parzen-window log-likelihood of Goodfellow et al. 2014, Table 1.

    python -m minigan.tools.evaluate runs/mnist_gan/samples.npy
    python -m minigan.tools.evaluate samples.npy --no-parzen              # skips the slow part
    python -m minigan.tools.evaluate samples.npy --sigma 0.2              # skip the search for σ

SAMPLES.npy holds n generated images, float, every value in [0, 1], shape (n, 28, 28), (n, 28, 28, 1)
or (n, 784) — what ``examples/mnist_gan.py`` writes. Four numbers are reported.

1. **Label histogram and mode count.** The classifier of ``minigan.tools.classifier`` (98.7% accuracy on
   the MNIST test images) labels every sample; the histogram counts samples per predicted digit. A
   digit class counts as *present* when it receives at least ``MODE_THRESHOLD`` = 1% of the samples (a
   tenth of its share under a uniform spread): one stray misclassified sample does not make a mode,
   while a digit drawn one time in a hundred still does. A collapsed generator shows few classes present.
2. **KL(label histogram ‖ uniform)** = Σₖ pₖ log(10 pₖ), in nats: 0 when every digit is equally frequent,
   log 10 ≈ 2.303 when one digit takes everything. (MNIST's own test labels give 0.0017.)
3. **Fréchet distance** (Heusel et al. 2017, the "FID" formula) between Gaussians fitted to the
   classifier's 128-d penultimate features of the samples and of the 10,000 test images:

       d² = ‖μ₁ − μ₂‖² + Tr(Σ₁ + Σ₂ − 2 (Σ₁Σ₂)^½)

   Tr (Σ₁Σ₂)^½ is computed in float64 as Σᵢ √λᵢ over the eigenvalues λᵢ of the symmetric positive
   semi-definite M = Σ₁^½ Σ₂ Σ₁^½, which has the same eigenvalues as Σ₁Σ₂ (AB and BA share them, with
   A = Σ₁^½, B = Σ₁^½Σ₂); Σ₁^½ itself comes from the eigendecomposition of Σ₁. Rounding can leave tiny
   negative eigenvalues; they are set to 0, and so is a distance that rounding leaves just below 0
   (d² ≥ 0; identical sets give 0.000, not −0.000). Only NumPy is needed. The value depends on the
   feature network, so it is comparable between runs of this program but **not** with FIDs published
   on Inception-v3 features; it is also biased upwards for small n (see "How many samples" below), so
   compare runs with the same n. For scale the program prints the distance between the validation
   images x_train[50000:] and the test images: what a perfect generator would get with 10,000
   samples, and with fewer samples also that of the first n validation images: what it gets with n.
4. **Parzen-window log-likelihood** (Goodfellow et al. 2014, Table 1, following Breuleux et al. 2011):
   fit a Gaussian Parzen window — an equal mixture of N(μᵢ, σ²I) — to the n generated samples μᵢ
   (flattened to d = 784, in [0, 1]) and report the mean log-likelihood of the 10,000 test images with
   its standard error (std / √m, as in the paper's code):

       log p(x) = logsumexpᵢ(−‖x − μᵢ‖² / 2σ²) − log n − (d/2) log(2πσ²)

   Distances come from ‖x‖² + ‖μ‖² − 2x·μ (one GEMM per batch of test images) and the log-sum-exp is
   taken in float64 with the row maximum subtracted. σ is chosen by grid search, as in the paper's
   code (``parzen_ll.py`` of goodfeli/adversarial): the σ in ``SIGMAS`` = 10 values log-spaced on
   [0.1, 1] that maximises the mean log-likelihood of a **subset of the validation images: the first
   1,000 of x_train[50000:]** (``--validation-size``; the paper's code used the same 1,000 for speed).
   The paper used 10,000 samples (``--parzen-samples``, default 10,000: the first ones of the file).
   The paper reports 225 ± 2 for its MNIST GAN.

Known weaknesses of the Parzen estimate (Theis, van den Oord & Bethge 2015, "A note on the evaluation
of generative models", §3.2) — read the number with these in mind:

* In 784 dimensions the estimate converges extremely slowly: even with millions of samples of a model
  whose likelihood is known, the Parzen estimate stays far below the true log-likelihood, so it
  measures the estimator as much as the model.
* It rewards closeness of samples to test images rather than density: Theis et al. show that the
  10,000 k-means centroids of the training set (not a generative model at all) score higher than the
  published GANs and other models, and that a model can trade sample quality against this number in
  either direction. Good samples and a high Parzen score are largely independent.
* σ is tuned on held-out data, so the result is a best case for the family of isotropic windows, and
  the numbers depend on the pixel scale ([0, 1] here) and on the number of samples n.

**How many samples.** Each number is an estimate from the n samples, and below ``MIN_SAMPLES`` =
10·k = 1,280 samples (k = 128 feature dimensions) the program prints a warning, because the estimates
then say as much about n as about the generator. The size comes from the Fréchet distance, the most
sample-hungry of the four. Fitting N(μ̂, Σ̂) to n samples of N(μ, Σ) and expanding the matrix square
root to second order in the sampling error Σ̂ − Σ gives the expected upward bias (``frechet_bias``)

    E[d̂²] − d² ≈ Tr Σ / n + [Σᵢⱼ λᵢλⱼ / (2(λᵢ + λⱼ)) + Tr Σ / 4] / (n − 1),   λᵢ the eigenvalues of Σ,

from ‖μ̂ − μ‖² and from the square root of a noisy covariance. Since λᵢλⱼ/(λᵢ + λⱼ) ≤ (λᵢ + λⱼ)/4,
the bias is at most about (k + 5)/(4n) of Tr Σ — the distance of a generator that collapsed onto the
mean feature — with equality for white features: it grows like k/n. At n ≤ k the sample covariance
is singular (rank ≤ n − 1) and the covariance term measures that; at n = 10k the bound is 2.6% of
Tr Σ. The warning prints this bias for the test images' Σ. The same size suits the other numbers:
the histogram's KL is biased upwards by about (K − 1)/(2n) nats for K = 10 classes (Miller 1955),
0.0035 at 1,280, and 1% of 1,280 samples is 12.8, so a class present is more than a few strays.
The Parzen estimate depends on its number of samples (Theis et al. 2015): compare it only at equal
n, and with the paper's 225 only at 10,000.

``MAX_SAMPLES`` = 1,000,000 (100 times the paper's 10,000, over 3 GB as float32): a larger file is
refused before it is read rather than filling the memory.

Theis et al. recommend against using Parzen estimates to compare models; it is reported here only to
compare with Table 1 of the 2014 paper. The classifier-based numbers (1–3) have their own caveat: they
see the samples only through a network trained on real digits, so images that fool it (or noise it
maps to a confident class) can score better than they look — always look at the samples too.
"""

import argparse
import math
import os
import sys
import time

import numpy

from minigan.engine.autograd import Tensor, no_grad
from minigan.engine.backend import get_backend
from .classifier import CLASSES, FEATURE_DIM, check_images, load_classifier, shipped_classifier
from .cli import number_between, positive_int
from .data import load_mnist
from .data.mnist import TRAIN_SIZE

MODE_THRESHOLD = 0.01  # a digit class is "present" with at least this share of the samples
SIGMAS = numpy.logspace(-1, 0, 10)  # the σ grid of Goodfellow et al.'s parzen_ll.py: 0.1 … 1
# Pixels lie in [0, 1], so squared distances in [0, 784]: a window narrower than 1e-3 gives every test image
# −inf or one sample, one wider than 1e3 the same density everywhere; far outside, σ² leaves float64.
SIGMA_RANGE = (1e-3, 1e3)
VALIDATION_SIZE = 1000  # the first 1,000 validation images choose σ (as in parzen_ll.py's --limit_size)
VALIDATION_IMAGES = 60000 - TRAIN_SIZE  # MNIST's 60,000 training images less the 50,000 that train: x_train[50000:]
PARZEN_SAMPLES = 10000  # Goodfellow et al. 2014 fitted the window to 10,000 samples
MIN_SAMPLES = 10 * FEATURE_DIM  # below this the estimates mostly measure n (module docstring, "How many samples")
MAX_SAMPLES = 1_000_000  # larger sample files are refused before they are read (module docstring)


# ----- the label histogram and mode collapse ----------------------------------------------------------
def label_histogram(labels, classes=CLASSES):
    """Counts (classes,) int64 of each label 0 … classes − 1 in the integer array ``labels`` (n,)."""
    labels = numpy.asarray(labels)
    if labels.ndim != 1 or (labels.size and labels.dtype.kind not in "iu"):
        raise ValueError(f"label_histogram: labels must be a 1-D array of integers, got shape {labels.shape} and dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"label_histogram: labels must lie in [0, {classes - 1}], found values from {labels.min()} to {labels.max()}")
    return numpy.bincount(labels.astype(numpy.int64), minlength=classes)


def count_modes(histogram, threshold=MODE_THRESHOLD):
    """How many classes hold at least ``threshold`` (a fraction, default 1%) of all the counts in ``histogram``."""
    histogram = _check_histogram(histogram, "count_modes")
    if not 0 < threshold <= 1:
        raise ValueError(f"count_modes: threshold must be a fraction in (0, 1], got {threshold}")
    return int((histogram >= threshold * histogram.sum()).sum())


def kl_to_uniform(histogram):
    """KL(p ‖ uniform) = Σₖ pₖ log(K pₖ) in nats for p = histogram / total over K classes (0 log 0 = 0)."""
    histogram = _check_histogram(histogram, "kl_to_uniform")
    p = histogram / histogram.sum()
    nonzero = p > 0
    return float((p[nonzero] * numpy.log(len(p) * p[nonzero])).sum())


def _check_histogram(histogram, name):
    histogram = numpy.asarray(histogram, dtype=numpy.float64)
    if histogram.ndim != 1 or not histogram.size or (histogram < 0).any() or not histogram.sum() > 0:
        raise ValueError(f"{name}: expected a 1-D histogram of non-negative counts with a positive total, got {histogram!r}")
    return histogram


# ----- the Fréchet distance ---------------------------------------------------------------------------------
def frechet_distance(features1, features2):
    """Fréchet distance d² between Gaussians fitted to two feature sets (n₁, k) and (n₂, k), n₁, n₂ ≥ 2.

    Each set gives a mean μ and covariance Σ (``numpy.cov``, divisor n − 1); see
    ``frechet_distance_gaussians`` for the formula.
    """
    stats = []
    for name, features in (("features1", features1), ("features2", features2)):
        features = numpy.asarray(features, dtype=numpy.float64)
        if features.ndim != 2 or len(features) < 2:
            raise ValueError(f"frechet_distance: {name} must be a 2-D array (n, k) with n ≥ 2 rows, got shape {features.shape}")
        stats.append((features.mean(axis=0), numpy.cov(features, rowvar=False).reshape(features.shape[1], features.shape[1])))
    (mu1, cov1), (mu2, cov2) = stats
    if mu1.shape != mu2.shape:
        raise ValueError(f"frechet_distance: the feature sets have {mu1.size} and {mu2.size} columns; they must match")
    return frechet_distance_gaussians(mu1, cov1, mu2, cov2)


def frechet_distance_gaussians(mu1, cov1, mu2, cov2):
    """d²(N(μ₁, Σ₁), N(μ₂, Σ₂)) = ‖μ₁ − μ₂‖² + Tr Σ₁ + Tr Σ₂ − 2 Tr (Σ₁Σ₂)^½, in float64 (Heusel et al. 2017).

    Tr (Σ₁Σ₂)^½ = Σᵢ √λᵢ(Σ₁^½ Σ₂ Σ₁^½): a symmetric PSD matrix with the eigenvalues of Σ₁Σ₂.
    """
    mu1, mu2 = numpy.asarray(mu1, numpy.float64), numpy.asarray(mu2, numpy.float64)
    cov1, cov2 = numpy.asarray(cov1, numpy.float64), numpy.asarray(cov2, numpy.float64)
    k = mu1.size
    if mu1.shape != (k,) or mu2.shape != (k,) or cov1.shape != (k, k) or cov2.shape != (k, k):
        raise ValueError(f"frechet_distance_gaussians: expected means (k,) and covariances (k, k), got "
                         f"{mu1.shape}, {cov1.shape}, {mu2.shape}, {cov2.shape}")
    sqrt_cov1 = _sqrt_psd(cov1)
    middle = sqrt_cov1 @ cov2 @ sqrt_cov1                                        # Σ₁^½ Σ₂ Σ₁^½ (k, k)
    eigenvalues = numpy.linalg.eigvalsh((middle + middle.T) / 2)                 # symmetrised against rounding
    trace_sqrt = numpy.sqrt(numpy.clip(eigenvalues, 0, None)).sum()
    difference = mu1 - mu2
    distance = float(difference @ difference + numpy.trace(cov1) + numpy.trace(cov2) - 2 * trace_sqrt)
    # d² ≥ 0, but for (nearly) equal Gaussians rounding can leave it just below: the square roots of
    # eigenvalues that should be 0 but come out as rounding noise ε are √ε, far larger than ε.
    return distance if distance > 0 else 0.0


def frechet_bias(cov, n):
    """The expected upward bias of ``frechet_distance`` for n samples of N(μ, Σ) against the true Gaussian:

        Tr Σ / n + [Σᵢⱼ λᵢλⱼ / (2(λᵢ + λⱼ)) + Tr Σ / 4] / (n − 1),   λᵢ the eigenvalues of Σ (k, k)

    to second order in Σ̂ − Σ (the covariance divisor is n − 1). The first term is E‖μ̂ − μ‖²; the
    others come from √(Σ^½ Σ̂ Σ^½) expanded around Σ, with E[(Σ̂ − Σ)ᵢⱼ²] = (λᵢλⱼ + [i = j] λᵢ²)/(n − 1)
    in Σ's eigenbasis (Gaussian samples).
    """
    if isinstance(n, bool) or not isinstance(n, (int, numpy.integer)) or n < 2:
        raise ValueError(f"frechet_bias: n must be an int >= 2 (a covariance needs 2 samples), got {n!r}")
    cov = numpy.asarray(cov, dtype=numpy.float64)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"frechet_bias: cov must be a square matrix (k, k), got shape {cov.shape}")
    eigenvalues = numpy.clip(numpy.linalg.eigvalsh((cov + cov.T) / 2), 0, None)          # (k,)
    sums = eigenvalues[:, None] + eigenvalues[None, :]                                      # (k, k) λᵢ + λⱼ
    pairs = numpy.divide(numpy.outer(eigenvalues, eigenvalues), 2 * sums, out=numpy.zeros_like(sums), where=sums > 0)
    trace = eigenvalues.sum()
    return float(trace / n + (pairs.sum() + trace / 4) / (n - 1))


def _sqrt_psd(matrix):
    """The symmetric square root V diag(√λ) Vᵀ of a symmetric PSD matrix (negative rounding errors → 0)."""
    eigenvalues, vectors = numpy.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * numpy.sqrt(numpy.clip(eigenvalues, 0, None))) @ vectors.T


# ----- the Parzen window ------------------------------------------------------------------------------
def _flat64(images, name):
    """(n, 28, 28[, 1]) or (n, 784) in [0, 1] → (n, 784) float64."""
    images = check_images(images, name, dtype=numpy.float64)
    return images.reshape(len(images), 784)  # (n, 28, 28, 1) -> (n, 784)


def _squared_distances(data, samples, batch_size):
    """For each batch of ``data`` rows, the (b, n) float64 matrix ‖x − μᵢ‖² = ‖x‖² + ‖μᵢ‖² − 2 x·μᵢ (clipped at 0)."""
    sample_norms = (samples * samples).sum(axis=1)                                 # (n,)
    for start in range(0, len(data), batch_size):
        x = data[start : start + batch_size]                                       # (b, d)
        distances = (x * x).sum(axis=1)[:, None] + sample_norms[None, :] - 2 * (x @ samples.T)  # (b, n)
        yield numpy.maximum(distances, 0, out=distances)


def _parzen_from_distances(distances, sigma, n, d):
    """log p(x) for each row of ``distances`` (b, n): logsumexpᵢ(−D/2σ²) − log n − (d/2) log(2πσ²)."""
    exponent = distances * (-0.5 / sigma**2)                                       # (b, n), all ≤ 0
    top = exponent.max(axis=1, keepdims=True)                                      # (b, 1)
    log_sum = top[:, 0] + numpy.log(numpy.exp(exponent - top).sum(axis=1))         # (b,)
    return log_sum - math.log(n) - 0.5 * d * math.log(2 * math.pi * sigma**2)


def _check_parzen(samples, data, batch_size, name):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, numpy.integer)) or batch_size < 1:
        raise ValueError(f"{name}: batch_size must be a positive int, got {batch_size!r}")
    samples, data = _flat64(samples, f"{name}: samples"), _flat64(data, f"{name}: data")
    if not len(samples):
        raise ValueError(f"{name}: the Parzen window needs at least one sample, got 0")
    return samples, data


def _check_sigma(sigma, who):
    low, high = SIGMA_RANGE
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float, numpy.floating)) or not low <= sigma <= high:
        raise ValueError(f"{who}: sigma must be a number in [{low:g}, {high:g}] (pixels in [0, 1]), got {sigma!r}")


def parzen_log_likelihood(samples, data, sigma, batch_size=200):
    """log p(x) (m,) float64 of each image x of ``data`` under the Gaussian Parzen window on ``samples``.

    Args:
        samples: the window centres μᵢ, n images in [0, 1] ((n, 28, 28), (n, 28, 28, 1) or (n, 784)).
        data: the m images to score, same layouts.
        sigma: the window width σ > 0 (the same in every pixel).
        batch_size: data rows per batch; each batch holds a (batch_size, n) float64 matrix.

    The paper's number is the mean of the result, with standard error ``result.std() / √m``.
    """
    _check_sigma(sigma, "parzen_log_likelihood")
    samples, data = _check_parzen(samples, data, batch_size, "parzen_log_likelihood")
    n, d = samples.shape
    parts = [_parzen_from_distances(distances, float(sigma), n, d) for distances in _squared_distances(data, samples, batch_size)]
    return numpy.concatenate(parts) if parts else numpy.zeros(0)


def choose_sigma(samples, validation, sigmas=SIGMAS, batch_size=200):
    """The σ of ``sigmas`` whose Parzen window on ``samples`` gives ``validation`` the highest mean log-likelihood.

    Returns ``(sigma, mean_log_likelihoods)`` with one mean per σ of ``sigmas``. The distances are
    computed once per batch and reused for every σ.
    """
    sigmas = numpy.asarray(sigmas, dtype=numpy.float64).reshape(-1)
    if not sigmas.size or not (sigmas > 0).all() or not numpy.isfinite(sigmas).all():
        raise ValueError(f"choose_sigma: sigmas must be a non-empty list of positive finite numbers, got {sigmas!r}")
    samples, validation = _check_parzen(samples, validation, batch_size, "choose_sigma")
    if not len(validation):
        raise ValueError("choose_sigma: the validation set is empty")
    n, d = samples.shape
    totals = numpy.zeros(len(sigmas))
    for distances in _squared_distances(validation, samples, batch_size):
        for j, sigma in enumerate(sigmas):
            totals[j] += _parzen_from_distances(distances, float(sigma), n, d).sum()
    means = totals / len(validation)
    return float(sigmas[int(numpy.argmax(means))]), means


# ----- everything together ------------------------------------------------------------------------------------
def evaluate_samples(samples, parzen=True, parzen_samples=None, sigma=None, batch_size=200,
                     validation_size=VALIDATION_SIZE, classifier=None, log=None):
    """All the numbers of this module for ``samples`` (n images in [0, 1], 2 ≤ n ≤ ``MAX_SAMPLES``), as a dict.

    ``parzen_samples``: fit the window to the first this many samples (at most n); None takes
    min(n, ``PARZEN_SAMPLES``). ``validation_size``: choose σ on the first this many of the 10,000
    validation images (at most that many). Every argument is checked before any work is done.

    Keys: "n", "histogram" (10 counts), "modes", "kl_uniform", "frechet", "frechet_reference"
    (validation vs test images), "frechet_reference_at_n" (the first n validation images vs the test
    images, when n is smaller than the validation set), "warnings" (a list of sentences; one when
    n < ``MIN_SAMPLES``, see the module docstring), and with ``parzen``: "sigma", "sigma_grid"
    ({σ: mean validation log-likelihood}, empty when ``sigma`` was given), "parzen_mean",
    "parzen_stderr", "parzen_n".
    """
    say = log or (lambda line: None)
    samples = check_images(samples, "samples")
    n = len(samples)
    if not 2 <= n <= MAX_SAMPLES:
        raise ValueError(f"evaluate_samples: need from 2 samples (a covariance needs 2) to {MAX_SAMPLES:,}, got {n:,}")
    x_test, _ = load_mnist(split="test", scale="sigmoid")
    x_valid, _ = load_mnist(split="validation", scale="sigmoid")
    if parzen:
        parzen_samples = min(n, PARZEN_SAMPLES) if parzen_samples is None else _count(parzen_samples, "parzen_samples", n, f"the {n} samples")
        validation_size = _count(validation_size, "validation_size", len(x_valid), f"the {len(x_valid)} validation images x_train[50000:]")
        if sigma is not None:
            _check_sigma(sigma, "evaluate_samples")
        _check_parzen(samples[:1], x_test[:1], batch_size, "evaluate_samples")
    classifier = shipped_classifier() if classifier is None else classifier
    result = {"n": n, "warnings": []}

    say("classifying the samples and the test images")
    sample_features = classifier.features(samples)
    histogram = label_histogram(_predict_from_features(classifier, sample_features))
    result.update(histogram=histogram, modes=count_modes(histogram), kl_uniform=kl_to_uniform(histogram))
    test_features = classifier.features(x_test)
    valid_features = classifier.features(x_valid)
    result["frechet"] = frechet_distance(sample_features, test_features)
    result["frechet_reference"] = frechet_distance(valid_features, test_features)
    if n < len(valid_features):
        result["frechet_reference_at_n"] = frechet_distance(valid_features[:n], test_features)
    if n < MIN_SAMPLES:
        bias = frechet_bias(numpy.cov(test_features.astype(numpy.float64), rowvar=False), n)
        result["warnings"].append(
            f"{n} samples are fewer than {MIN_SAMPLES:,} (10 per feature dimension), too few for these estimates to mean "
            f"much: the Frechet distance is biased upwards by about {bias:.1f} at this n (the first {n} real validation "
            f"images score {result['frechet_reference_at_n']:.1f}), KL to uniform by about {(CLASSES - 1) / (2 * n):.3f} "
            f"nats, and 1% of the samples is {n / 100:g}; compare runs only at equal n")

    if parzen:
        centres = samples[:parzen_samples]
        if sigma is None:
            say(f"choosing sigma on the first {validation_size} validation images "
                f"({len(SIGMAS)} values from {SIGMAS[0]:g} to {SIGMAS[-1]:g})")
            sigma, means = choose_sigma(centres, x_valid[:validation_size], SIGMAS, batch_size)
            result["sigma_grid"] = dict(zip(SIGMAS.tolist(), means.tolist()))
        else:
            result["sigma_grid"] = {}
        say(f"Parzen window on {len(centres)} samples, sigma {sigma:.4g}: scoring the {len(x_test)} test images")
        log_likelihoods = parzen_log_likelihood(centres, x_test, sigma, batch_size)
        result.update(sigma=float(sigma), parzen_n=len(centres), parzen_mean=float(log_likelihoods.mean()),
                      parzen_stderr=float(log_likelihoods.std() / math.sqrt(len(log_likelihoods))))
    return result


def _count(value, name, largest, what):
    """``value`` as an int in [1, largest], or a ValueError naming ``name`` and the largest (``what`` it counts)."""
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value < 1:
        raise ValueError(f"evaluate_samples: {name} must be a positive int, got {value!r}")
    if value > largest:
        raise ValueError(f"evaluate_samples: {name} is {value:,} but there are only {what}: at most {largest:,}")
    return int(value)


def _predict_from_features(classifier, features):
    """The classifier's digits from its penultimate features (n, 128): only the last layer, no second pass."""
    with no_grad():
        return classifier.head(Tensor(get_backend().asarray(features))).numpy().argmax(axis=1)


def format_report(result, path=None):
    """The lines that ``main`` prints for a result of ``evaluate_samples``."""
    n, histogram = result["n"], result["histogram"]
    lines = [f"samples: {n}" + (f" ({path})" if path else ""),
             "label histogram (the classifier's predicted digit):",
             "  digit " + "".join(f"{k:>7d}" for k in range(len(histogram))),
             "  count " + "".join(f"{c:>7d}" for c in histogram),
             "  share " + "".join(f"{c / n:>7.1%}" for c in histogram),
             f"digit classes present (each with >= {MODE_THRESHOLD:.0%} of the samples): {result['modes']} of {len(histogram)}",
             f"KL(label histogram || uniform): {result['kl_uniform']:.4f} nats (0: all digits equally often; "
             f"{math.log(len(histogram)):.3f}: a single digit)",
             f"Frechet distance, classifier features, samples vs the 10,000 test images: {result['frechet']:.3f}",
             f"  for scale: the 10,000 real validation images vs the test images: {result['frechet_reference']:.3f}"]
    if "frechet_reference_at_n" in result:
        lines.append(f"  and the first {n} of them, what a perfect generator gets with {n} samples: {result['frechet_reference_at_n']:.3f}")
    lines[1:1] = [f"warning: {warning}" for warning in result.get("warnings", [])]
    if "parzen_mean" in result:
        if result["sigma_grid"]:
            grid = ", ".join(f"{s:.3g}: {m:.1f}" for s, m in result["sigma_grid"].items())
            lines.append(f"Parzen sigma search (mean validation log-likelihood per sigma): {grid}")
        lines.append(f"Parzen window log-likelihood of the 10,000 test images: {result['parzen_mean']:.1f} "
                     f"± {result['parzen_stderr']:.1f} (standard error; sigma {result['sigma']:.4g}, "
                     f"{result['parzen_n']} samples; Goodfellow et al. 2014 report 225 ± 2 with 10,000)")
    return lines


# ----- command line ----------------------------------------------------------------------------------
def load_samples(path):
    """SAMPLES.npy as (n, 28, 28, 1) float32 in [0, 1], with an error that says what is wrong with the file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no samples file at {path!r}: expected a .npy file such as runs/mnist_gan/samples.npy")
    try:
        shape = _npy_shape(path)  # the header first: a file too large to evaluate is refused unread
        if shape is None or not shape or shape[0] <= MAX_SAMPLES:
            samples = numpy.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(f"{path!r} is not a readable .npy array ({type(error).__name__}: {error}); "
                         "expected numpy.save of an (n, 28, 28) float array") from error
    if shape and shape[0] > MAX_SAMPLES:
        raise ValueError(f"{path!r} holds {shape[0]:,} samples (shape {shape}); the evaluator takes at most {MAX_SAMPLES:,}: "
                         f"save fewer, e.g. numpy.save(path, samples[:{PARZEN_SAMPLES}])")
    if not isinstance(samples, numpy.ndarray):
        raise ValueError(f"{path!r} is an .npz archive, expected a single .npy array of shape (n, 28, 28)")
    return check_images(samples, f"samples in {path!r}")


def _npy_shape(path):
    """The shape written in the header of the .npy file ``path`` (its data unread), or None if it has no such header."""
    readers = {(1, 0): numpy.lib.format.read_array_header_1_0, (2, 0): numpy.lib.format.read_array_header_2_0}
    with open(path, "rb") as handle:
        try:
            reader = readers.get(numpy.lib.format.read_magic(handle))
            return reader(handle)[0] if reader else None
        except ValueError:  # not a .npy file (an .npz archive, a damaged file): numpy.load then says which
            return None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minigan.tools.evaluate",
                                     description="Label histogram, mode count, Frechet distance and Parzen log-likelihood of MNIST samples.",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("samples", metavar="SAMPLES.npy", help="generated images: float in [0, 1], shape (n, 28, 28), (n, 28, 28, 1) or (n, 784)")
    parser.add_argument("--parzen-samples", type=positive_int, default=None,
                        help=f"fit the Parzen window to the first this many samples, at most all of them (default: "
                             f"{PARZEN_SAMPLES:,} or all if fewer; the paper used 10,000)")
    parser.add_argument("--sigma", type=number_between(*SIGMA_RANGE), default=None,
                        help="Parzen window width, in [1e-3, 1e3] for pixels in [0, 1]; skips the search on validation images")
    parser.add_argument("--no-parzen", action="store_true", help="skip the Parzen estimate (the slow part)")
    parser.add_argument("--validation-size", type=positive_int, default=VALIDATION_SIZE,
                        help=f"how many of the {VALIDATION_IMAGES:,} validation images x_train[50000:] choose sigma (the first ones)")
    parser.add_argument("--batch-size", type=positive_int, default=200, help="test images per Parzen batch (memory: batch x samples x 8 bytes)")
    parser.add_argument("--classifier", metavar="PATH", default=None, help="classifier weights (default: the ones shipped with minigan)")
    parser.epilog = (f"Below {MIN_SAMPLES:,} samples the report starts with a warning: the estimates are then biased "
                     f"by the small n (see the module docstring). Files of more than {MAX_SAMPLES:,} samples are refused.")
    args = parser.parse_args(argv)
    if args.validation_size > VALIDATION_IMAGES:
        parser.error(f"argument --validation-size: at most {VALIDATION_IMAGES:,} (all the validation images x_train[50000:]), "
                     f"got {args.validation_size:,}")
    return args


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        samples = load_samples(args.samples)
        if args.parzen_samples is not None and args.parzen_samples > len(samples) and not args.no_parzen:
            print(f"python -m minigan.tools.evaluate: error: argument --parzen-samples: at most the {len(samples):,} samples "
                  f"in {args.samples!r}, got {args.parzen_samples:,}", file=sys.stderr)
            return 2
        classifier = None if args.classifier is None else load_classifier(args.classifier)
        result = evaluate_samples(samples, parzen=not args.no_parzen, parzen_samples=args.parzen_samples, sigma=args.sigma,
                                  batch_size=args.batch_size, validation_size=args.validation_size, classifier=classifier,
                                  log=lambda line: print(f"... {line}", file=sys.stderr, flush=True))
    except (ValueError, TypeError, OSError) as error:
        print(f"python -m minigan.tools.evaluate: error: {error}", file=sys.stderr)
        return 2
    print("\n".join(format_report(result, args.samples)))
    print(f"({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
