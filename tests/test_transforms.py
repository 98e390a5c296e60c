"""The image-to-image data: morphology, edge maps, resampling and the two datasets, on hand-made images.

Every expected value below is worked out by hand from the definitions in minigan/tools/data/transforms.py
(and minigan/tools/image_metrics.py), not read off the code's output.
"""

import numpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigan.tools.data import (
    CROSS, SQUARE_2, bicubic_matrix, bicubic_upsample, cubic_kernel, dilate, downsample, edge_map, erode, half_box,
    load_mnist, mask_half, mask_hidden, mask_random, negative, paired_edges, random_hidden, thicken, thin, unpaired_thin_thick,
)
from minigan.tools.image_metrics import gradient_energy, mean_absolute_error, pixel_agreement, psnr, stroke_width

from conftest import to_numpy
from strategies import random_array, seeds


def image(xp, rows):
    """A hand-drawn (1, H, W, 1) float64 image from a list of rows."""
    return xp.asarray(numpy.array(rows, dtype=numpy.float64)[None, :, :, None])


def plain(array):
    return to_numpy(array)[0, :, :, 0]


# ----- morphology -----------------------------------------------------------------------------------
def test_cross_dilation_of_a_dot_is_a_plus_and_cross_erosion_of_a_block_is_its_centre(xp):
    dot = numpy.zeros((5, 5))
    dot[2, 2] = 1
    plus = numpy.zeros((5, 5))
    plus[2, 1:4] = plus[1:4, 2] = 1
    assert numpy.array_equal(plain(dilate(image(xp, dot), CROSS)), plus)
    block = numpy.zeros((5, 5))
    block[1:4, 1:4] = 1
    assert numpy.array_equal(plain(erode(image(xp, block), CROSS)), dot)


def test_the_2x2_square_moves_each_stroke_edge_by_one_pixel(xp):
    bar = numpy.zeros((6, 6))
    bar[1:5, 2:4] = 1  # a bar 2 pixels wide, 4 tall
    thinned = numpy.zeros((6, 6))
    thinned[1:4, 2] = 1  # min over (p, p + (0, 1), p + (1, 0), p + (1, 1)): column 3 and row 4 lose a neighbour
    thickened = numpy.zeros((6, 6))
    thickened[1:6, 2:5] = 1  # max over (p, p − (0, 1), p − (1, 0), p − (1, 1)): one column right, one row down
    assert numpy.array_equal(plain(thin(image(xp, bar))), thinned)
    assert numpy.array_equal(plain(thicken(image(xp, bar))), thickened)


def test_grey_morphology_takes_the_min_or_max_of_the_values(xp):
    f = image(xp, [[0.2, 0.9, 0.4],
                   [0.7, 0.5, 0.1],
                   [0.3, 0.8, 0.6]])
    # the centre's cross neighbours are 0.9, 0.7, 0.5, 0.1, 0.8
    assert plain(erode(f, CROSS))[1, 1] == 0.1 and plain(dilate(f, CROSS))[1, 1] == 0.9
    # the corner (0, 0), with the border replicated: neighbours 0.2 (twice, itself and replicated), 0.9, 0.7
    assert plain(erode(f, CROSS))[0, 0] == 0.2 and plain(dilate(f, CROSS))[0, 0] == 0.9


def test_a_constant_image_is_left_alone_because_the_border_is_replicated(xp):
    f = xp.full((2, 5, 4, 1), 0.7)
    for op in (erode, dilate):
        for element in (CROSS, SQUARE_2):
            assert numpy.array_equal(to_numpy(op(f, element)), to_numpy(f))


@given(seed=seeds, element=st.sampled_from([CROSS, SQUARE_2, ((0, 0), (2, -1))]))
def test_dilation_is_the_dual_of_erosion_by_the_reflected_element(xp, seed, element):
    f = random_array(xp, (2, 6, 5, 1), seed, low=0.0, high=1.0)
    reflected = tuple((-dy, -dx) for dy, dx in element)
    numpy.testing.assert_array_equal(to_numpy(dilate(f, element)), to_numpy(1 - erode(1 - f, reflected)))
    # every element here holds the origin, so erosion can only darken and dilation only brighten
    assert (to_numpy(erode(f, element)) <= to_numpy(f)).all() and (to_numpy(f) <= to_numpy(dilate(f, element))).all()


