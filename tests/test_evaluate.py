"""GAN evaluation: the Parzen window against a brute-force sum, the Fréchet distance against closed
forms, the shipped classifier's accuracy, the mode-collapse diagnostic, and the command line."""

import decimal
import math
import os
import subprocess
import sys

import numpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigan.tools import classifier, evaluate
from minigan.tools.data import load_mnist
from strategies import seeds

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def test_set():
    return load_mnist(split="test", scale="sigmoid")


@pytest.fixture(scope="module")
def test_predictions(test_set):
    return classifier.predict(test_set[0])


# ----- Parzen window ---------------------------------------------------------------------------------------
def brute_force_parzen(samples, x, sigma):
    """log (1/n) Σᵢ Πⱼ N(xⱼ; μᵢⱼ, σ²) by plain loops; the sum of tiny kernels is taken in Decimal, so
    no log-sum-exp trick is involved (a float64 kernel value e^(−700) would underflow)."""
    kernels = []
    for mu in samples:
        log_kernel = 0.0
        for xj, mj in zip(x, mu):
            log_kernel += -((xj - mj) ** 2) / (2 * sigma**2) - 0.5 * math.log(2 * math.pi * sigma**2)
        kernels.append(decimal.Decimal(log_kernel).exp())
    return float((sum(kernels) / len(samples)).ln())


@given(seed=seeds, n=st.integers(1, 5), sigma=st.sampled_from([0.05, 0.2, 1.0]))
def test_parzen_log_likelihood_matches_a_brute_force_sum(seed, n, sigma):
    rng = numpy.random.default_rng(seed)
    samples, data = rng.uniform(size=(n, 28, 28)), rng.uniform(size=(3, 784))
    expected = [brute_force_parzen(samples.reshape(n, -1), x, sigma) for x in data]
    numpy.testing.assert_allclose(evaluate.parzen_log_likelihood(samples, data, sigma, batch_size=2), expected, rtol=1e-9)


def test_parzen_is_finite_far_from_every_sample_and_does_not_depend_on_the_batch_size():
    samples, data = numpy.ones((4, 784)), numpy.zeros((5, 784))
    sigma = 0.01  # every kernel is e^(−3.92e6): 0 in float64, yet log p is finite
    expected = -784 / (2 * sigma**2) - 392 * math.log(2 * math.pi * sigma**2)
    for batch_size in (1, 2, 5, 100):
        numpy.testing.assert_allclose(evaluate.parzen_log_likelihood(samples, data, sigma, batch_size), [expected] * 5, rtol=1e-12)


def test_choose_sigma_picks_the_best_mean_validation_log_likelihood():
    rng = numpy.random.default_rng(0)
    samples, validation = rng.uniform(size=(20, 784)), rng.uniform(size=(7, 784))
    sigma, means = evaluate.choose_sigma(samples, validation, batch_size=3)
    direct = [evaluate.parzen_log_likelihood(samples, validation, s).mean() for s in evaluate.SIGMAS]
    numpy.testing.assert_allclose(means, direct, rtol=1e-12)
    assert sigma == evaluate.SIGMAS[numpy.argmax(direct)]
    assert len(evaluate.SIGMAS) == 10 and evaluate.SIGMAS[0] == 0.1 and evaluate.SIGMAS[-1] == 1.0  # Goodfellow et al.'s grid


def test_parzen_errors():
    images = numpy.zeros((2, 784))
    with pytest.raises(ValueError, match=r"sigma must be a number in \[0.001, 1000\] \(pixels in \[0, 1\]\), got 0"):
        evaluate.parzen_log_likelihood(images, images, 0)
    for sigma in (1e300, 1e-300, True):  # σ² would overflow or underflow float64; a bool is not a width
        with pytest.raises(ValueError, match="sigma must be a number in"):
            evaluate.parzen_log_likelihood(images, images, sigma)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        evaluate.parzen_log_likelihood(images, images, 0.1, batch_size=0)
    with pytest.raises(ValueError, match=r"samples: expected shape \(n, 28, 28\), \(n, 28, 28, 1\) or \(n, 784\), got \(2, 783\)"):
        evaluate.parzen_log_likelihood(numpy.zeros((2, 783)), images, 0.1)
    with pytest.raises(ValueError, match="needs at least one sample"):
        evaluate.parzen_log_likelihood(numpy.zeros((0, 784)), images, 0.1)
    with pytest.raises(ValueError, match="sigmas must be a non-empty list of positive finite numbers"):
        evaluate.choose_sigma(images, images, sigmas=[0.1, -1])


