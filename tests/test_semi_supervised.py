"""The semi-supervised GAN (Salimans et al. 2016): D's real/fake probability is Z/(Z + 1) from its class
logits; D's loss is L_supervised + w·L_unsupervised and G's the feature-matching distance, on hand-computed
numbers; the labelled subset and the minibatch scheme; the released code's MNIST model; a two-Gaussian
toy learnt from 2 labels per class; a quick run of the example."""

import numpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigan
from minigan import Tensor, gradcheck, nn, optim
from minigan.gans import semi_supervised as ss

from conftest import PNG_SIGNATURE, load_example, to_numpy
from strategies import random_array, seeds


# ----- the K + 1 trick --------------------------------------------------------------------------------------
@given(rows=st.integers(1, 4), classes=st.integers(1, 5), scale=st.sampled_from([1.0, 50.0, 800.0]), seed=seeds)
def test_d_is_z_over_z_plus_1_from_the_class_logits(xp, rows, classes, scale, seed):
    """D(x) = Z/(Z + 1), Z = Σₖ exp lₖ: the softmax over K + 1 logits with the extra one fixed at 0."""
    logits = random_array(xp, (rows, classes), seed) * scale                # large ones too: no overflow
    s = minigan.backend.to_numpy(ss.real_logit(Tensor(logits)).data)
    l = minigan.backend.to_numpy(logits)
    with_extra = numpy.concatenate([l, numpy.zeros((rows, 1))], axis=1)     # the K + 1 logits, l_{K+1} = 0
    log_p_real = numpy.logaddexp.reduce(l, axis=1) - numpy.logaddexp.reduce(with_extra, axis=1)  # log Σₖ≤K softmax
    log_d = -numpy.logaddexp(0, -s)                                          # log σ(s), in logs: D may be 1e-300
    numpy.testing.assert_allclose(log_d, log_p_real, rtol=1e-10, atol=1e-12)
    if scale == 1.0:
        z = numpy.exp(l).sum(axis=1)
        numpy.testing.assert_allclose(numpy.exp(log_d), z / (z + 1), rtol=1e-12)


@given(rows=st.integers(1, 3), classes=st.integers(1, 4), seed=seeds)
def test_real_logit_gradient_is_the_softmax(xp, rows, classes, seed):
    logits = Tensor(random_array(xp, (rows, classes), seed), requires_grad=True)
    gradcheck(ss.real_logit, [logits], seed=seed + 1)
    logits.grad = None
    ss.real_logit(logits).backward(xp.ones(rows))
    l = minigan.backend.to_numpy(logits.data)
    numpy.testing.assert_allclose(minigan.backend.to_numpy(logits.grad), numpy.exp(l) / numpy.exp(l).sum(axis=1, keepdims=True), rtol=1e-12)


# ----- the objective on hand-computed numbers ----------------------------------------------------------------
class StandIn:
    """A GAN whose D maps each of the named minibatches to given logits (D called once on their concatenation)
    and to given features."""

    def __init__(self, xp, logits, features):
        self.logits, self.features_of = logits, features
        outer = self

        class Discriminator:
            def features(self, x):
                return Tensor(xp.asarray(outer.features_of[int(x.data[0, 0])], dtype=numpy.float64))

        self.discriminator = Discriminator()
        self.xp = xp

    def call_discriminator(self, x, condition):
        # x is concatenate([labelled, real, fake]); each row's first value names the logits it gets
        return Tensor(self.xp.asarray(numpy.stack([self.logits[int(v)] for v in minigan.backend.to_numpy(x.data)[:, 0]]), dtype=numpy.float64))


LOGITS = {0: [2.0, -1.0, 0.5], 1: [0.1, 0.3, 1.2], 2: [-0.5, 1.5, 0.0], 3: [-2.0, -1.0, -3.0]}


@pytest.mark.parametrize("weight", [0.5, 1.0, 0.0])
def test_discriminator_loss_is_supervised_plus_weighted_unsupervised(weight, xp):
    """L = CE(labelled) + w·{−mean log D(x_unl) − mean log(1 − D(G(z)))}, D = Z/(Z + 1)."""
    gan = StandIn(xp, LOGITS, {})
    column = lambda names: Tensor(xp.asarray(numpy.array(names, dtype=numpy.float64)[:, None]))  # noqa: E731
    supervision = ss.Supervision(numpy.array([[0.0], [1.0]]), xp.asarray(numpy.array([0, 2])), None)
    loss, stats = ss.SemiSupervised(weight).discriminator_loss(gan, column([2, 1]), column([3, 0]), supervision)
    lse = {k: numpy.logaddexp.reduce(v) for k, v in LOGITS.items()}
    supervised = ((lse[0] - LOGITS[0][0]) + (lse[1] - LOGITS[1][2])) / 2             # −log softmax(l)_y
    log_d = lambda k: lse[k] - numpy.logaddexp(0, lse[k])                            # log Z/(Z + 1)  # noqa: E731
    log_not_d = lambda k: -numpy.logaddexp(0, lse[k])                                # log 1/(Z + 1)  # noqa: E731
    unsupervised = -(log_d(2) + log_d(1)) / 2 - (log_not_d(3) + log_not_d(0)) / 2
    assert numpy.isclose(loss.item(), supervised + weight * unsupervised, rtol=1e-12)
    assert numpy.isclose(to_numpy(stats["supervised_loss"]), supervised, rtol=1e-12)
    assert numpy.isclose(to_numpy(stats["d_real"]), numpy.mean([numpy.exp(log_d(2)), numpy.exp(log_d(1))]), rtol=1e-12)
    assert float(to_numpy(stats["train_error"])) == 0.0  # the labelled logits 0 and 1 are read as classes 0 and 2: their labels


