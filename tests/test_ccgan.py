"""The context-conditional GAN (Denton et al. 2016): square holes at random places, on hand-made images; the
in-painted image x_I = (1 − m) ⊙ x_G + m ⊙ x; D's K + 1 probabilities; G's loss −log D(x_I) and D's loss on
hand-computed logits; G's gradient reaching only through the hole (and gradchecked); the loop reproducible
and resumed exactly; the example's pictures, last line, resume bit for bit and one-line errors."""

import numpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigan
from minigan import Tensor, gradcheck, nn, optim
from minigan.engine.nn import Module, Parameter
from minigan.gans import context_conditional as cc
from minigan.gans import semi_supervised as ss
from minigan.tools.data import mask_holes, random_square_holes, square_holes

from conftest import PNG_SIGNATURE, assert_resume_matches_one_run, assert_usage_error, load_example, to_numpy
from strategies import random_array, seeds


# ----- the holes, on hand-made images ---------------------------------------------------------------------
def test_square_holes_of_given_corners_on_a_hand_made_image(xp):
    holes = square_holes(xp.asarray([0, 3]), xp.asarray([2, 1]), 5, 6, 2)
    expected = numpy.zeros((2, 5, 6), numpy.float32)
    expected[0, 0:2, 2:4] = 1                                          # rows 0, 1 and columns 2, 3
    expected[1, 3:5, 1:3] = 1                                          # rows 3, 4 and columns 1, 2: the bottom edge
    assert holes.shape == (2, 5, 6, 1) and holes.dtype == numpy.float32
    numpy.testing.assert_array_equal(to_numpy(holes)[..., 0], expected)


def test_mask_holes_erases_the_hole_and_keeps_the_rest(xp):
    pixels = numpy.arange(1, 37, dtype=numpy.float32).reshape(1, 6, 6, 1) / numpy.float32(36)   # no pixel is 0
    holes = square_holes(xp.asarray([1]), xp.asarray([3]), 6, 6, 3)
    masked = to_numpy(mask_holes(xp.asarray(pixels), holes))[0, :, :, 0]
    expected = pixels[0, :, :, 0].copy()
    expected[1:4, 3:6] = 0                                             # the hole touches the right edge
    numpy.testing.assert_array_equal(masked, expected)
    grey = to_numpy(mask_holes(xp.asarray(pixels), holes, fill=0.5))[0, :, :, 0]
    assert (grey[1:4, 3:6] == 0.5).all() and (grey[0] == pixels[0, 0, :, 0]).all()


def test_random_holes_lie_inside_the_image_and_take_every_place_equally_often():
    """4 × 4 images, 3 × 3 holes: 2 × 2 = 4 places; 8,000 draws give each about 2,000 (binomial sd ≈ 39)."""
    holes = random_square_holes(8000, 4, 4, 3, numpy.random.default_rng(0))[..., 0]
    assert (holes.sum(axis=(1, 2)) == 9).all()                          # every hole whole, inside the image
    tops, lefts = holes.any(axis=2).argmax(axis=1), holes.any(axis=1).argmax(axis=1)   # the first row and column hit
    counts = numpy.bincount(2 * tops + lefts, minlength=4)
    assert counts.sum() == 8000 and (numpy.abs(counts - 2000) < 200).all(), counts
    numpy.testing.assert_array_equal(holes[:50], random_square_holes(50, 4, 4, 3, numpy.random.default_rng(0))[..., 0])  # seeded


def test_random_holes_are_drawn_on_the_backend_from_its_generator(xp):
    rng = minigan.backend.get_backend().rng(3)
    holes = random_square_holes(5, 28, 28, 14, rng)
    assert minigan.backend.array_module(holes) is xp and holes.shape == (5, 28, 28, 1)
    numpy.testing.assert_array_equal(to_numpy(holes), to_numpy(random_square_holes(5, 28, 28, 14, minigan.backend.get_backend().rng(3))))
    assert (to_numpy(holes).sum(axis=(1, 2, 3)) == 196).all()