# ----- Fréchet distance -------------------------------------------------------------------------------------
def test_frechet_distance_of_a_feature_set_to_itself_is_zero():
    features = numpy.random.default_rng(0).standard_normal((500, 16)) @ numpy.random.default_rng(1).standard_normal((16, 16))
    assert abs(evaluate.frechet_distance(features, features)) < 1e-8 * numpy.trace(numpy.cov(features, rowvar=False))


def test_frechet_distance_matches_the_closed_form_in_one_dimension():
    # N(m, s²) to N(2m + 3, (2s)²): d² = (m + 3)² + (2s − s)², with the sample mean and std of x.
    x = numpy.random.default_rng(0).standard_normal((300, 1)) * 1.5 + 0.7
    m, s = x.mean(), x.std(ddof=1)
    numpy.testing.assert_allclose(evaluate.frechet_distance(x, 2 * x + 3), (m + 3) ** 2 + s**2, rtol=1e-10)


@given(seed=seeds, k=st.integers(1, 6))
def test_frechet_distance_of_commuting_gaussians_is_the_distance_of_their_square_roots(seed, k):
    # Σ₁ = Q D₁ Qᵀ, Σ₂ = Q D₂ Qᵀ share eigenvectors: d² = ‖μ₁ − μ₂‖² + Σₖ (√d₁ₖ − √d₂ₖ)²  (diagonal when Q = I).
    rng = numpy.random.default_rng(seed)
    q, _ = numpy.linalg.qr(rng.standard_normal((k, k)))
    d1, d2 = rng.uniform(0.1, 4, k), rng.uniform(0.1, 4, k)
    mu1, mu2 = rng.standard_normal(k), rng.standard_normal(k)
    expected = ((mu1 - mu2) ** 2).sum() + ((numpy.sqrt(d1) - numpy.sqrt(d2)) ** 2).sum()
    for rotation in (numpy.eye(k), q):
        cov1, cov2 = rotation @ numpy.diag(d1) @ rotation.T, rotation @ numpy.diag(d2) @ rotation.T
        numpy.testing.assert_allclose(evaluate.frechet_distance_gaussians(mu1, cov1, mu2, cov2), expected, rtol=1e-9, atol=1e-12)


@given(seed=seeds, k=st.integers(1, 6))
def test_frechet_distance_is_symmetric_and_agrees_with_the_eigenvalues_of_the_product(seed, k):
    rng = numpy.random.default_rng(seed)
    a, b = rng.standard_normal((k, k)), rng.standard_normal((k, k))
    cov1, cov2 = a @ a.T + 0.1 * numpy.eye(k), b @ b.T + 0.1 * numpy.eye(k)
    mu1, mu2 = rng.standard_normal(k), rng.standard_normal(k)
    # Tr (Σ₁Σ₂)^½ from the (real, positive) eigenvalues of the non-symmetric product itself.
    trace_sqrt = numpy.sqrt(numpy.linalg.eigvals(cov1 @ cov2).real).sum()
    expected = ((mu1 - mu2) ** 2).sum() + numpy.trace(cov1) + numpy.trace(cov2) - 2 * trace_sqrt
    forward = evaluate.frechet_distance_gaussians(mu1, cov1, mu2, cov2)
    numpy.testing.assert_allclose([forward, evaluate.frechet_distance_gaussians(mu2, cov2, mu1, cov1)], [expected, expected], rtol=1e-7, atol=1e-9)


def test_frechet_distance_errors():
    with pytest.raises(ValueError, match=r"features1 must be a 2-D array \(n, k\) with n ≥ 2 rows, got shape \(1, 3\)"):
        evaluate.frechet_distance(numpy.zeros((1, 3)), numpy.zeros((5, 3)))
    with pytest.raises(ValueError, match="have 3 and 4 columns"):
        evaluate.frechet_distance(numpy.zeros((5, 3)), numpy.zeros((5, 4)))


