"""The ring of 8 Gaussians (minigan/tools/data/ring.py) and examples/mode_collapse.py.

The sampler: shapes, dtype, seeding, every point near a centre, every mode drawn. The diagnostic: 8
modes for the true distribution, 1 for points at one centre, 0 high-quality for far points, the 3-std
boundary and the min_fraction / min_count rules, errors at the boundary. The example: a tiny run into
tmp_path writes its figure, prints its table and is reproducible.
"""

import math
import os

import numpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigan import Tensor
from minigan.tools.data.ring import (
    MIN_COUNT, STD, ModeCoverage, mode_coverage, ring_batches, ring_centres, sample_ring,
)
from minigan.tools.runs.folders import LOCK, MANIFEST
from conftest import PNG_SIGNATURE, load_example
from strategies import seeds

mode_collapse = load_example("mode_collapse")


# ----- the distribution -------------------------------------------------------------------------
def test_centres_are_evenly_spaced_on_the_circle():
    centres = ring_centres()
    assert centres.shape == (8, 2) and centres.dtype == numpy.float32
    numpy.testing.assert_allclose(numpy.hypot(centres[:, 0], centres[:, 1]), 2.0, rtol=1e-6)
    numpy.testing.assert_allclose(centres[0], [2.0, 0.0], atol=1e-6)
    numpy.testing.assert_allclose(centres[2], [0.0, 2.0], atol=1e-6)  # a quarter turn later
    gaps = numpy.linalg.norm(centres - numpy.roll(centres, 1, axis=0), axis=1)
    numpy.testing.assert_allclose(gaps, 2 * 2.0 * math.sin(math.pi / 8), rtol=1e-5)  # neighbours 1.53 apart


@given(m=st.integers(1, 300), seed=seeds, modes=st.integers(1, 12), radius=st.floats(0.5, 5.0))
def test_sampler_shape_dtype_and_every_point_near_a_centre(m, seed, modes, radius):
    points = sample_ring(m, seed, modes=modes, radius=radius)
    assert points.shape == (m, 2) and points.dtype == numpy.float32
    distance = numpy.linalg.norm(points[:, None, :] - ring_centres(modes, radius)[None], axis=2).min(axis=1)
    assert distance.max() < 8 * STD  # P(‖ε‖ > 8) = e^(-32) per point: never in practice


@given(seed=seeds)
def test_same_seed_same_points_and_another_seed_other_points(seed):
    numpy.testing.assert_array_equal(sample_ring(50, seed), sample_ring(50, seed))
    assert not numpy.array_equal(sample_ring(50, seed), sample_ring(50, seed + 1))


def test_sampler_draws_every_mode_about_equally_with_the_documented_spread():
    points = sample_ring(16000, 0).astype(numpy.float64)
    nearest = numpy.linalg.norm(points[:, None, :] - ring_centres()[None], axis=2).argmin(axis=1)
    counts = numpy.bincount(nearest, minlength=8)
    assert counts.min() > 1800 and counts.max() < 2200  # 2000 each, binomial std ≈ 42
    offsets = points - ring_centres()[nearest]
    assert offsets.std() == pytest.approx(STD, rel=0.03)
    assert numpy.abs(offsets.mean(axis=0)).max() < 0.001


def test_batches_are_fresh_float32_and_seeded():
    batches = ring_batches(32, seed=7)
    first, second = next(batches), next(batches)
    assert first.shape == (32, 2) and first.dtype == numpy.float32
    assert not numpy.array_equal(first, second)
    again = ring_batches(32, seed=7)
    numpy.testing.assert_array_equal(next(again), first)
    numpy.testing.assert_array_equal(next(again), second)