# ----- edge maps ------------------------------------------------------------------------------------
def test_edge_map_is_the_one_pixel_outline_outside_the_stroke(xp):
    stroke = numpy.zeros((8, 8))
    stroke[2:6, 3] = 1  # a vertical stroke, 1 pixel wide
    outline = numpy.zeros((8, 8))
    outline[2:6, 2] = outline[2:6, 4] = 1  # left and right of it
    outline[1, 3] = outline[6, 3] = 1  # above and below its ends
    edges = edge_map(image(xp, stroke))
    assert numpy.array_equal(plain(edges), outline) and edges.dtype == numpy.float64
    faint = image(xp, 0.4 * stroke)  # dilation − f = 0.4 < the threshold 0.5: no edge
    assert not to_numpy(edge_map(faint)).any()


def test_paired_edges_keep_each_digit_with_its_own_edge_map():
    digits, _ = load_mnist(split="test", scale="sigmoid")
    edges, targets = paired_edges(digits[:50])
    assert targets is not None and numpy.array_equal(targets, digits[:50])
    for i in (0, 17, 49):
        assert numpy.array_equal(edges[i : i + 1], edge_map(digits[i : i + 1]))
    assert set(numpy.unique(edges)) <= {0.0, 1.0} and edges.dtype == numpy.float32


# ----- resolution -----------------------------------------------------------------------------------
def test_downsample_averages_each_block(xp):
    f = image(xp, [[1, 2, 3, 4],
                   [5, 6, 7, 8],
                   [0, 0, 1, 1],
                   [0, 4, 1, 1]])
    numpy.testing.assert_array_equal(plain(downsample(f, 2)), [[3.5, 5.5], [1.0, 1.0]])
    assert downsample(xp.zeros((3, 28, 28, 1), dtype=numpy.float32), 4).shape == (3, 7, 7, 1)
    assert downsample(xp.zeros((3, 28, 28, 1), dtype=numpy.float32), 4).dtype == numpy.float32


def test_the_cubic_kernel_has_keys_values():
    # W(0) = 1, W(±1) = W(2) = 0, and the half-pixel weights (−1/16, 9/16, 9/16, −1/16) for a = −0.5
    numpy.testing.assert_allclose(cubic_kernel([0, 1, -1, 2, 2.5]), [1, 0, 0, 0, 0], atol=1e-15)
    numpy.testing.assert_allclose(cubic_kernel([0.5, 1.5, -0.5]), [9 / 16, -1 / 16, 9 / 16], rtol=1e-15)


def test_bicubic_upsampling_of_a_spike_matches_the_hand_computed_weights(xp):
    """Samples [0, 1, 0, 0], factor 2: output i reads the source coordinate s = i/2 − 1/4 (k = ⌊s⌋, t = s − k).

    With a = −0.5: W(1/4) = 111/128, W(3/4) = 29/128, W(5/4) = −9/128, W(7/4) = −3/128. Sample 1 is tap
    (1 − k) of output i; e.g. i = 0 has s = −1/4, k = −1, t = 3/4, and sample 1 is tap k + 2, weight
    W(2 − t) = W(5/4); i = 6 has s = 11/4, k = 2, sample 1 is tap k − 1, weight W(1 + t) = W(7/4).
    """
    expected = numpy.array([-9, 29, 111, 111, 29, -9, -3, 0]) / 128
    row = image(xp, [[0, 1, 0, 0]] * 3)  # constant down the columns, so the vertical pass changes nothing
    up = plain(bicubic_upsample(row, 2, clip=False))
    assert up.shape == (6, 8)
    numpy.testing.assert_allclose(up, numpy.tile(expected, (6, 1)), rtol=0, atol=1e-15)
    numpy.testing.assert_array_equal(plain(bicubic_upsample(row, 2))[0], numpy.clip(expected, 0, 1))


def test_bicubic_reproduces_a_quadratic_away_from_the_border():
    samples = numpy.arange(7.0) ** 2
    matrix = bicubic_matrix(7, 4)
    source = (numpy.arange(28) + 0.5) / 4 - 0.5
    inside = (source >= 1) & (source < 5)  # all four taps k − 1 … k + 2 inside 0 … 6
    numpy.testing.assert_allclose((matrix @ samples)[inside], source[inside] ** 2, rtol=1e-12)
    numpy.testing.assert_allclose(matrix.sum(axis=1), 1, rtol=1e-14)