# ----- the classifier and the mode-collapse diagnostic ---------------------------------------------------------
def test_shipped_classifier_is_at_least_98_5_percent_accurate_on_the_10000_test_images(test_set, test_predictions):
    accuracy = (test_predictions == test_set[1]).mean()
    assert accuracy >= 0.985, f"the shipped classifier gets {accuracy:.4f} on the test set"


def test_features_are_the_penultimate_layer_and_accept_every_image_layout(test_set):
    images = test_set[0][:8]
    features = classifier.features(images)
    assert features.shape == (8, classifier.FEATURE_DIM) and features.dtype == numpy.float32 and (features >= 0).all()  # after a ReLU
    numpy.testing.assert_array_equal(classifier.features(images.reshape(8, 784)), features)
    numpy.testing.assert_array_equal(classifier.features(images[..., 0]), features)
    logits = features @ classifier.shipped_classifier().head.weight.numpy().T + classifier.shipped_classifier().head.bias.numpy()
    numpy.testing.assert_array_equal(logits.argmax(axis=1), classifier.predict(images))


def test_identical_images_are_one_mode_and_the_test_set_is_ten(test_set, test_predictions):
    collapsed = evaluate.label_histogram(classifier.predict(numpy.repeat(test_set[0][:1], 200, axis=0)))
    assert evaluate.count_modes(collapsed) == 1 and collapsed.sum() == 200
    assert evaluate.kl_to_uniform(collapsed) == pytest.approx(math.log(10))
    real = evaluate.label_histogram(test_predictions)
    assert evaluate.count_modes(real) == 10
    assert evaluate.kl_to_uniform(real) < 0.01


def test_a_class_is_present_from_one_percent_of_the_samples():
    assert evaluate.MODE_THRESHOLD == 0.01
    assert evaluate.count_modes([990, 10, 0, 0, 0, 0, 0, 0, 0, 0]) == 2   # exactly 1%
    assert evaluate.count_modes([991, 9, 0, 0, 0, 0, 0, 0, 0, 0]) == 1    # 0.9%: a stray, not a mode
    assert evaluate.kl_to_uniform([5] * 10) == 0.0
    numpy.testing.assert_array_equal(evaluate.label_histogram(numpy.array([0, 3, 3, 9])), [1, 0, 0, 2, 0, 0, 0, 0, 0, 1])


def test_histogram_and_image_errors():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 9\], found values from 0 to 10"):
        evaluate.label_histogram(numpy.array([0, 10]))
    with pytest.raises(ValueError, match="positive total"):
        evaluate.count_modes([0, 0])
    with pytest.raises(ValueError, match=r"pixel values must lie in \[0, 1\], found values from -1.0 to 1.0 \(images in \[-1, 1\]\?"):
        classifier.check_images(numpy.linspace(-1, 1, 784).reshape(1, 28, 28))
    with pytest.raises(ValueError, match=r"found values from nan to nan"):
        classifier.check_images(numpy.full((1, 784), numpy.nan))
    with pytest.raises(TypeError, match="expected floating-point pixels in \\[0, 1\\], got dtype uint8"):
        classifier.check_images(numpy.zeros((1, 28, 28), numpy.uint8))
    with pytest.raises(FileNotFoundError, match="make them with `python examples/train_classifier.py"):
        classifier.load_classifier("/nonexistent/classifier.npz")


# ----- the command line --------------------------------------------------------------------------------------------
def run_evaluate(*args):
    environment = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run([sys.executable, "-m", "minigan.tools.evaluate", *args], capture_output=True, text=True, env=environment, timeout=120)


def test_command_line_prints_every_number(tmp_path, test_set):
    path = tmp_path / "samples.npy"
    numpy.save(path, test_set[0][:300, :, :, 0])  # real digits standing in for samples: (300, 28, 28) float32
    done = run_evaluate(str(path), "--parzen-samples", "100", "--validation-size", "50")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"samples: 300 ({path})" in out
    assert "digit classes present (each with >= 1% of the samples): 10 of 10" in out
    assert "KL(label histogram || uniform): 0.0" in out
    frechet = float(out.split("samples vs the 10,000 test images: ")[1].split()[0])
    assert 0 <= frechet < 50
    assert "Parzen sigma search" in out
    mean = float(out.split("log-likelihood of the 10,000 test images: ")[1].split()[0])
    assert math.isfinite(mean) and "100 samples" in out


