"""The context encoder (Pathak et al. 2016): the centre mask on hand-made images; F's loss is eq. 3 on
hand-computed numbers (0.999 · masked L2 + 0.001 · the adversarial term), with the gradient of eq. 1; F
maps a masked digit to its centre and every context pixel reaches every fill pixel; the loop runs it
reproducibly and learns a fill; bad weights are refused with their name."""

import numpy
import pytest

import minigan
from minigan import Tensor
from minigan.gans.context_encoder import (ADVERSARIAL_WEIGHT, RECONSTRUCTION_WEIGHT, ContextEncoder, build_context_encoder,
                                          centre_discriminator, context_encoder)
from minigan.gans.image_to_image import Pair
from minigan.tools.data import CENTRE_HOLE, centre_box, centre_of, mask_centre, paste_centre

from conftest import to_numpy
from test_image_to_image import batches


# ----- the mask, on hand-made images --------------------------------------------------------------------
def test_the_centre_of_a_hand_made_image_is_masked_cut_out_and_pasted_back(xp):
    pixels = numpy.arange(36, dtype=numpy.float32).reshape(6, 6) / numpy.float32(36)   # pixel (i, j) = (6i + j)/36
    image = xp.asarray(pixels.reshape(1, 6, 6, 1))
    expected = pixels.copy()
    expected[2:4, 2:4] = 0.5                                            # rows 2, 3 and columns 2, 3 of 0 … 5
    numpy.testing.assert_array_equal(to_numpy(mask_centre(image, hole=2, fill=0.5))[0, :, :, 0], expected)
    centre = centre_of(image, hole=2)
    numpy.testing.assert_array_equal(to_numpy(centre)[0, :, :, 0], [[pixels[2, 2], pixels[2, 3]], [pixels[3, 2], pixels[3, 3]]])
    assert to_numpy(centre)[0, 0, 0, 0] == numpy.float32(14) / numpy.float32(36)
    numpy.testing.assert_array_equal(to_numpy(paste_centre(mask_centre(image, hole=2), centre)), to_numpy(image))
    assert to_numpy(image)[0, 2, 2, 0] == pixels[2, 2]                  # the input is left as it was


def test_an_odd_margin_puts_the_extra_pixel_below_and_right_and_mnist_hides_a_quarter():
    assert centre_box(5, 6, 2) == (slice(1, 3), slice(2, 4))
    assert centre_box(28, 28) == (slice(7, 21), slice(7, 21)) and CENTRE_HOLE ** 2 == 28 * 28 // 4
    ones = numpy.ones((2, 28, 28, 1), numpy.float32)
    assert mask_centre(ones).sum() == 2 * (28 * 28 - 14 * 14)           # default fill 0: erased ink


@pytest.mark.parametrize("call, message", [
    (lambda: centre_box(28, 28, 29), "centre_box: hole must be an int in [1, 28] (the image is 28 × 28), got 29"),
    (lambda: mask_centre(numpy.zeros((1, 28, 28, 1), numpy.float32), hole=True), "hole must be an int in [1, 28]"),
    (lambda: mask_centre(numpy.zeros((1, 28, 28, 1), numpy.float32), fill=2.0), "mask_centre: fill must be a number in [0, 1], got 2.0"),
    (lambda: mask_centre(numpy.zeros((28, 28), numpy.float32)), "mask_centre: images must have shape (n, H, W, C)"),
    (lambda: paste_centre(numpy.zeros((2, 28, 28, 1), numpy.float32), numpy.zeros((2, 14, 13, 1), numpy.float32)),
     "paste_centre: centres must have shape (2, hole, hole, 1), got shape (2, 14, 13, 1)"),
])
def test_mistakes_are_named(call, message):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert message in str(info.value)


# ----- the objective --------------------------------------------------------------------------------------
class LogitsAre:
    """A stand-in GAN whose D returns given logits, whatever it is shown."""

    def __init__(self, xp, logits):
        self.logits = Tensor(xp.asarray(logits, dtype=numpy.float64).reshape(-1, 1))

    def call_discriminator(self, x, condition):
        return self.logits


FILL, TRUTH, LOGITS = [[0.5, -0.2], [0.9, 0.0]], [[1.0, -1.0], [0.1, 0.0]], [0.3, -1.2]


