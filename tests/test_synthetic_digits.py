"""The simulator of minigan/tools/data/synthetic_digits.py: font digits in MNIST's frame, jittered as documented.

What is checked: the layout and range of ``load_mnist(scale="sigmoid")``; a seed fixes the images and
labels; the jitter's draws lie in their ranges (det J = s², the shift within ±shift); unjittered, each
glyph sits as MNIST's digits do (centre of mass at the frame's centre, longer side of the box 20 pixels);
and the labels are the digits drawn: the shipped classifier, trained on real digits only, reads most of
the unjittered glyphs as their label (a shuffled label would be read right one time in ten)."""

import numpy
import pytest

from minigan.tools.classifier import accuracy, shipped_classifier
from minigan.tools.data.synthetic_digits import FONTS, NO_JITTER, Jitter, draw_jitter, glyph_digits, synthetic_digits


def test_the_images_have_mnists_layout_and_range_and_a_seed_fixes_them():
    images, labels = synthetic_digits(50, seed=3)
    assert images.shape == (50, 28, 28, 1) and images.dtype == numpy.float32 and labels.dtype == numpy.int64
    assert images.min() >= 0 and images.max() <= 1 and images.max() > 0.9 and set(labels.tolist()) <= set(range(10))
    again, same_labels = synthetic_digits(50, seed=3)
    other, _ = synthetic_digits(50, seed=4)
    assert numpy.array_equal(images, again) and numpy.array_equal(labels, same_labels) and not numpy.array_equal(images, other)
    assert numpy.array_equal(synthetic_digits(50, seed=3, batch=7)[0], images)  # batching changes nothing
    assert synthetic_digits(0)[0].shape == (0, 28, 28, 1)


def test_the_jitter_lies_in_its_documented_ranges():
    jitter = Jitter(rotation=20.0, shear=0.4, scale=0.2, shift=1.5)
    matrices, shifts = draw_jitter(numpy.random.default_rng(0), 2000, jitter)
    determinant = numpy.linalg.det(matrices)                                   # det(s·R·shear) = s²
    assert determinant.min() >= (1 - 0.2) ** 2 - 1e-12 and determinant.max() <= 1 + 1e-12
    assert numpy.abs(shifts).max() <= 1.5 and numpy.abs(shifts).max() > 1.4
    scale = numpy.sqrt(determinant)
    turned_sheared = matrices / scale[:, None, None]                           # R(θ)·[[1, 0], [κ, 1]]: second column (−sin θ, cos θ)
    theta = numpy.arctan2(-turned_sheared[:, 0, 1], turned_sheared[:, 1, 1])
    assert numpy.degrees(numpy.abs(theta)).max() <= 20 + 1e-9
    cos, sin = numpy.cos(theta), numpy.sin(theta)
    unturned = numpy.einsum("nji,njk->nik", numpy.stack([numpy.stack([cos, -sin], -1), numpy.stack([sin, cos], -1)], 1), turned_sheared)
    assert numpy.allclose(unturned[:, [0, 0, 1], [0, 1, 1]], [1, 0, 1]) and numpy.abs(unturned[:, 1, 0]).max() <= 0.4  # κ
    matrices, shifts = draw_jitter(numpy.random.default_rng(0), 5, NO_JITTER)
    assert numpy.allclose(matrices, numpy.eye(2)) and not shifts.any()


def test_unjittered_glyphs_sit_in_mnists_box_at_the_centre_of_mass():
    images, labels = glyph_digits()
    assert images.shape == (10 * len(FONTS), 28, 28, 1) and labels.tolist() == list(range(10)) * len(FONTS)
    grey = images[..., 0].astype(numpy.float64)
    mass = grey.sum(axis=(1, 2))
    centre = numpy.stack([(grey.sum(axis=2) * (numpy.arange(28) + 0.5)).sum(axis=1) / mass,
                          (grey.sum(axis=1) * (numpy.arange(28) + 0.5)).sum(axis=1) / mass], axis=1)
    assert numpy.abs(centre - 14).max() < 0.3
    ink_rows, ink_columns = (grey >= 0.05).any(axis=2), (grey >= 0.05).any(axis=1)
    side = numpy.maximum(ink_rows.sum(axis=1), ink_columns.sum(axis=1))
    assert side.min() >= 19 and side.max() <= 22  # 20 pixels, ± the anti-aliased edge pixels


def test_the_labels_are_the_digits_drawn():
    images, labels = glyph_digits()
    assert accuracy(shipped_classifier(), images, labels) >= 0.8


def test_bad_arguments_are_one_line_errors():
    with pytest.raises(ValueError, match="synthetic_digits: n must be an int ≥ 0, got -1"):
        synthetic_digits(-1)
    with pytest.raises(ValueError, match="synthetic_digits: every jitter range must be ≥ 0"):
        synthetic_digits(3, jitter=Jitter(rotation=-1.0))
    with pytest.raises(ValueError, match="synthetic_digits: jitter.scale must be < 1"):
        synthetic_digits(3, jitter=Jitter(scale=1.0))