@pytest.mark.parametrize("call, message", [
    (lambda: square_holes(numpy.array([0]), numpy.array([0]), 28, 28, 29), "square_holes: hole must be an int in [1, 28] (the image is 28 × 28), got 29"),
    (lambda: square_holes(numpy.array([0, 1]), numpy.array([0]), 28, 28, 3), "expected one left edge per top edge, got 2 tops and 1 lefts"),
    (lambda: random_square_holes(2, 28, 28, 0, numpy.random.default_rng(0)), "random_square_holes: hole must be an int in [1, 28]"),
    (lambda: mask_holes(numpy.zeros((2, 28, 28, 1), numpy.float32), numpy.zeros((2, 28, 28, 2))), "mask_holes: holes must have shape (2, 28, 28, 1)"),
    (lambda: mask_holes(numpy.zeros((1, 28, 28, 1), numpy.float32), numpy.zeros((1, 28, 28, 1)), fill=-1), "mask_holes: fill must be a number in [0, 1]"),
])
def test_mistakes_are_named(call, message):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert message in str(info.value)


# ----- in-painting: x_I = (1 − m) ⊙ x_G + m ⊙ x ---------------------------------------------------------------
class Drawn(Module):
    """A stand-in G whose whole image x_G is a parameter (one per image), whatever it is shown; it records its input."""

    def __init__(self, whole):
        self.whole = Parameter(whole)

    def forward(self, x):
        self.seen = x.data
        return self.whole


def tiny_discriminator(dtype=None):
    return ss.SemiSupervisedDiscriminator(nn.Sequential(nn.Flatten(), nn.Linear(36, 8, dtype=dtype), nn.ReLU()), nn.Linear(8, 3, dtype=dtype))


def tiny_gan(whole, hole=2, low_resolution=0, discriminator=None):
    generator, discriminator = Drawn(whole), discriminator or tiny_discriminator()
    return cc.ContextConditionalGAN(generator, discriminator, optim.Adam(generator.parameters()), optim.Adam(discriminator.parameters()),
                                    hole=hole, image_shape=(6, 6), low_resolution=low_resolution, seed=0)


def test_g_sees_the_context_and_the_hole_and_only_its_hole_is_pasted(xp):
    image = numpy.arange(1, 37, dtype=numpy.float64).reshape(1, 6, 6, 1) / 36
    holes = square_holes(xp.asarray([2]), xp.asarray([1]), 6, 6, 2, dtype=numpy.float64)
    gan = tiny_gan(xp.full((1, 6, 6, 1), 0.5))                          # G draws a flat grey image
    completed = to_numpy(gan.in_paint(xp.asarray(image), holes).data)[0, :, :, 0]
    expected = image[0, :, :, 0].copy()
    expected[2:4, 1:3] = 0.5                                            # x_G in the hole, x everywhere else
    numpy.testing.assert_array_equal(completed, expected)
    seen = to_numpy(gan.generator.seen)
    assert seen.shape == (1, 6, 6, 2)
    numpy.testing.assert_array_equal(seen[0, :, :, 1], to_numpy(holes)[0, :, :, 0])          # the hole M
    context = image[0, :, :, 0].copy()
    context[2:4, 1:3] = 0
    numpy.testing.assert_array_equal(seen[0, :, :, 0], context)                                 # m ⊙ x: the hole erased


def test_the_low_resolution_copy_is_the_whole_image_box_averaged_and_repeated(xp):
    image = numpy.zeros((1, 28, 28, 1))
    image[0, 8:12, 4:8] = 1.0                                           # one 4 × 4 block, all of it inside the hole
    generator, discriminator = Drawn(xp.zeros((1, 28, 28, 1))), tiny_discriminator()
    gan = cc.ContextConditionalGAN(generator, discriminator, optim.Adam(generator.parameters()), optim.Adam(discriminator.parameters()),
                                   hole=14, low_resolution=4)
    holes = square_holes(xp.asarray([0]), xp.asarray([0]), 28, 28, 14, dtype=numpy.float64)
    seen = to_numpy(gan.generator_input(xp.asarray(image), holes))
    assert seen.shape == (1, 28, 28, 3) and seen[..., 0].sum() == 0     # the block is hidden from the context ...
    numpy.testing.assert_array_equal(seen[0, :, :, 2], image[0, :, :, 0])  # ... not from the 7 × 7 copy (block-aligned here)