@pytest.mark.parametrize("adversarial", [True, False])
def test_the_loss_is_equation_3_and_its_reconstruction_gradient_is_equation_1s(xp, adversarial):
    fill = Tensor(xp.asarray(FILL, dtype=numpy.float64).reshape(2, 2, 1, 1), requires_grad=True)
    truth = numpy.array(TRUTH).reshape(2, 2, 1, 1)
    pair = Pair(Tensor(xp.zeros((2, 4, 4, 1))), Tensor(xp.asarray(truth)))
    loss, stats = ContextEncoder(adversarial=adversarial).generator_loss(LogitsAre(xp, LOGITS), fill, pair)
    squared = numpy.mean((numpy.array(FILL).reshape(2, 2, 1, 1) - truth) ** 2)                  # eq. 1, normalised
    adversarial_term = -numpy.mean(numpy.log(1 / (1 + numpy.exp(-numpy.array(LOGITS)))))      # −log D(F(s))
    expected = 0.999 * squared + (0.001 * adversarial_term if adversarial else 0.0)
    assert numpy.isclose(loss.item(), expected, rtol=1e-12)
    assert numpy.isclose(float(to_numpy(stats["reconstruction"])), squared, rtol=1e-12)
    loss.backward()  # D's logits are constants here: the fill's gradient is eq. 1's alone, 0.999 · 2 (F − y) / n
    numpy.testing.assert_allclose(to_numpy(fill.grad), 0.999 * 2 * (numpy.array(FILL).reshape(2, 2, 1, 1) - truth) / 4, rtol=1e-12)


def test_the_weights_are_the_papers_and_bad_ones_are_refused_with_their_name():
    assert (RECONSTRUCTION_WEIGHT, ADVERSARIAL_WEIGHT) == (0.999, 0.001)  # §3.2
    assert repr(ContextEncoder()) == "ContextEncoder(reconstruction_weight=0.999, adversarial_weight=0.001, adversarial=True)"
    with pytest.raises(ValueError, match=r"adversarial_weight \(λ_adv\) must be a positive finite number, got 0"):
        ContextEncoder(adversarial_weight=0)
    with pytest.raises(ValueError, match=r"reconstruction_weight \(λ_rec\) must be a positive finite number, got inf"):
        ContextEncoder(reconstruction_weight=float("inf"))


# ----- the networks and the loop ---------------------------------------------------------------------------
def test_f_maps_a_masked_digit_to_its_centre_and_every_context_pixel_reaches_every_fill_pixel(xp):
    """The dense code in F's middle (the paper's channel-wise fully-connected layer): a change in one corner
    pixel of the context changes the middle of the fill, which no stack of two 4×4 convolutions could do."""
    minigan.seed(0)
    f, d = context_encoder(width=4).eval(), centre_discriminator(width=4).eval()
    images = numpy.random.default_rng(0).uniform(-1, 1, (2, 28, 28, 1)).astype(numpy.float32)
    fill = f(Tensor(xp.asarray(images))).numpy()
    assert fill.shape == (2, 14, 14, 1) and numpy.all(numpy.abs(fill) <= 1)
    assert d(Tensor(xp.asarray(fill))).shape == (2, 1)
    nudged = images.copy()
    nudged[:, 0, 0, 0] += 1.0
    changed = numpy.abs(f(Tensor(xp.asarray(nudged))).numpy() - fill)[:, 7, 7, 0]
    assert numpy.all(changed > 0)


def digits_and_centres(n=64):
    from minigan.tools.data import load_mnist

    digits = load_mnist(split="train", scale="sigmoid")[0][:n]
    return mask_centre(digits) * 2 - 1, centre_of(digits) * 2 - 1


def test_the_loop_runs_it_reproducibly_and_resumes_identically():
    sources, targets = digits_and_centres(32)

    def fresh(seed=3):
        minigan.seed(seed)
        return build_context_encoder(width=4, seed=3), batches(sources, targets, m=8, seed=1)

    runs = []
    for _ in range(2):
        gan, data = fresh()
        runs.append([gan.train_iteration(data) for _ in range(4)])
    assert [{k: float(v) for k, v in s.items()} for s in runs[0]] == [{k: float(v) for k, v in s.items()} for s in runs[1]]
    assert set(runs[0][0]) == {"d_loss", "g_loss", "d_real", "d_fake", "d_fake_after", "reconstruction"}
    first, data = fresh()
    before = [first.train_iteration(data) for _ in range(2)]
    resumed, _ = fresh(seed=99)
    resumed.load_state_dict(first.state_dict())
    after = before + [resumed.train_iteration(data) for _ in range(2)]
    assert [{k: float(v) for k, v in s.items()} for s in after] == [{k: float(v) for k, v in s.items()} for s in runs[0]]


def test_reconstruction_alone_learns_to_fill_the_centre_of_64_digits():
    """After 150 iterations F's fills of its 64 training digits are closer to the truth (mean squared error)
    than at the start by more than half. A sign error in eq. 1, or an F step that does not update F, fails."""
    sources, targets = digits_and_centres(64)
    minigan.seed(0)
    gan = build_context_encoder(width=4, adversarial=False, lr=2e-3, seed=0)
    start = numpy.mean((gan.translate(sources) - targets) ** 2)
    data = batches(sources, targets, m=16, seed=0)
    for _ in range(150):
        gan.train_iteration(data)
    assert numpy.mean((gan.translate(sources) - targets) ** 2) < 0.5 * start
