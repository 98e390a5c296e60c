"""InfoGAN (Chen et al. 2016): the information term is the paper's bound on hand-computed outputs and is
maximal exactly when Q recovers c; both players' losses subtract it; codes come from the prior, reproducibly;
the majority mapping and the code error; the MNIST networks' shapes; a quick run of the example."""

import math

import numpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigan
from minigan import Tensor
from minigan.gans.infogan import (CATEGORIES, Codes, InformationMaximizing, build_infogan, check_codes, code_error,
                                  majority_mapping, mutual_information_bound, sample_codes)

from conftest import PNG_SIGNATURE, assert_resume_matches_one_run, load_example, to_numpy
from strategies import seeds


def as_codes(xp, categories, continuous):
    return Codes(xp.asarray(numpy.asarray(categories)), xp.asarray(numpy.asarray(continuous, dtype=numpy.float64)))


def bound(xp, logits, means, codes):
    categorical, continuous = mutual_information_bound(Tensor(xp.asarray(numpy.asarray(logits, numpy.float64))),
                                                       Tensor(xp.asarray(numpy.asarray(means, numpy.float64))), codes)
    return categorical.item(), continuous.item()


def test_the_bound_is_the_papers_formula_on_hand_computed_outputs(xp):
    logits = [[2.0, 0.0, -1.0], [0.5, 1.5, 0.0]]
    means = [[0.1, -0.4], [0.9, 0.0]]
    codes = as_codes(xp, [0, 2], [[0.3, -0.5], [1.0, 0.2]])
    categorical, continuous = bound(xp, logits, means, codes)
    log_q = numpy.array(logits) - numpy.logaddexp.reduce(numpy.array(logits), axis=1, keepdims=True)
    assert numpy.isclose(categorical, (log_q[0, 0] + log_q[1, 2]) / 2 + math.log(3), rtol=1e-12)  # E log Q(c₁|x) + H(c₁)
    squares = (numpy.array([[0.3, -0.5], [1.0, 0.2]]) - numpy.array(means)) ** 2
    expected = (-0.5 * squares - 0.5 * math.log(2 * math.pi) + math.log(2)).sum(axis=1).mean()  # Σⱼ E log N(cⱼ; μⱼ, 1) + H(U(−1, 1))
    assert numpy.isclose(continuous, expected, rtol=1e-12)


@given(seed=seeds, m=st.integers(1, 6))
def test_the_bound_is_maximal_when_q_recovers_c_exactly(xp, seed, m):
    """L_I ≤ H(c₁) = log K, approached as Q puts all its mass on c₁; the Gaussian part peaks at μ = c."""
    rng = numpy.random.default_rng(seed)
    c1, rest = rng.integers(0, CATEGORIES, m), rng.uniform(-1, 1, (m, 2))
    codes = as_codes(xp, c1, rest)
    exact = 30.0 * numpy.eye(CATEGORIES)[c1]                             # Q sure of the right category
    other = rng.standard_normal((m, CATEGORIES)) * 3                     # any other Q
    best, best_continuous = bound(xp, exact, rest, codes)
    worse, worse_continuous = bound(xp, other, rest + rng.standard_normal((m, 2)) * 0.3, codes)
    assert math.log(CATEGORIES) - 1e-9 < best <= math.log(CATEGORIES)   # the entropy of Cat(10), reached
    assert worse < best
    assert numpy.isclose(best_continuous, 2 * (math.log(2) - 0.5 * math.log(2 * math.pi)), rtol=1e-12)  # μ = c
    assert -0.452 < best_continuous < -0.451  # below 0: a unit-std Gaussian Q is never sharper than the U(−1, 1) prior
    assert worse_continuous < best_continuous
    # and at μ = c the gradient of the Gaussian part is zero: a maximum, not just a good value
    means = Tensor(xp.asarray(rest), requires_grad=True)
    mutual_information_bound(Tensor(xp.asarray(exact)), means, codes)[1].backward()
    assert numpy.abs(minigan.backend.to_numpy(means.grad)).max() == 0


class OutputsAre:
    def __init__(self, xp, real, fake):
        self.outputs = {"real": real, "fake": fake}

    def call_discriminator(self, x, codes):
        return self.outputs[x]


def test_both_losses_subtract_lambda_times_the_bound(xp):
    codes = as_codes(xp, [1, 0], [[0.2, 0.3], [-0.6, 0.1]])
    t = lambda values: Tensor(xp.asarray(numpy.asarray(values, numpy.float64)))  # noqa: E731
    fake = (t([[0.3], [-1.0]]), t([[0.1, 2.0, 0.0], [1.0, -0.5, 0.2]]), t([[0.0, 0.5], [-0.5, 0.0]]))
    gan = OutputsAre(xp, real=(t([[1.5], [0.2]]), None, None), fake=fake)
    objective = InformationMaximizing(lambda_categorical=1.0, lambda_continuous=0.5)
    categorical, continuous = mutual_information_bound(fake[1], fake[2], codes)
    information = categorical.item() + 0.5 * continuous.item()
    s_real, s_fake = numpy.array([1.5, 0.2]), numpy.array([0.3, -1.0])
    d_loss, stats = objective.discriminator_loss(gan, "real", "fake", codes)
    gan_d = numpy.logaddexp(0, -s_real).mean() + numpy.logaddexp(0, s_fake).mean()   # −log D(x) − log(1 − D(G(z)))
    assert numpy.isclose(d_loss.item(), gan_d - information, rtol=1e-12)
    assert numpy.isclose(to_numpy(stats["mi_categorical"]), categorical.item()) and numpy.isclose(to_numpy(stats["mi_continuous"]), continuous.item())
    g_loss, _ = objective.generator_loss(gan, "fake", codes)
    assert numpy.isclose(g_loss.item(), numpy.logaddexp(0, -s_fake).mean() - information, rtol=1e-12)  # −log D(G(z)) − λ L_I