# ----- the unpaired split ---------------------------------------------------------------------------
def test_the_thin_and_thick_halves_are_disjoint_and_fixed_by_the_seed():
    digits, _ = load_mnist(split="validation", scale="sigmoid")
    digits = digits[:301]
    split = unpaired_thin_thick(digits, seed=5)
    assert len(split.thin_rows) == len(split.thick_rows) == 150
    assert not set(split.thin_rows.tolist()) & set(split.thick_rows.tolist())  # no image in both domains
    assert numpy.array_equal(split.thin, thin(digits[split.thin_rows]))
    assert numpy.array_equal(split.thick, thicken(digits[split.thick_rows]))
    again, other = unpaired_thin_thick(digits, seed=5), unpaired_thin_thick(digits, seed=6)
    assert numpy.array_equal(again.thin_rows, split.thin_rows)
    assert not numpy.array_equal(other.thin_rows, split.thin_rows)


# ----- measurements ---------------------------------------------------------------------------------
def test_stroke_width_of_hand_made_shapes(xp):
    bar = numpy.zeros((24, 10))
    bar[2:22, 4:7] = 1  # 3 wide, 20 tall: A = 60, P = 2·3 + 2·20 = 46
    empty = numpy.zeros((24, 10))
    widths = stroke_width(xp.asarray(numpy.stack([bar, empty])[..., None]))
    assert widths[0] == pytest.approx(2 * 60 / 46, rel=1e-15) and numpy.isnan(widths[1])
    corner = numpy.ones((4, 4))  # the image border counts as background: A = 16, P = 16, width 2
    assert stroke_width(xp.asarray(corner[None, :, :, None]))[0] == 2.0


def test_psnr_mae_and_gradient_energy_by_hand(xp):
    zeros, tenths = xp.zeros((1, 4, 4, 1)), xp.full((1, 4, 4, 1), 0.1)
    assert psnr(zeros, tenths)[0] == pytest.approx(20.0, rel=1e-12)  # MSE 0.01 → 10·log₁₀(100)
    assert psnr(zeros, zeros)[0] == numpy.inf
    assert mean_absolute_error(zeros, tenths)[0] == pytest.approx(0.1, rel=1e-12)
    step = numpy.zeros((6, 8))
    step[:, 4:] = 1  # one unit step per row: energy 6 / 48 = 1/W
    ramp = numpy.zeros((6, 8))
    ramp[:, 4:] = 1
    ramp[:, 3], ramp[:, 4] = 1 / 3, 2 / 3  # the same step spread over 3 pixels: 6·3·(1/3)² / 48
    energy = gradient_energy(xp.asarray(numpy.stack([step, ramp])[..., None]))
    numpy.testing.assert_allclose(energy, [1 / 8, 1 / 24], rtol=1e-12)


@pytest.mark.parametrize("call, message", [
    (lambda: erode(numpy.zeros((5, 5))), "erode: images must have shape (n, H, W, C)"),
    (lambda: dilate(numpy.zeros((1, 5, 5, 1), numpy.uint8)), "dilate: images must be floating point"),
    (lambda: erode(numpy.zeros((1, 5, 5, 1)), element=[(0, 0.5)]), "erode: element must be"),
    (lambda: downsample(numpy.zeros((1, 28, 28, 1)), 3), "downsample: the image size 28×28 is not a multiple of factor 3"),
    (lambda: bicubic_upsample(numpy.zeros((1, 7, 7, 1)), 0), "bicubic_upsample: factor must be a positive int"),
    (lambda: edge_map(numpy.zeros((1, 5, 5, 1)), threshold=0), "edge_map: threshold must be in (0, 1]"),
    (lambda: psnr(numpy.zeros((1, 4, 4, 1)), numpy.zeros((1, 4, 5, 1))), "psnr: x has shape (1, 4, 4, 1) but y has shape"),
    (lambda: unpaired_thin_thick(numpy.zeros((1, 5, 5, 1)), 0), "unpaired_thin_thick: need at least 2 images"),
    (lambda: half_box(4, 4, "top"), "half_box: side must be one of ('left', 'right'), got 'top'"),
    (lambda: mask_half(numpy.zeros((1, 4, 4, 1)), fill=-1), "mask_half: fill must be a number in [0, 1], got -1"),
    (lambda: random_hidden(2, 4, 4, fraction=1.5), "random_hidden: fraction must be a number in [0, 1], got 1.5"),
    (lambda: mask_hidden(numpy.zeros((1, 4, 4, 1)), numpy.zeros((1, 4, 4, 1))), "mask_hidden: hidden must be a boolean array"),
    (lambda: mask_hidden(numpy.zeros((1, 4, 4, 1)), numpy.zeros((1, 4, 5, 1), bool)), "broadcasts to the images' shape (1, 4, 4, 1)"),
])
def test_mistakes_are_named_at_the_boundary(call, message):
    with pytest.raises((ValueError, TypeError)) as error:
        call()
    assert message in str(error.value)


