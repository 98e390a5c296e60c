"""The conditional GAN (Mirza & Osindero 2014): the label reaches both players, the API's shapes and errors,
the fakes drawn for the batch's labels, a gradient check through D, and a quick run of the example.

Who changes when, k steps, seeds, resume and eval mode are the loop's, tested for this GAN and the plain
one alike in ``test_gan.py``."""

import os

import numpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigan
from minigan import Tensor, nn, optim
from minigan.gans.conditional_gan import (ConditionalDiscriminator, ConditionalGAN, ConditionalGenerator,
                                     build_conditional_gan, check_labels, one_hot)
from minigan.tools.io import is_temporary, load_checkpoint

from conftest import PNG_SIGNATURE, assert_close, assert_same_history_files, assert_usage_error, load_example, to_numpy



# ----- a tiny conditional GAN on 1-D data: class y is N(MEANS[y], 0.3²) --------------------------------
MEANS = numpy.array([-2.0, 2.0], dtype=numpy.float32)


def class_batches(m, seed):
    """(x (m, 1) float32, y (m,) int64) pairs forever: y uniform over the classes, x ~ N(MEANS[y], 0.3²)."""
    rng = numpy.random.default_rng(seed)
    while True:
        labels = rng.integers(0, len(MEANS), size=m)
        yield (MEANS[labels] + 0.3 * rng.standard_normal(m).astype(numpy.float32))[:, None], labels


def tiny_conditional_gan(seed=0, k=1, lr=5e-3, num_classes=len(MEANS), dtype=None, **options):
    minigan.seed(seed)
    generator = ConditionalGenerator(
        nn.Sequential(nn.Linear(4 + num_classes, 32, dtype=dtype), nn.ReLU(), nn.Linear(32, 1, dtype=dtype)), num_classes)
    discriminator = ConditionalDiscriminator(
        image_net=nn.Flatten(),
        joint_net=nn.Sequential(nn.Linear(1 + num_classes, 32, dtype=dtype), nn.LeakyReLU(0.2), nn.Linear(32, 1, dtype=dtype)),
        num_classes=num_classes)
    return ConditionalGAN(generator, discriminator,
                          optim.Adam(generator.parameters(), lr=lr, betas=(0.5, 0.999)),
                          optim.Adam(discriminator.parameters(), lr=lr, betas=(0.5, 0.999)),
                          noise_dim=4, num_classes=num_classes, discriminator_steps=k, seed=seed, **options)


@pytest.fixture(scope="module")
def mnist_gan():
    """The conditional MLP GAN for MNIST, built once for the tests that only call it."""
    return build_conditional_gan(seed=0)


# ----- one-hot codes and label checks -----------------------------------------------------------------
@given(labels=st.lists(st.integers(0, 9), min_size=1, max_size=20), wide=st.booleans())
def test_one_hot_puts_a_single_one_in_the_labels_column(labels, wide):
    dtype = numpy.float64 if wide else numpy.float32
    codes = one_hot(numpy.array(labels), 10, dtype=dtype).numpy()
    assert codes.shape == (len(labels), 10) and codes.dtype == dtype
    numpy.testing.assert_array_equal(codes, numpy.eye(10)[labels])  # row i is e_{labels[i]}


@pytest.mark.parametrize("labels, error, message", [
    (numpy.array([0.0, 1.0, 2.0]), TypeError, r"expected integer class labels 0\.\.9 .* got dtype float64"),
    (numpy.array([True, False, True]), TypeError, "got dtype bool"),
    (numpy.array([[0], [1], [2]]), ValueError, r"expected shape \(3,\), one label per example .* got shape \(3, 1\)"),
    (numpy.array([0, 1]), ValueError, r"expected shape \(3,\).* got shape \(2,\)"),
    (numpy.array([0, 10, 2]), ValueError, r"expected class labels in 0\.\.9, found values from 0 to 10"),
    (numpy.array([-1, 1, 2]), ValueError, "found values from -1 to 2"),
])
def test_bad_labels_are_named_with_what_was_expected(labels, error, message, mnist_gan):
    with pytest.raises(error, match="^labels: .*" + message):
        check_labels(labels, 3)
    gan = mnist_gan
    with pytest.raises(error, match="^ConditionalGAN.generate: labels: .*" + message):
        gan.generate(gan.sample_noise(3), labels)
    with pytest.raises(error, match="^ConditionalGAN.discriminator_step: labels: .*" + message):
        gan.discriminator_step(numpy.zeros((3, 28, 28, 1), numpy.float32), labels)
    with pytest.raises(error, match="^ConditionalGAN.generator_step: labels: .*" + message):
        gan.generator_step(3, labels)


def test_lists_of_ints_are_accepted_and_batches_must_be_pairs():
    assert check_labels([3, 1, 4], 3).tolist() == [3, 1, 4]
    gan = tiny_conditional_gan()
    with pytest.raises(TypeError, match=r"real_batches must yield \(images, labels\) pairs.* got a ndarray"):
        gan.train_iteration(iter([numpy.zeros((8, 1), numpy.float32)]))
    with pytest.raises(TypeError, match=r"^ConditionalGAN.generate: labels: a conditional GAN needs the class labels, "
                                        r"an int array of shape \(4,\), got None"):
        gan.generate(gan.sample_noise(4))
    with pytest.raises(ValueError, match="num_classes must be an int >= 2, got 1"):
        ConditionalGAN(gan.generator, gan.discriminator, None, None, noise_dim=4, num_classes=1)