def test_feature_matching_is_the_mean_squared_distance_of_the_feature_means(xp):
    real_features = numpy.array([[1.0, 2.0, 0.0], [3.0, 0.0, 1.0]])
    fake_features = numpy.array([[0.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 2.0]])
    gan = StandIn(xp, {}, {5: real_features, 6: fake_features})
    supervision = ss.Supervision(None, None, numpy.array([[5.0], [5.0]]))
    loss, _ = ss.SemiSupervised().generator_loss(gan, Tensor(xp.asarray(numpy.array([[6.0]]))), supervision)
    expected = ((real_features.mean(axis=0) - fake_features.mean(axis=0)) ** 2).mean()   # ‖E f(x) − E f(G(z))‖² / units
    assert numpy.isclose(loss.item(), expected, rtol=1e-12)


# ----- the data --------------------------------------------------------------------------------------------
def test_the_labelled_subset_has_per_class_examples_of_each_digit_chosen_by_the_seed():
    labels = numpy.random.default_rng(0).integers(0, 10, 1000)
    chosen = ss.choose_labelled(labels, 3, seed=1)
    assert len(chosen) == 30 and len(set(chosen)) == 30
    assert (numpy.bincount(labels[chosen], minlength=10) == 3).all()
    assert numpy.array_equal(chosen, ss.choose_labelled(labels, 3, seed=1))
    assert not numpy.array_equal(chosen, ss.choose_labelled(labels, 3, seed=2))
    with pytest.raises(ValueError, match="class 1 has 0 examples, fewer than the 1 asked for"):
        ss.choose_labelled(numpy.array([0, 0, 3, 3]), 1, seed=0)


def test_every_minibatch_has_its_labelled_companions_and_a_second_unlabelled_half():
    unlabelled = numpy.arange(60, dtype=numpy.float32)[:, None]
    loader = ss.SemiSupervisedLoader(unlabelled, numpy.arange(4, dtype=numpy.float32)[:, None] + 100, numpy.arange(4), 10, seed=3)
    batches = list(loader)
    assert len(batches) == len(loader) == 6 and loader.epoch == 1
    seen, labelled_seen = [], []
    for x, supervision in batches:
        assert x.shape == (10, 1) and supervision.matching.shape == (10, 1) and supervision.images.shape == (10, 1)
        numpy.testing.assert_array_equal(supervision.images[:, 0] - 100, supervision.labels)  # each image keeps its label
        seen += list(x[:, 0])
        labelled_seen += list(supervision.labels)
    assert sorted(seen) == list(range(60))                              # one pass over the unlabelled images
    assert numpy.bincount(labelled_seen).tolist() == [15, 15, 15, 15]   # whole permutations of the 4 labelled, end to end
    loader.epoch = 0
    again = list(loader)
    assert all(numpy.array_equal(a[0], b[0]) for a, b in zip(batches, again))  # epoch e is fixed by (seed, e)


# ----- the MNIST model ------------------------------------------------------------------------------------------
def test_the_mnist_model_is_the_released_codes(xp):
    minigan.seed(0)
    init = numpy.random.default_rng(0).uniform(0, 1, (40, 28, 28, 1)).astype(numpy.float32)
    gan = ss.build_semi_supervised_gan(init, seed=0)
    d = gan.discriminator
    widths = [(m.in_features, m.out_features, m.train_scale) for m in d.modules() if isinstance(m, nn.WeightNormLinear)]
    assert widths == [(784, 1000, False), (1000, 500, False), (500, 250, False), (250, 250, False), (250, 250, False), (250, 10, True)]
    assert [m.sigma for m in d.modules() if isinstance(m, nn.GaussianNoise)] == [0.3, 0.5, 0.5, 0.5, 0.5, 0.5]
    assert d.features(Tensor(xp.asarray(init))).shape == (40, 250)
    assert gan.generate(gan.sample_noise(3)).shape == (3, 28, 28, 1)
    assert (gan.discriminator_optimizer.lr, gan.discriminator_optimizer.beta1, gan.discriminator_optimizer.eps) == (0.003, 0.5, 1e-4)
    errors = gan.test_errors(init, numpy.zeros(40, numpy.int64))
    assert 0 <= errors <= 40 and numpy.array_equal(gan.classify(init), gan.classify(init))  # eval mode: no noise