def test_command_line_reports_a_bad_samples_file_in_one_line(tmp_path):
    path = tmp_path / "tanh.npy"
    numpy.save(path, numpy.full((4, 28, 28), -0.5, numpy.float32))
    done = run_evaluate(str(path), "--no-parzen")
    assert done.returncode == 2
    assert "pixel values must lie in [0, 1], found values from -0.5 to -0.5" in done.stderr and "Traceback" not in done.stderr
    done = run_evaluate(str(tmp_path / "missing.npy"))
    assert done.returncode == 2 and "no samples file at" in done.stderr


# ----- sample sizes and the arguments that depend on them -----------------------------------------------------
def test_frechet_bias_is_the_mean_excess_of_the_estimate_over_the_true_distance():
    # n samples of N(μ, Σ) against N(μ, Σ) itself: the true distance is 0, so the mean estimate is the bias.
    rng = numpy.random.default_rng(0)
    k, n, repeats = 8, 400, 600
    a = rng.standard_normal((k, k))
    cov = a @ a.T / k + 0.1 * numpy.eye(k)
    root = numpy.linalg.cholesky(cov)
    estimates = []
    for _ in range(repeats):
        x = rng.standard_normal((n, k)) @ root.T                                   # (n, k) from N(0, Σ)
        estimates.append(evaluate.frechet_distance_gaussians(x.mean(axis=0), numpy.cov(x, rowvar=False), numpy.zeros(k), cov))
    mean, standard_error = numpy.mean(estimates), numpy.std(estimates) / math.sqrt(repeats)
    assert abs(mean - evaluate.frechet_bias(cov, n)) < 3 * standard_error + 0.02 * mean  # second order: O(1/n²) left
    # white features: Tr Σ/n + (k² + k)σ²/(4(n − 1)), which grows like k/n relative to Tr Σ
    assert evaluate.frechet_bias(4 * numpy.eye(k), n) == pytest.approx(4 * k / n + 4 * (k * k + k) / (4 * (n - 1)))


def test_identical_feature_sets_are_at_distance_exactly_zero(test_set):
    features = classifier.features(test_set[0][:1000])
    distance = evaluate.frechet_distance(features, features)
    assert distance == 0.0 and math.copysign(1, distance) == 1  # rounding used to leave -4.5e-07: "-0.000"
    assert evaluate.frechet_distance_gaussians(numpy.zeros(2), numpy.eye(2), numpy.zeros(2), numpy.eye(2)) == 0.0


def test_a_small_sample_gets_a_warning_that_names_the_size_and_the_bias(test_set):
    small = evaluate.evaluate_samples(test_set[0][:300], parzen=False)
    assert len(small["warnings"]) == 1
    warning = small["warnings"][0]
    assert warning.startswith(f"300 samples are fewer than {evaluate.MIN_SAMPLES:,} (10 per feature dimension)")
    assert evaluate.MIN_SAMPLES == 10 * classifier.FEATURE_DIM == 1280
    assert f"the first 300 real validation images score {small['frechet_reference_at_n']:.1f}" in warning
    assert "KL to uniform by about 0.015 nats" in warning  # (10 − 1) / (2 · 300)
    report = evaluate.format_report(small)
    assert report[1] == f"warning: {warning}"
    assert "and the first 300 of them, what a perfect generator gets with 300 samples" in "\n".join(report)
    # real images score far above the 10,000-image reference at this n: the bias the warning is about
    assert small["frechet_reference_at_n"] > 3 * small["frechet_reference"]
    enough = evaluate.evaluate_samples(test_set[0][:evaluate.MIN_SAMPLES], parzen=False)
    assert enough["warnings"] == [] and not any(line.startswith("warning") for line in evaluate.format_report(enough))