# ----- the diagnostic ---------------------------------------------------------------------------
def test_samples_of_the_true_distribution_cover_all_8_modes():
    result = mode_coverage(sample_ring(5000, 1))
    assert isinstance(result, ModeCoverage)
    assert result.modes_covered == 8
    assert result.high_quality_fraction == pytest.approx(1 - math.exp(-4.5), abs=0.006)  # 98.9% within 3 std
    assert result.counts.sum() == round(result.high_quality_fraction * 5000) and result.counts.min() > 500


@given(mode=st.integers(0, 7), seed=seeds)
def test_samples_at_one_centre_cover_exactly_that_mode(mode, seed):
    rng = numpy.random.default_rng(seed)
    points = ring_centres()[mode] + rng.normal(0, STD, size=(400, 2)).clip(-2 * STD, 2 * STD)  # all within 3 std
    result = mode_coverage(points)
    assert result.modes_covered == 1 and result.high_quality_fraction == 1.0
    assert result.counts[mode] == 400 and result.counts.sum() == 400


def test_far_away_points_are_never_high_quality():
    for points in (numpy.zeros((100, 2)), numpy.full((100, 2), 10.0), 1.1 * ring_centres()):
        result = mode_coverage(points)
        assert result.modes_covered == 0 and result.high_quality_fraction == 0.0 and result.counts.sum() == 0


def test_high_quality_means_within_3_std_of_the_nearest_centre():
    centre = ring_centres()[0].astype(numpy.float64)  # (2, 0)
    inside = centre + [0.0, 0.99 * 3 * STD]
    outside = centre + [0.0, 1.01 * 3 * STD]
    assert mode_coverage(inside[None]).high_quality_fraction == 1.0
    assert mode_coverage(outside[None]).high_quality_fraction == 0.0
    assert mode_coverage(numpy.stack([inside, outside]), std=0.1).high_quality_fraction == 1.0  # std is honoured


def test_a_mode_needs_its_share_and_at_least_min_count_samples():
    centres = ring_centres().astype(numpy.float64)
    # 1000 samples at mode 0, 11 at mode 1 (1.07% of 1031 < 1.25%), 20 at mode 2 (1.9%)
    points = numpy.concatenate([numpy.repeat(centres[[0]], 1000, 0), numpy.repeat(centres[[1]], 11, 0),
                                numpy.repeat(centres[[2]], 20, 0)])
    assert mode_coverage(points).modes_covered == 2
    assert mode_coverage(points, min_fraction=0.01).modes_covered == 3
    few = numpy.repeat(centres[[3]], MIN_COUNT - 1, 0)
    assert mode_coverage(few).modes_covered == 0  # 9 stray points do not make a mode ...
    assert mode_coverage(few, min_count=1).modes_covered == 1  # ... unless asked to
    assert mode_coverage(numpy.repeat(centres, MIN_COUNT, 0)).modes_covered == 8


def test_non_finite_points_are_counted_but_never_high_quality():
    points = numpy.concatenate([numpy.repeat(ring_centres()[[5]], 30, 0), numpy.full((10, 2), numpy.nan),
                                numpy.full((10, 2), numpy.inf)])
    result = mode_coverage(points)
    assert result.modes_covered == 1 and result.high_quality_fraction == pytest.approx(30 / 50)


def test_accepts_tensors_device_arrays_and_integer_arrays(xp):
    points = numpy.repeat(ring_centres()[[0]], 20, 0)
    assert mode_coverage(Tensor(xp.asarray(points))).modes_covered == 1
    assert mode_coverage(xp.asarray(points)).modes_covered == 1
    assert mode_coverage(numpy.repeat([[2, 0]], 20, 0)).modes_covered == 1