def test_g_gradient_reaches_x_g_only_through_the_hole_and_is_gradchecked(xp):
    """−mean log D(x_I) through a real (tiny) D in float64: ∂/∂x_G is 0 outside the hole and not 0 inside;
    the composition paste → D → K + 1 trick → softplus is gradchecked in x_G."""
    minigan.seed(1)
    images = random_array(xp, (3, 6, 6, 1), 1) * 0.5 + 0.5
    holes = square_holes(xp.asarray([0, 2, 4]), xp.asarray([1, 0, 4]), 6, 6, 2, dtype=numpy.float64)
    discriminator = tiny_discriminator(numpy.float64)
    gan = tiny_gan(random_array(xp, (3, 6, 6, 1), 2), discriminator=discriminator)
    objective = cc.ContextConditional()

    def loss_of(whole):
        gan.generator.whole = whole
        return objective.generator_loss(gan, gan.in_paint(images, holes), None)[0]

    whole = Tensor(random_array(xp, (3, 6, 6, 1), 3), requires_grad=True)
    loss_of(whole).backward()
    grad, inside = to_numpy(whole.grad), to_numpy(holes) == 1
    assert (grad[~inside] == 0).all() and (grad[inside] != 0).sum() >= 6
    gradcheck(loss_of, [Tensor(random_array(xp, (3, 6, 6, 1), 4), requires_grad=True)], seed=5)


# ----- the objective on hand-computed numbers ---------------------------------------------------------------------
class LogitsOf:
    """A stand-in GAN whose D maps each row (named by its first value) to given class logits."""

    def __init__(self, xp, logits):
        self.xp, self.logits = xp, logits

    def call_discriminator(self, x, condition):
        rows = to_numpy(x.data).reshape(x.shape[0], -1)[:, 0]
        return Tensor(self.xp.asarray(numpy.array([self.logits[int(v)] for v in rows]), dtype=numpy.float64))


LOGITS = {0: [2.0, -1.0, 0.5], 1: [0.1, 0.3, 1.2], 2: [-0.5, 1.5, 0.0], 3: [-2.0, -1.0, -3.0]}


def rows_named(xp, names):
    return Tensor(xp.asarray(numpy.array(names, dtype=numpy.float64).reshape(-1, 1, 1, 1)))


def test_g_loss_is_minus_log_d_of_the_completed_images(xp):
    """−mean log D(x_I), D = Z/(Z + 1), Z = Σₖ exp lₖ: mean log((Z + 1)/Z) over the completed images 1 and 3."""
    loss, stats = cc.ContextConditional().generator_loss(LogitsOf(xp, LOGITS), rows_named(xp, [1, 3]), None)
    z = {k: numpy.exp(v).sum() for k, v in LOGITS.items()}
    assert numpy.isclose(loss.item(), (numpy.log((z[1] + 1) / z[1]) + numpy.log((z[3] + 1) / z[3])) / 2, rtol=1e-12)
    assert numpy.isclose(float(to_numpy(stats["d_fake_after"])), (z[1] / (z[1] + 1) + z[3] / (z[3] + 1)) / 2, rtol=1e-12)


@pytest.mark.parametrize("weight", [0.5, 0.0])
def test_d_loss_is_supervised_plus_weighted_real_against_completed(weight, xp):
    """CE on the labelled (0 with label 0, 1 with label 2) + w·{−mean log D(x) on 2 − mean log(1 − D(x_I)) on 3}."""
    supervision = ss.Supervision(numpy.array([0.0, 1.0]).reshape(2, 1, 1, 1), xp.asarray(numpy.array([0, 2])), None)
    loss, stats = cc.ContextConditional(weight).discriminator_loss(LogitsOf(xp, LOGITS), rows_named(xp, [2]), rows_named(xp, [3]), supervision)
    z = {k: numpy.exp(v).sum() for k, v in LOGITS.items()}
    supervised = (numpy.log(z[0]) - LOGITS[0][0] + numpy.log(z[1]) - LOGITS[1][2]) / 2     # −log softmax(l)_y
    unsupervised = -numpy.log(z[2] / (z[2] + 1)) - numpy.log(1 / (z[3] + 1))
    assert numpy.isclose(loss.item(), supervised + weight * unsupervised, rtol=1e-12)
    assert numpy.isclose(float(to_numpy(stats["d_fake"])), z[3] / (z[3] + 1), rtol=1e-12)