# ----- the MNIST networks: shapes, and the label actually conditions them --------------------------
def test_conditional_mlp_gan_shapes_dtypes_and_recipe(xp):
    gan = build_conditional_gan(seed=0)
    labels = numpy.arange(6) % 10
    fake = gan.generate(gan.sample_noise(6), labels)
    assert fake.shape == (6, 28, 28, 1) and fake.dtype == numpy.float32
    assert float(fake.data.min()) >= 0 and float(fake.data.max()) <= 1  # sigmoid output, like load_mnist(scale="sigmoid")
    logits = gan.discriminator(fake, labels)
    assert logits.shape == (6, 1) and logits.dtype == numpy.float32
    # the MLP GAN recipe: uniform noise, one-sided label smoothing, Adam 2e-4 with β₁ 0.5
    assert gan.noise == "uniform" and gan.objective.real_label == 0.9
    assert gan.generator_optimizer.lr == 2e-4 and gan.discriminator_optimizer.beta1 == 0.5
    # the one-hot code is 10 more inputs to G's first layer and to D's first maxout layer
    assert gan.generator.net[0].in_features == 100 + 10
    assert gan.discriminator.joint_net[0].in_features == 784 + 10


def test_the_label_conditions_the_generator_and_the_discriminator(xp):
    gan = build_conditional_gan(seed=0)
    z = gan.sample_noise(1).numpy().repeat(10, axis=0)  # one z, ten labels
    images = gan.generate(z, numpy.arange(10)).numpy()
    assert len({images[d].tobytes() for d in range(10)}) == 10  # same z, different y: ten different images
    assert numpy.abs(images[0] - images[1]).max() > 1e-4
    gan.discriminator.eval()  # no dropout: only the label differs between the calls
    x = numpy.repeat(images[:1], 10, axis=0)
    logits = gan.discriminator(Tensor(xp.asarray(x)), numpy.arange(10)).numpy()[:, 0]
    assert numpy.diff(numpy.sort(logits)).min() > 1e-4  # same x, different y: ten different judgements
    same = gan.discriminator(Tensor(xp.asarray(x)), numpy.zeros(10, numpy.int64)).numpy()[:, 0]
    numpy.testing.assert_allclose(same, same[0], rtol=1e-5)  # the same (x, y) gets the same logit (up to BLAS rounding)


def test_generator_output_bias_starts_at_the_mean_image_when_given_the_data():
    rng = numpy.random.default_rng(0)
    images = (rng.uniform(size=(300, 28, 28, 1)) < 0.2).astype(numpy.float32)
    gan = build_conditional_gan(seed=0, images=images)
    bias = gan.generator.net[-3].bias.numpy()  # the 784-unit output layer, before the sigmoid and reshape
    mean = numpy.clip(images.reshape(300, -1).mean(0), 1e-3, 1 - 1e-3)
    numpy.testing.assert_allclose(bias, numpy.log(mean / (1 - mean)), rtol=1e-5)


def test_gradient_through_the_conditional_discriminator_float64(xp):
    """Finite differences through flatten → concatenate with onehot(y) → maxout → linear, in float64:
    the image gets the gradient of its own columns only, the first layer's weight (including its label
    columns) the right one."""
    minigan.seed(1)
    discriminator = ConditionalDiscriminator(
        image_net=nn.Flatten(),
        joint_net=nn.Sequential(nn.Maxout(4 + 3, 3, 2, dtype=numpy.float64), nn.Linear(3, 1, dtype=numpy.float64)),
        num_classes=3)
    labels = numpy.array([0, 2, 1, 2, 0])
    x = Tensor(xp.asarray(numpy.random.default_rng(2).standard_normal((5, 2, 2, 1))), requires_grad=True)
    first_weight = discriminator.joint_net[0].linear.weight  # (6, 7): columns 4..6 multiply onehot(y)
    errors = minigan.engine.gradcheck(lambda x, w: discriminator(x, labels), [x, first_weight])
    assert max(errors) < 1e-6


# ----- Algorithm 1 with labels (the loop's mechanics are tested for both GANs in test_gan.py) ---------
@pytest.mark.parametrize("k", [1, 2])
def test_each_iteration_takes_k_pairs_and_draws_the_fakes_for_their_labels(k):
    gan = tiny_conditional_gan(k=k)
    seen = []  # the labels G was asked for
    generator_forward = gan.generator.forward
    gan.generator.forward = lambda z, labels: seen.append(to_numpy(labels).copy()) or generator_forward(z, labels)
    pairs = [next(class_batches(8, i)) for i in range(3 * k)]
    batches = iter(pairs)
    for _ in range(3):
        gan.train_iteration(batches)
    # per iteration: k D steps with fakes for each batch's labels, then a G step for the last batch's labels
    expected = [pairs[i * k + j][1] for i in range(3) for j in list(range(k)) + [k - 1]]
    assert len(seen) == len(expected)
    for drawn, labels in zip(seen, expected):
        numpy.testing.assert_array_equal(drawn, labels)