@pytest.mark.parametrize("call, error, message", [
    (lambda: mode_coverage(numpy.zeros((5, 3))), ValueError, "samples must have shape (n, 2), got shape (5, 3)"),
    (lambda: mode_coverage(numpy.zeros(4)), ValueError, "samples must have shape (n, 2)"),
    (lambda: mode_coverage(numpy.zeros((0, 2))), ValueError, "got no samples"),
    (lambda: mode_coverage(numpy.array([["a", "b"]])), TypeError, "samples must be numeric"),
    (lambda: mode_coverage(numpy.zeros((5, 2)), std=0), ValueError, "std must be a positive finite number, got 0"),
    (lambda: mode_coverage(numpy.zeros((5, 2)), radius=-1.0), ValueError, "radius must be a positive finite number"),
    (lambda: mode_coverage(numpy.zeros((5, 2)), radius=float("nan")), ValueError, "radius must be a positive finite number"),
    (lambda: mode_coverage(numpy.zeros((5, 2)), modes=0), ValueError, "modes must be a positive int, got 0"),
    (lambda: mode_coverage(numpy.zeros((5, 2)), min_fraction=1.5), ValueError, "min_fraction must be in (0, 1]"),
    (lambda: mode_coverage(numpy.zeros((5, 2)), min_count=0), ValueError, "min_count must be a positive int"),
    (lambda: sample_ring(0), ValueError, "sample_ring: m must be a positive int, got 0"),
    (lambda: sample_ring(10, std=-0.1), ValueError, "sample_ring: std must be a positive finite number"),
    (lambda: sample_ring(10, radius="big"), TypeError, "sample_ring: radius must be a positive number, got 'big'"),
    (lambda: sample_ring(10, modes=2.5), ValueError, "sample_ring: modes must be a positive int"),
    (lambda: sample_ring(10, seed=-1), ValueError, "sample_ring: seed must be a non-negative int"),
    (lambda: sample_ring(10, seed=2**64), ValueError, "sample_ring: seed must be a non-negative int below 2**64"),
    (lambda: ring_batches(0), ValueError, "ring_batches: batch_size must be a positive int, got 0"),
    (lambda: ring_centres(radius=0), ValueError, "ring_centres: radius must be a positive finite number, got 0"),
])
def test_bad_arguments_get_a_clear_error(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


# ----- the example ------------------------------------------------------------------------------
def test_tiny_run_writes_the_figure_and_prints_the_table(tmp_path, capsys):
    out = tmp_path / "run"
    assert mode_collapse.main(["--iterations", "8", "--batch-size", "16", "--seed", "3", "--out", str(out)]) == 0
    assert (out / "mode_collapse.png").read_bytes()[:8] == PNG_SIGNATURE
    assert sorted(set(os.listdir(out)) - {LOCK, MANIFEST}) == ["mode_collapse.png"]  # no temporary file left behind
    report = capsys.readouterr().out
    for name, _, _ in mode_collapse.SETUPS:
        assert name in report
    assert "modes" in report and "HQ" in report


def test_same_seed_same_table_and_the_setups_share_their_generator(tmp_path, capsys):
    flags = ["--iterations", "3", "--batch-size", "8", "--seed", "5"]
    tables = []
    for run in ("a", "b"):
        mode_collapse.main([*flags, "--out", str(tmp_path / run)])
        tables.append(capsys.readouterr().out.split("high-quality share")[1].split("wrote")[0])
    assert tables[0] == tables[1]
    weights = [mode_collapse.build_setup(loss, hidden, seed=5).generator.state_dict() for _, loss, hidden in mode_collapse.SETUPS]
    for other in weights[1:]:
        for name, value in weights[0].items():
            numpy.testing.assert_array_equal(other[name], value)


def test_snapshots_and_bad_flags():
    assert mode_collapse.snapshot_iterations(2000) == [0, 250, 500, 1000, 2000]
    assert mode_collapse.snapshot_iterations(2) == [0, 1, 2]
    assert mode_collapse.table_iterations(10) == list(range(11))
    with pytest.raises(SystemExit) as info:
        mode_collapse.parse_args(["--iterations", "0"])
    assert info.value.code == 2
    with pytest.raises(SystemExit):
        mode_collapse.parse_args(["--batch-size", "many"])