@given(rows=st.integers(1, 4), shift=st.floats(-30, 30), seed=seeds)
def test_d_k_plus_1_probabilities(xp, rows, shift, seed):
    """The K + 1 probabilities (the K classes, and 'completed' with logit 0) sum to 1 with p(completed) = 1 − D;
    shifting every class logit by c multiplies Z by e^c (D moves towards real for c > 0) and leaves the class
    posterior, and so D's digit, unchanged."""
    logits = random_array(xp, (rows, 10), seed) * 3
    def k_plus_1(l):  # noqa: E306
        full = numpy.concatenate([to_numpy(l), numpy.zeros((rows, 1))], axis=1)
        return numpy.exp(full - numpy.logaddexp.reduce(full, axis=1, keepdims=True))
    p = k_plus_1(logits)
    d = 1 / (1 + numpy.exp(-to_numpy(ss.real_logit(Tensor(logits)).data)))
    numpy.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-12)
    numpy.testing.assert_allclose(p[:, 10], 1 - d, rtol=1e-9, atol=1e-15)
    shifted = k_plus_1(logits + shift)
    numpy.testing.assert_allclose(shifted[:, :10] / shifted[:, :10].sum(axis=1, keepdims=True), p[:, :10] / p[:, :10].sum(axis=1, keepdims=True), rtol=1e-9)
    assert ((shifted[:, 10] <= p[:, 10]) if shift >= 0 else (shifted[:, 10] >= p[:, 10])).all()


# ----- the MNIST model and the loop ----------------------------------------------------------------------------------
def mnist_gan(seed=0, weights_seed=None, **kwargs):
    minigan.seed(seed if weights_seed is None else weights_seed)
    init = numpy.random.default_rng(0).uniform(0, 1, (40, 28, 28, 1)).astype(numpy.float32)
    return cc.build_context_conditional_gan(init, seed=seed, **kwargs)


def batches(n=8, m=4):
    images = numpy.random.default_rng(1).uniform(0, 1, (n, 28, 28, 1)).astype(numpy.float32)
    loader = ss.SemiSupervisedLoader(images, images[:4], numpy.array([0, 1, 2, 3]), m, seed=2)
    while True:
        yield from loader


def test_the_mnist_model_is_the_semi_supervised_ones_d_and_a_g_of_the_masked_digit_and_its_hole(xp):
    gan = mnist_gan()
    assert [(m.in_features, m.out_features) for m in gan.discriminator.modules() if isinstance(m, nn.WeightNormLinear)] == [
        (784, 1000), (1000, 500), (500, 250), (250, 250), (250, 250), (250, 10)]
    assert gan.generator[1].in_features == 2 * 784 and mnist_gan(low_resolution=4).generator[1].in_features == 3 * 784
    assert repr(gan.objective) == "ContextConditional(unlabelled_weight=0.5)" and gan.hole == cc.HOLE == 14
    holes = gan.sample_noise(6)
    assert holes.shape == (6, 28, 28, 1) and (to_numpy(holes.data).sum(axis=(1, 2, 3)) == 196).all()
    images = numpy.random.default_rng(0).uniform(0, 1, (6, 28, 28, 1)).astype(numpy.float32)
    completed = gan.complete(images, to_numpy(holes.data))
    outside = to_numpy(holes.data) == 0
    assert completed.shape == (6, 28, 28, 1) and (completed[outside] == images[outside]).all()
    with pytest.raises(TypeError, match="needs the images to in-paint"):
        gan.generate(gan.sample_noise(2))
    with pytest.raises(ValueError, match="hole must be an int in"):
        mnist_gan(hole=30)
    with pytest.raises(ValueError, match="low_resolution must be 0 .none. or a factor that divides the image's 28 × 28, got 5"):
        mnist_gan(low_resolution=5)


