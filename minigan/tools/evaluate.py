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
   negative eigenvalues; they are set to 0. Only NumPy is needed. The value depends on the feature
   network, so it is comparable between runs of this program but **not** with FIDs published on
   Inception-v3 features; it is also biased upwards for small n, so compare runs with the same n.
   For scale the program prints the distance between the validation images x_train[50000:] and the
   test images: what a perfect generator would get with 10,000 samples.
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
from .classifier import CLASSES, check_images, load_classifier, shipped_classifier
from .cli import positive_float, positive_int
from .data import load_mnist

MODE_THRESHOLD = 0.01  # a digit class is "present" with at least this share of the samples
SIGMAS = numpy.logspace(-1, 0, 10)  # the σ grid of Goodfellow et al.'s parzen_ll.py: 0.1 … 1
VALIDATION_SIZE = 1000  # the first 1,000 validation images choose σ (as in parzen_ll.py's --limit_size)
PARZEN_SAMPLES = 10000  # Goodfellow et al. 2014 fitted the window to 10,000 samples


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
    return float(difference @ difference + numpy.trace(cov1) + numpy.trace(cov2) - 2 * trace_sqrt)


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


def parzen_log_likelihood(samples, data, sigma, batch_size=200):
    """log p(x) (m,) float64 of each image x of ``data`` under the Gaussian Parzen window on ``samples``.

    Args:
        samples: the window centres μᵢ, n images in [0, 1] ((n, 28, 28), (n, 28, 28, 1) or (n, 784)).
        data: the m images to score, same layouts.
        sigma: the window width σ > 0 (the same in every pixel).
        batch_size: data rows per batch; each batch holds a (batch_size, n) float64 matrix.

    The paper's number is the mean of the result, with standard error ``result.std() / √m``.
    """
    if not (isinstance(sigma, (int, float, numpy.floating)) and sigma > 0 and math.isfinite(sigma)):
        raise ValueError(f"parzen_log_likelihood: sigma must be a positive finite number, got {sigma!r}")
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
def evaluate_samples(samples, parzen=True, parzen_samples=PARZEN_SAMPLES, sigma=None, batch_size=200,
                     validation_size=VALIDATION_SIZE, classifier=None, log=None):
    """All the numbers of this module for ``samples`` (n images in [0, 1]), as a dict.

    Keys: "n", "histogram" (10 counts), "modes", "kl_uniform", "frechet", "frechet_reference"
    (validation vs test images), and with ``parzen``: "sigma", "sigma_grid" ({σ: mean validation
    log-likelihood}, empty when ``sigma`` was given), "parzen_mean", "parzen_stderr", "parzen_n".
    """
    say = log or (lambda line: None)
    samples = check_images(samples, "samples")
    if len(samples) < 2:
        raise ValueError(f"evaluate_samples: need at least 2 samples (a covariance needs 2), got {len(samples)}")
    classifier = shipped_classifier() if classifier is None else classifier
    x_test, _ = load_mnist(split="test", scale="sigmoid")
    x_valid, _ = load_mnist(split="validation", scale="sigmoid")
    result = {"n": len(samples)}

    say("classifying the samples and the test images")
    sample_features = classifier.features(samples)
    histogram = label_histogram(_predict_from_features(classifier, sample_features))
    result.update(histogram=histogram, modes=count_modes(histogram), kl_uniform=kl_to_uniform(histogram))
    test_features = classifier.features(x_test)
    result["frechet"] = frechet_distance(sample_features, test_features)
    result["frechet_reference"] = frechet_distance(classifier.features(x_valid), test_features)

    if parzen:
        centres = samples[:parzen_samples]
        if sigma is None:
            say(f"choosing sigma on the first {min(validation_size, len(x_valid))} validation images "
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
    if "parzen_mean" in result:
        if result["sigma_grid"]:
            grid = ", ".join(f"{s:.3g}: {m:.1f}" for s, m in result["sigma_grid"].items())
            lines.append(f"Parzen sigma search (mean validation log-likelihood per sigma): {grid}")
        lines.append(f"Parzen window log-likelihood of the 10,000 test images: {result['parzen_mean']:.1f} "
                     f"± {result['parzen_stderr']:.1f} (standard error; sigma {result['sigma']:.4g}, "
                     f"{result['parzen_n']} samples; Goodfellow et al. 2014 report 225 ± 2)")
    return lines


# ----- command line ----------------------------------------------------------------------------------
def load_samples(path):
    """SAMPLES.npy as (n, 28, 28, 1) float32 in [0, 1], with an error that says what is wrong with the file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no samples file at {path!r}: expected a .npy file such as runs/mnist_gan/samples.npy")
    try:
        samples = numpy.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(f"{path!r} is not a readable .npy array ({type(error).__name__}: {error}); "
                         "expected numpy.save of an (n, 28, 28) float array") from error
    if not isinstance(samples, numpy.ndarray):
        raise ValueError(f"{path!r} is an .npz archive, expected a single .npy array of shape (n, 28, 28)")
    return check_images(samples, f"samples in {path!r}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minigan.tools.evaluate",
                                     description="Label histogram, mode count, Frechet distance and Parzen log-likelihood of MNIST samples.",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("samples", metavar="SAMPLES.npy", help="generated images: float in [0, 1], shape (n, 28, 28), (n, 28, 28, 1) or (n, 784)")
    parser.add_argument("--parzen-samples", type=positive_int, default=PARZEN_SAMPLES,
                        help="fit the Parzen window to the first this many samples (the paper used 10,000)")
    parser.add_argument("--sigma", type=positive_float, default=None, help="Parzen window width; skips the search on validation images")
    parser.add_argument("--no-parzen", action="store_true", help="skip the Parzen estimate (the slow part)")
    parser.add_argument("--validation-size", type=positive_int, default=VALIDATION_SIZE,
                        help="how many of the validation images x_train[50000:] choose sigma (the first ones)")
    parser.add_argument("--batch-size", type=positive_int, default=200, help="test images per Parzen batch (memory: batch x samples x 8 bytes)")
    parser.add_argument("--classifier", metavar="PATH", default=None, help="classifier weights (default: the ones shipped with minigan)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        samples = load_samples(args.samples)
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