def test_the_negative_swaps_ink_and_background(xp):
    f = image(xp, [[0.0, 1.0, 0.25],
                   [0.5, 0.75, 0.0]])
    assert numpy.array_equal(plain(negative(f)), [[1.0, 0.0, 0.75],
                                                  [0.5, 0.25, 1.0]])
    assert negative(f).dtype == f.dtype
    with pytest.raises(TypeError, match="negative: images must be floating point"):
        negative(xp.zeros((1, 2, 2, 1), dtype=numpy.uint8))


def test_pixel_agreement_counts_the_pixels_on_the_same_side_of_the_threshold(xp):
    x = xp.concatenate([image(xp, [[0.9, 0.1], [0.6, 0.2]]), image(xp, [[1.0, 1.0], [1.0, 1.0]])])
    y = xp.concatenate([image(xp, [[0.5, 0.4], [0.1, 0.8]]), image(xp, [[0.0, 0.49], [0.5, 1.0]])])
    # first pair: ink/ink, bg/bg, ink/bg, bg/ink -> 2 of 4; second: the two pixels ≥ 0.5 of y agree -> 2 of 4
    numpy.testing.assert_array_equal(pixel_agreement(x, y), [0.5, 0.5])
    numpy.testing.assert_array_equal(pixel_agreement(x, x), [1.0, 1.0])
    numpy.testing.assert_array_equal(pixel_agreement(x, negative(x)), [0.0, 0.0])  # no value is exactly 0.5 in x
    with pytest.raises(ValueError, match="pixel_agreement: x has shape"):
        pixel_agreement(x, y[:1])


# ----- the holes of image completion ----------------------------------------------------------------
def test_the_left_and_right_halves_of_a_hand_made_image_are_hidden(xp):
    f = image(xp, [[0.1, 0.2, 0.3, 0.4, 0.5],
                   [0.6, 0.7, 0.8, 0.9, 1.0]])
    numpy.testing.assert_array_equal(plain(mask_half(f, "left")), [[0, 0, 0.3, 0.4, 0.5], [0, 0, 0.8, 0.9, 1.0]])
    numpy.testing.assert_array_equal(plain(mask_half(f, "right", fill=1.0)), [[0.1, 0.2, 1, 1, 1], [0.6, 0.7, 1, 1, 1]])  # odd width: the middle column goes right
    assert half_box(2, 5, "left") == (slice(0, 2), slice(0, 2)) and half_box(28, 28, "right") == (slice(0, 28), slice(14, 28))
    numpy.testing.assert_array_equal(plain(f), [[0.1, 0.2, 0.3, 0.4, 0.5], [0.6, 0.7, 0.8, 0.9, 1.0]])   # the input is left alone


def test_random_holes_hide_the_fraction_of_each_image_each_its_own_and_fixed_by_the_seed():
    hidden = random_hidden(50, 28, 28, 0.8, seed=3)
    assert hidden.shape == (50, 28, 28, 1) and hidden.dtype == bool
    assert (hidden.reshape(50, -1).sum(axis=1) == round(0.8 * 784)).all()            # exactly 627 of 784 in every image
    assert len({image.tobytes() for image in hidden}) == 50                          # no two images share a pattern
    numpy.testing.assert_array_equal(hidden, random_hidden(50, 28, 28, 0.8, seed=3))
    assert not (hidden == random_hidden(50, 28, 28, 0.8, seed=4)).all()
    share = random_hidden(2000, 28, 28, 0.8, seed=5).mean(axis=0)                     # each pixel's share of 2,000 images: 0.8 ± 0.009
    assert 0.75 < share.min() and share.max() < 0.85                                  # every pixel equally likely to go (±5.5 sd)
    assert not random_hidden(2, 3, 3, 0.0).any() and random_hidden(2, 3, 3, 1.0).all()


def test_mask_random_sets_the_hidden_pixels_of_a_hand_made_image_to_fill(xp):
    f = image(xp, [[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]])
    hidden = random_hidden(1, 2, 3, 0.5, seed=1)
    expected = numpy.where(hidden[0, :, :, 0], 1.0, 0.5)
    numpy.testing.assert_array_equal(plain(mask_random(f, 0.5, seed=1, fill=1.0)), expected)
    assert int(hidden.sum()) == 3
    numpy.testing.assert_array_equal(plain(mask_hidden(f, xp.asarray(hidden), fill=1.0)), expected)