# ----- a toy learnt from 2 labels per class ---------------------------------------------------------------------
def two_gaussians(n, seed):
    """Class 0 ~ N((−1.5, 0), diag(0.3², 1)), class 1 ~ N((1.5, 0), the same): separated along x only."""
    rng = numpy.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    points = numpy.array([[-1.5, 0.0], [1.5, 0.0]])[labels] + rng.standard_normal((n, 2)) * [0.3, 1.0]
    return points.astype(numpy.float32), labels


def tiny_semi_supervised_gan(seed, unlabelled_weight):
    minigan.seed(seed)
    discriminator = ss.SemiSupervisedDiscriminator(nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU()), nn.Linear(32, 2))
    generator = nn.Sequential(nn.Linear(4, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Linear(32, 2))
    return ss.SemiSupervisedGAN(generator, discriminator,
                                optim.Adam(generator.parameters(), lr=3e-3, betas=(0.5, 0.999)),
                                optim.Adam(discriminator.parameters(), lr=3e-3, betas=(0.5, 0.999)),
                                noise_dim=4, noise="uniform", seed=seed, objective=ss.SemiSupervised(unlabelled_weight))


@pytest.mark.slow
def test_two_gaussians_are_learnt_from_two_labels_per_class():
    """The 4 labels sit far up and down (class 0 at y ≈ 2, class 1 at y ≈ −2), so the labels alone tilt the
    boundary; the unlabelled points and G's fakes between the clusters put it where the gap is (x = 0)."""
    points, labels = two_gaussians(2000, 0)
    test_points, test_labels = two_gaussians(2000, 1)
    labelled = numpy.array([[-1.0, 2.0], [-0.9, 2.5], [1.0, -2.0], [0.9, -2.5]], numpy.float32)
    errors = {}
    for weight in (0.5, 0.0):  # the semi-supervised GAN, and the same D from the labels alone
        gan = tiny_semi_supervised_gan(0, weight)
        loader = ss.SemiSupervisedLoader(points, labelled, numpy.array([0, 0, 1, 1]), 64, seed=0)
        for _ in range(30):
            for batch in loader:
                gan.train_iteration(iter([batch]))
        errors[weight] = gan.test_errors(test_points, test_labels) / len(test_labels)
    assert errors[0.5] < 0.08, errors           # the best boundary, x = 0, errs on Φ(−5) ≈ 3·10⁻⁷ of the points
    assert errors[0.0] > 2 * errors[0.5], errors


# ----- the example ----------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_example_quick_run_prints_the_test_error_last_and_draws_the_curve(tmp_path, small_mnist, capsys):
    example = load_example("semi_supervised")
    out = tmp_path / "run"
    assert example.main(["--data", small_mnist, "--labels", "20", "--batch-size", "20", "--steps", "3", "--samples", "20", "--out", str(out)]) == 0
    assert numpy.load(out / "samples.npy").shape == (20, 28, 28)
    for name in ("test_error.png", "training.png", "samples_epoch_001.png"):
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("test error: ") and "of 100) with 20 labels after 1 epochs" in last
    with numpy.load(out / "history.npz") as history:
        assert len(history["test_errors"]) == 1 and len(history["g_loss"]) == 3 and list(history["curve_epochs"]) == [1]


@pytest.mark.slow
def test_example_resumed_mid_epoch_continues_the_run_and_its_learning_curve(tmp_path, small_mnist):
    example = load_example("semi_supervised")
    common = ["--data", small_mnist, "--labels", "20", "--batch-size", "20", "--samples", "0", "--seed", "1"]
    assert example.main([*common, "--epochs", "2", "--out", str(tmp_path / "a")]) == 0         # 20 iterations an epoch
    assert example.main([*common, "--epochs", "2", "--steps", "25", "--out", str(tmp_path / "b")]) == 0   # cut in epoch 2
    assert example.main(["--resume", str(tmp_path / "b"), "--samples", "0"]) == 0
    with numpy.load(tmp_path / "a" / "history.npz") as a, numpy.load(tmp_path / "b" / "history.npz") as b:
        assert list(b["curve_epochs"]) == [1, 2] and len(a["g_loss"]) == 40
        for name in a.files:
            numpy.testing.assert_array_equal(a[name], b[name])


@pytest.mark.parametrize("flags, message", [
    (["--labels", "15"], "--labels: expected a multiple of 10"),
    (["--unlabelled-weight", "-1"], "--unlabelled-weight: expected a non-negative finite number, got -1"),
    (["--epochs", "0"], "--epochs: expected a positive integer, got 0"),
])
def test_example_rejects_bad_flags(flags, message, capsys):
    from conftest import assert_usage_error

    assert_usage_error(load_example("semi_supervised").parse_args, flags, message, capsys)


def test_example_too_many_labels_is_one_line(small_mnist, tmp_path, capsys):
    assert load_example("semi_supervised").main(["--data", small_mnist, "--labels", "1000", "--out", str(tmp_path)]) == 2
    assert "--labels 1000: choose_labelled: class" in capsys.readouterr().err