def test_a_tiny_conditional_gan_draws_the_class_it_is_asked_for():
    """Class 0 is N(−2, 0.3²), class 1 is N(2, 0.3²). If either player ignored the label, G(z | y) would
    draw the two-bump mixture for both labels (means near 0), not the bump of y."""
    gan = tiny_conditional_gan(seed=0)
    batches = class_batches(64, 0)
    for _ in range(800):
        gan.train_iteration(batches)
    rng = minigan.get_backend().rng(123)
    for label, mean in enumerate(MEANS):
        samples = gan.generate(gan.sample_noise(2000, rng=rng), numpy.full(2000, label)).numpy()
        assert abs(samples.mean() - mean) < 0.3, (label, samples.mean())
        assert samples.std() < 0.8, (label, samples.std())  # one bump, not the mixture (std ≈ 2)


# ----- the example ------------------------------------------------------------------------------------
example = load_example("conditional_gan")


def test_example_quick_run_writes_the_grid_and_checkpoint_and_measures_the_labels(tmp_path, small_mnist, capsys):
    out = tmp_path / "run"
    assert example.main(["--data", small_mnist, "--steps", "2", "--batch-size", "50", "--eval-per-digit", "3",
                         "--out", str(out)]) == 0
    for name in ("digits_epoch_001.png", "training.png"):
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE
    state, metadata = load_checkpoint(out / "checkpoint.npz")
    assert metadata["config"]["model"] == "conditional-mlp" and int(state["gan"]["counters"]["iteration"]) == 2
    assert not [f for f in os.listdir(out) if is_temporary(f)]  # no temp files left
    report = capsys.readouterr().out
    assert "digit 9:" in report and "all digits:" in report and "of 30 samples" in report
    assert "real test digits correctly" in report


def test_example_same_seed_same_losses(tmp_path, small_mnist):
    common = ["--data", small_mnist, "--steps", "3", "--batch-size", "50", "--eval-per-digit", "0", "--seed", "5"]
    assert example.main([*common, "--out", str(tmp_path / "a")]) == 0
    assert example.main([*common, "--out", str(tmp_path / "b")]) == 0
    assert_same_history_files(tmp_path / "a", tmp_path / "b", "g_loss", 3)


def test_grid_rows_are_digits_and_columns_share_their_noise():
    gan = build_conditional_gan(seed=0)
    noise, labels = example.grid_inputs(gan, seed=0)
    assert noise.shape == (100, 100) and labels.shape == (100,)
    rows, columns = labels.reshape(10, 10), noise.reshape(10, 10, 100)
    numpy.testing.assert_array_equal(rows, numpy.arange(10)[:, None].repeat(10, axis=1))  # row r: digit r
    columns = to_numpy(columns)
    assert all(numpy.array_equal(columns[r], columns[0]) for r in range(10))  # every row: the same z_0 … z_9
    assert len({columns[0, c].tobytes() for c in range(10)}) == 10            # ten different columns
    again, _ = example.grid_inputs(gan, seed=0)
    assert_close(again, noise, rtol=0, atol=0)  # the same seed, the same grid


def test_accuracy_report_reads_the_confusion_matrix():
    confusion = numpy.diag(numpy.full(10, 8))
    confusion[4, 9] = 2  # two of the ten fours were read as nines
    lines = example.accuracy_report(confusion, real_accuracy=0.987)
    assert "  digit 4:  80.0% of 10   (else mostly 9: 20.0%)" in lines
    assert "  digit 3: 100.0% of 8" in lines  # nothing else to name
    assert "  all digits: 97.6% of 82 samples" in lines  # 80 of 82
    assert lines[-1].endswith("98.7% of the real test digits correctly")


def test_example_help_explains_every_flag(capsys):
    with pytest.raises(SystemExit) as exit_info:
        example.parse_args(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--epochs", "--steps", "--batch-size", "--lr", "--seed", "--backend", "--out", "--data",
                 "--eval-per-digit", "--log-every"):
        assert flag in text


@pytest.mark.parametrize("flags, message", [
    (["--epochs", "0"], "--epochs: expected a positive integer, got 0"),
    (["--batch-size", "x"], "--batch-size: expected a positive integer, got 'x'"),
    (["--seed", "-1"], "--seed: expected a seed, an integer in [0, 2**64), got -1"),
    (["--log-every", "0"], "--log-every: expected a positive integer, got 0"),
])
def test_example_rejects_bad_flags_with_a_message(flags, message, capsys):
    assert_usage_error(example.parse_args, flags, message, capsys)


def test_example_reports_missing_data_in_one_line(tmp_path, capsys):
    assert example.main(["--data", str(tmp_path / "nowhere.npz"), "--out", str(tmp_path / "x")]) == 2
    assert "conditional_gan.py: error: no MNIST data at" in capsys.readouterr().err