def test_codes_come_from_the_prior_and_a_seed_fixes_them(xp):
    first = sample_codes(20_000, rng=minigan.get_backend().rng(3))
    again = sample_codes(20_000, rng=minigan.get_backend().rng(3))
    c1, rest = minigan.backend.to_numpy(first.categories), minigan.backend.to_numpy(first.continuous)
    assert numpy.array_equal(c1, minigan.backend.to_numpy(again.categories))
    counts = numpy.bincount(c1, minlength=CATEGORIES)
    assert counts.min() > 1700 and counts.max() < 2300                  # 2000 each, ± 7 standard deviations
    assert rest.dtype == numpy.float32 and rest.shape == (20_000, 2) and -1 <= rest.min() and rest.max() <= 1
    assert abs(rest.mean()) < 0.02 and abs(rest.var() - 1 / 3) < 0.01   # U(−1, 1): mean 0, variance 1/3


def test_bad_codes_are_named():
    with pytest.raises(TypeError, match="expected infogan.Codes"):
        check_codes(numpy.zeros((3, 12)), 3)
    with pytest.raises(ValueError, match=r"categories must lie in 0..9, found 0 to 10"):
        check_codes(Codes(numpy.array([0, 10, 3]), numpy.zeros((3, 2), numpy.float32)), 3)
    with pytest.raises(ValueError, match=r"continuous must be floats of shape \(3, 2\)"):
        check_codes(Codes(numpy.array([0, 1, 3]), numpy.zeros((3, 1), numpy.float32)), 3)


def test_majority_mapping_and_the_code_error():
    codes = numpy.array([3, 3, 3, 5, 5, 7])
    labels = numpy.array([1, 1, 2, 0, 0, 9])
    mapping, counts = majority_mapping(codes, labels)
    assert list(mapping[[3, 5, 7]]) == [1, 0, 9] and (mapping[[0, 1, 2, 4, 6, 8, 9]] == -1).all()
    assert counts[3, 1] == 2 and counts.sum() == 6

    class ReadsCodes:  # a GAN whose Q "reads" a code that is the digit for some digits and a wrong one for others
        def read_codes(self, images):
            return images.astype(numpy.int64) % 10

    images, labels = numpy.arange(20) + 100, numpy.arange(20) % 10   # image i reads as code i % 10, its digit
    labels_with_errors = labels.copy()
    labels_with_errors[:4] = [9, 9, 9, 9]                              # 4 of 20 test digits differ from their code's digit
    error, mapping, _ = code_error(ReadsCodes(), images, labels, images, labels_with_errors)
    assert list(mapping) == list(range(10)) and error == 4 / 20


def test_the_mnist_networks_and_one_iteration(xp):
    gan = build_infogan(seed=0)
    noise = gan.sample_noise(5)
    assert noise.shape == (5, 62)
    codes = sample_codes(5)
    fake = gan.generate(noise, codes)
    assert fake.shape == (5, 28, 28, 1) and 0 <= float(fake.data.min()) and float(fake.data.max()) <= 1
    source, category_logits, means = gan.call_discriminator(fake, codes)
    assert (source.shape, category_logits.shape, means.shape) == ((5, 1), (5, 10), (5, 2))
    stats = gan.train_iteration(iter([numpy.random.default_rng(0).uniform(0, 1, (6, 28, 28, 1)).astype(numpy.float32)]))
    assert all(numpy.isfinite(to_numpy(v)) for v in stats.values()) and {"mi_categorical", "mi_continuous"} <= set(stats)
    assert (gan.generator_optimizer.lr, gan.discriminator_optimizer.lr) == (1e-3, 2e-4)


# ----- the example ---------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_example_quick_run_writes_figure_2_and_measures_the_code(tmp_path, small_mnist, capsys):
    example = load_example("infogan")
    out = tmp_path / "run"
    assert example.main(["--data", small_mnist, "--steps", "2", "--batch-size", "32", "--samples", "20", "--out", str(out)]) == 0
    assert numpy.load(out / "samples.npy").shape == (20, 28, 28)
    for name in ("codes_epoch_001.png", "c2.png", "c3.png", "training.png"):
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("c₁ → digit error: ") and "Chen et al. 2016 report about 5%" in lines[-1]


def test_figure_2_grids_vary_what_they_say():
    example = load_example("infogan")
    gan = build_infogan(seed=0)
    noise, codes = example.category_grid_inputs(gan, seed=0)
    noise = to_numpy(noise)
    assert list(codes.categories.reshape(10, 10)[:, 0]) == list(range(10))                       # row r: c₁ = r
    assert numpy.array_equal(noise.reshape(10, 10, 62)[3], noise.reshape(10, 10, 62)[0])          # columns share z
    noise, codes = example.sweep_inputs(gan, seed=0, which=1)
    noise, grid = to_numpy(noise), codes.continuous.reshape(10, 10, 2)
    numpy.testing.assert_allclose(grid[4, :, 1], numpy.linspace(-2, 2, 10))                       # columns: c₃ from −2 to 2
    assert (grid[..., 0] == 0).all() and (noise == noise[0]).all()                                 # c₂ = 0, one z


@pytest.mark.slow
def test_example_resumed_mid_epoch_draws_the_same_codes_and_losses(tmp_path, small_mnist):
    example = load_example("infogan")
    common = ["--data", small_mnist, "--batch-size", "32", "--samples", "0", "--no-measure", "--seed", "3"]
    assert_resume_matches_one_run(example, common, tmp_path, steps=4, cut=2, resume_flags=["--samples", "0", "--no-measure"])