def test_evaluate_samples_refuses_counts_larger_than_what_they_count_before_any_work(test_set, monkeypatch):
    images = test_set[0][:20]
    with pytest.raises(ValueError, match=r"validation_size is 10,001 but there are only the 10000 validation images x_train\[50000:\]: at most 10,000"):
        evaluate.evaluate_samples(images, validation_size=10001)
    with pytest.raises(ValueError, match="parzen_samples is 21 but there are only the 20 samples: at most 20"):
        evaluate.evaluate_samples(images, parzen_samples=21)
    with pytest.raises(ValueError, match="sigma must be a number in .*, got nan"):
        evaluate.evaluate_samples(images, sigma=float("nan"))
    monkeypatch.setattr(evaluate, "MAX_SAMPLES", 19)
    with pytest.raises(ValueError, match="need from 2 samples .* to 19, got 20"):
        evaluate.evaluate_samples(images, parzen=False)


def test_command_line_refuses_a_validation_size_above_the_validation_split(capsys):
    from conftest import assert_usage_error

    assert_usage_error(evaluate.parse_args, ["s.npy", "--validation-size", "1000000"],
                       "argument --validation-size: at most 10,000 (all the validation images x_train[50000:]), got 1,000,000", capsys)
    assert evaluate.parse_args(["s.npy", "--validation-size", "10000"]).validation_size == 10000
    for sigma in ("1e300", "1e-300"):  # once an OverflowError and a ZeroDivisionError from deep inside the estimate
        assert_usage_error(evaluate.parse_args, ["s.npy", "--sigma", sigma],
                           f"argument --sigma: expected a number between 0.001 and 1000, got {sigma}", capsys)


def test_command_line_refuses_more_parzen_samples_than_the_file_holds(tmp_path, capsys):
    path = tmp_path / "samples.npy"
    numpy.save(path, numpy.full((30, 28, 28), 0.5, numpy.float32))
    assert evaluate.main([str(path), "--parzen-samples", "100000000"]) == 2
    assert "argument --parzen-samples: at most the 30 samples in" in capsys.readouterr().err


def test_command_line_refuses_an_absurd_sample_file_before_reading_it(tmp_path, capsys):
    path = tmp_path / "huge.npy"
    with open(path, "wb") as handle:  # only the header of a (10⁸, 28, 28) float32 array: 313 GB if it were read
        numpy.lib.format.write_array_header_1_0(handle, {"descr": "<f4", "fortran_order": False, "shape": (10**8, 28, 28)})
    assert evaluate.main([str(path), "--no-parzen"]) == 2
    err = capsys.readouterr().err
    assert "holds 100,000,000 samples (shape (100000000, 28, 28)); the evaluator takes at most 1,000,000" in err
    assert "Traceback" not in err


def test_classifier_arguments_are_checked(test_set, tmp_path):
    images = test_set[0][:3]
    for batch_size in (0, -1, 2.5, True):  # −1 used to return no rows at all, 0 failed inside range()
        with pytest.raises(ValueError, match=f"Classifier: batch_size must be a positive int, got {batch_size!r}"):
            classifier.features(images, batch_size=batch_size)
    with pytest.raises(ValueError, match=r"accuracy: labels must be a 1-D array of integer digits, got shape \(3,\) and dtype float64"):
        classifier.accuracy(classifier.shipped_classifier(), images, [0, 1.5, 2])
    with pytest.raises(ValueError, match="train_classifier: epochs must be a positive int, got True"):
        classifier.train_classifier(epochs=True)
    with pytest.raises(ValueError, match="train_classifier: lr_decay must be finite, got nan"):
        classifier.train_classifier(epochs=1, lr_decay=float("nan"))


def test_a_classifier_file_with_other_weights_is_one_line_on_the_command_line(tmp_path):
    from minigan.tools.io import save_checkpoint

    weights = tmp_path / "other.npz"
    save_checkpoint(weights, {"classifier": {"w": numpy.zeros(2)}})
    with pytest.raises(ValueError, match=r"load_classifier: .*other.npz' does not hold this classifier's weights: Classifier.load_state_dict: missing keys"):
        classifier.load_classifier(weights)
    samples = tmp_path / "samples.npy"
    numpy.save(samples, numpy.full((4, 28, 28), 0.5, numpy.float32))
    done = run_evaluate(str(samples), "--no-parzen", "--classifier", str(weights))  # a KeyError traceback before
    assert done.returncode == 2 and "does not hold this classifier's weights" in done.stderr and "Traceback" not in done.stderr