def test_the_loop_runs_it_reproducibly_and_resumes_identically():
    def run(gan, data, steps):
        return [{k: float(v) for k, v in gan.train_iteration(data).items()} for _ in range(steps)]

    whole = run(mnist_gan(3), batches(), 4)
    assert whole == run(mnist_gan(3), batches(), 4)
    assert {"d_loss", "g_loss", "d_real", "d_fake", "d_fake_after", "supervised_loss", "train_error"} <= set(whole[0])
    first, data = mnist_gan(3), batches()
    before = run(first, data, 2)
    resumed = mnist_gan(3, weights_seed=99)                             # other initial weights, replaced by the state
    resumed.load_state_dict(first.state_dict())
    assert before + run(resumed, data, 2) == whole


# ----- the example -------------------------------------------------------------------------------------------------
FLAGS = ["--labels", "20", "--batch-size", "20", "--log-every", "5"]


def test_example_quick_run_draws_the_inpainting_and_prints_the_test_error_last(tmp_path, small_mnist, capsys):
    out = tmp_path / "run"
    assert load_example("ccgan").main(["--data", small_mnist, *FLAGS, "--steps", "3", "--out", str(out)]) == 0
    for name in ("inpainting_epoch_001.png", "test_error.png", "training.png"):
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("test error: ") and "of 100) with 20 labels after 1 epochs" in lines[-1]
    assert lines[-3].startswith("the shipped classifier reads ") and "once G has filled it" in lines[-3]
    with numpy.load(out / "history.npz") as history:
        assert len(history["g_loss"]) == 3 and list(history["curve_epochs"]) == [1] and len(history["test_errors"]) == 1


def test_example_resumed_mid_epoch_matches_the_uninterrupted_run_bit_for_bit(tmp_path, small_mnist):
    """20 iterations an epoch (400 images, batch 20): cut at 25, in epoch 2, and resumed to 30."""
    assert_resume_matches_one_run(load_example("ccgan"), ["--data", small_mnist, *FLAGS, "--seed", "1", "--low-resolution", "4"], tmp_path,
                                  steps=30, cut=25)
    with numpy.load(tmp_path / "a" / "history.npz") as a, numpy.load(tmp_path / "b" / "history.npz") as b:
        assert list(b["curve_epochs"]) == [1, 2] and list(a["test_errors"]) == list(b["test_errors"])


@pytest.mark.parametrize("flags, message", [
    (["--hole", "29"], "--hole: expected an int in [1, 28] (the digits are 28 × 28), got 29"),
    (["--hole", "0"], "--hole: expected a positive integer, got 0"),
    (["--labels", "15"], "--labels: expected a multiple of 10"),
    (["--low-resolution", "3"], "--low-resolution: invalid choice: 3"),
])
def test_example_rejects_bad_flags(flags, message, capsys):
    assert_usage_error(load_example("ccgan").parse_args, flags, message, capsys)


def test_example_mistakes_in_files_are_one_line(small_mnist, tmp_path, capsys):
    example = load_example("ccgan")
    assert example.main(["--data", small_mnist, "--labels", "1000", "--out", str(tmp_path / "a")]) == 2
    assert "ccgan.py: error: --labels 1000: choose_labelled: class" in capsys.readouterr().err
    assert load_example("semi_supervised").main(["--data", small_mnist, *FLAGS, "--steps", "1", "--samples", "0",
                                                 "--out", str(tmp_path / "ss")]) == 0
    capsys.readouterr()
    assert example.main(["--resume", str(tmp_path / "ss")]) == 2                 # another script's checkpoint
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ccgan.py: error: --resume: ") and "not one written by ccgan.py" in err[0]
    assert example.main(["--data", small_mnist, *FLAGS, "--steps", "1", "--out", str(tmp_path / "c")]) == 0
    capsys.readouterr()
    assert example.main(["--resume", str(tmp_path / "c"), "--hole", "7", "--steps", "2"]) == 2    # a setting it keeps
    assert "--hole 7 contradicts the checkpoint" in capsys.readouterr().err
