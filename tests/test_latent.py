"""minigan.tools.latent (lerp, slerp, vector arithmetic) and examples/latent_space.py on a tiny checkpoint."""

import os

import numpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigan.tools import latent
from minigan.gans import models
from minigan.tools.io import save_checkpoint
from conftest import PNG_SIGNATURE, assert_usage_error, load_example
from strategies import seeds

OUTPUTS = ("interpolation_slerp.png", "interpolation_lerp.png", "arithmetic.png")

latent_space = load_example("latent_space")


def gaussian_pair(seed, dim, scale1=1.0):
    rng = numpy.random.default_rng(seed)
    return rng.standard_normal(dim), scale1 * rng.standard_normal(dim)


def angle(u, v):
    return numpy.arccos(numpy.clip(u @ v / (numpy.linalg.norm(u) * numpy.linalg.norm(v)), -1, 1))


# ----- interpolation ----------------------------------------------------------------------------------
@given(seed=seeds, dim=st.integers(2, 50), steps=st.integers(2, 12), method=st.sampled_from(["lerp", "slerp"]))
def test_both_interpolations_start_at_z0_and_end_at_z1(seed, dim, steps, method):
    z0, z1 = gaussian_pair(seed, dim, scale1=3.0)
    path = latent.INTERPOLATIONS[method](z0, z1, steps)
    assert path.shape == (steps, dim)
    numpy.testing.assert_allclose(path[0], z0, atol=1e-12)
    numpy.testing.assert_allclose(path[-1], z1, atol=1e-12)


@given(seed=seeds, dim=st.integers(1, 50), steps=st.integers(2, 12))
def test_lerp_takes_equal_steps_along_the_straight_line(seed, dim, steps):
    z0, z1 = gaussian_pair(seed, dim)
    path = latent.lerp(z0, z1, steps)
    numpy.testing.assert_allclose(numpy.diff(path, axis=0), numpy.broadcast_to((z1 - z0) / (steps - 1), (steps - 1, dim)), atol=1e-12)


@given(seed=seeds, dim=st.integers(2, 50), steps=st.integers(2, 12), radius=st.floats(0.1, 20))
def test_slerp_keeps_the_norm_of_equal_norm_endpoints_and_takes_equal_angles(seed, dim, steps, radius):
    z0, z1 = gaussian_pair(seed, dim)
    z0, z1 = radius * z0 / numpy.linalg.norm(z0), radius * z1 / numpy.linalg.norm(z1)
    path = latent.slerp(z0, z1, steps)
    numpy.testing.assert_allclose(numpy.linalg.norm(path, axis=1), radius, rtol=1e-9)
    # on the great circle: every step turns by the same angle Ω / (steps − 1)
    turns = [angle(path[i], path[i + 1]) for i in range(steps - 1)]
    numpy.testing.assert_allclose(turns, angle(z0, z1) / (steps - 1), atol=1e-6)


def test_slerp_of_orthogonal_unit_vectors_is_cos_and_sin():
    e0, e1 = numpy.eye(3)[0], numpy.eye(3)[1]
    t = numpy.linspace(0, 1, 7)[:, None]
    expected = numpy.cos(t * numpy.pi / 2) * e0 + numpy.sin(t * numpy.pi / 2) * e1
    numpy.testing.assert_allclose(latent.slerp(e0, e1, 7), expected, atol=1e-12)


def test_lerp_midpoint_of_orthogonal_equal_norm_vectors_is_shorter_by_cos_half_the_angle():
    """White 2016's point: for Ω = 90°, the straight line's midpoint has norm r·cos 45° ≈ 0.707 r."""
    z0, z1 = numpy.array([2.0, 0.0]), numpy.array([0.0, 2.0])
    assert numpy.linalg.norm(latent.lerp(z0, z1, 3)[1]) == pytest.approx(2 * numpy.cos(numpy.pi / 4))
    assert numpy.linalg.norm(latent.slerp(z0, z1, 3)[1]) == pytest.approx(2.0)
    # and in 100 dimensions, two Gaussian samples are nearly orthogonal, so the same holds roughly
    z0, z1 = gaussian_pair(0, 100)
    z1 *= numpy.linalg.norm(z0) / numpy.linalg.norm(z1)
    ratio = numpy.linalg.norm(latent.lerp(z0, z1, 3)[1]) / numpy.linalg.norm(z0)
    assert 0.6 < ratio < 0.8


def test_slerp_of_parallel_vectors_is_lerp():
    z0 = numpy.array([1.0, 2.0, 3.0])
    numpy.testing.assert_allclose(latent.slerp(z0, 2 * z0, 5), latent.lerp(z0, 2 * z0, 5))


@pytest.mark.parametrize("method", ["lerp", "slerp"])
def test_float32_noise_stays_float32(method):
    z0, z1 = (v.astype(numpy.float32) for v in gaussian_pair(1, 100))
    assert latent.INTERPOLATIONS[method](z0, z1, 4).dtype == numpy.float32
    assert latent.interpolate_pairs(numpy.stack([z0, z1]), numpy.stack([z1, z0]), 4, method).dtype == numpy.float32


def test_interpolate_pairs_lays_the_paths_out_row_by_row():
    starts, ends = numpy.eye(4)[:2], numpy.eye(4)[2:]
    grid = latent.interpolate_pairs(starts, ends, 5, "slerp")
    assert grid.shape == (2 * 5, 4)
    numpy.testing.assert_allclose(grid[5:], latent.slerp(starts[1], ends[1], 5))


@pytest.mark.parametrize("call, error, message", [
    (lambda: latent.lerp(numpy.zeros(3), numpy.zeros(4), 5), ValueError, "same shape"),
    (lambda: latent.slerp(numpy.ones(3), numpy.ones(3), 1), ValueError, "steps must be an int >= 2"),
    (lambda: latent.lerp(numpy.ones(3), numpy.ones(3), 2.5), ValueError, "steps must be an int >= 2"),
    (lambda: latent.lerp(numpy.ones(3), numpy.ones(3), True), ValueError, "steps must be an int >= 2"),
    (lambda: latent.slerp(numpy.ones((2, 3)), numpy.ones((2, 3)), 4), ValueError, "z0: expected a non-empty vector of shape (noise_dim,)"),
    (lambda: latent.slerp(numpy.zeros(3), numpy.ones(3), 4), ValueError, "non-zero"),
    (lambda: latent.slerp(numpy.ones(3), -numpy.ones(3), 4), ValueError, "opposite directions"),
    (lambda: latent.lerp(numpy.ones(3), numpy.array([1.0, numpy.nan, 0.0]), 4), ValueError, "z1: expected finite values"),
    (lambda: latent.lerp(numpy.array(["a", "b"]), numpy.ones(2), 4), TypeError, "z0: expected a vector of real numbers"),
    (lambda: latent.interpolate_pairs(numpy.ones((2, 3)), numpy.ones((3, 3)), 4), ValueError, "(pairs, noise_dim)"),
    (lambda: latent.interpolate_pairs(numpy.ones((2, 3)), numpy.ones((2, 3)), 4, "cubic"), ValueError, "method must be one of"),
])
def test_bad_input_gets_an_error_that_names_it(call, error, message):
    with pytest.raises(error, match=None) as info:
        call()
    assert message in str(info.value)


# ----- vector arithmetic ------------------------------------------------------------------------------
def test_vector_arithmetic_on_hand_made_vectors():
    thick_7 = numpy.array([[1.0, 1.0, 5.0], [1.0, 1.0, 7.0]])          # "7" in axis 0, thickness in axis 2
    thin_7 = numpy.array([[1.0, 1.0, 0.0], [1.0, 1.0, 2.0], [1.0, 1.0, 1.0]])
    thin_1 = numpy.array([[0.0, 3.0, 1.0]])                             # a single exemplar is allowed
    # (1, 1, 6) − (1, 1, 1) + (0, 3, 1): the "7" cancels, the thickness 5 is added to the 1
    numpy.testing.assert_allclose(latent.vector_arithmetic(thick_7, thin_7, thin_1), [0.0, 3.0, 6.0])


@given(seed=seeds, dim=st.integers(1, 20), counts=st.tuples(*[st.integers(1, 5)] * 3))
def test_vector_arithmetic_is_mean_a_minus_mean_b_plus_mean_c(seed, dim, counts):
    rng = numpy.random.default_rng(seed)
    a, b, c = (rng.standard_normal((k, dim)).astype(numpy.float32) for k in counts)
    result = latent.vector_arithmetic(a, b, c)
    assert result.shape == (dim,) and result.dtype == numpy.float32
    numpy.testing.assert_allclose(result, a.mean(0) - b.mean(0) + c.mean(0), rtol=1e-5, atol=1e-5)
    numpy.testing.assert_allclose(latent.vector_arithmetic(a, a, c), c.mean(0), rtol=1e-5, atol=1e-5)  # A − A + C = C


@pytest.mark.parametrize("a, b, c, message", [
    (numpy.ones((3, 4)), numpy.ones((3, 5)), numpy.ones((3, 4)), "must share noise_dim"),
    (numpy.ones((0, 4)), numpy.ones((3, 4)), numpy.ones((3, 4)), "a: expected k >= 1 noise vectors"),
    (numpy.ones((3, 4)), numpy.ones(4), numpy.ones((3, 4)), "b: expected k >= 1 noise vectors"),
])
def test_vector_arithmetic_rejects_mismatched_exemplars(a, b, c, message):
    with pytest.raises(ValueError) as info:
        latent.vector_arithmetic(a, b, c)
    assert message in str(info.value)


# ----- exemplars of a concept ---------------------------------------------------------------------------
def test_ink_is_the_mean_pixel_value_of_each_image():
    images = numpy.zeros((3, 28, 28, 1), dtype=numpy.float32)
    images[1, :14] = 1.0   # the top half white
    images[2] = 0.25
    numpy.testing.assert_allclose(latent.ink(images), [0.0, 0.5, 0.25])
    numpy.testing.assert_allclose(latent.ink(images[..., 0]), [0.0, 0.5, 0.25])  # (n, 28, 28) too


def test_pick_exemplars_takes_the_most_confident_samples_of_the_inky_and_the_thin_tenth():
    labels = numpy.array([7] * 40 + [1] * 5)
    amount = numpy.concatenate([numpy.arange(40) / 100, numpy.full(5, 0.5)])  # 7s: ink rises with the index
    confidence = numpy.full(45, 0.95)
    confidence[39] = 0.5                    # the inkiest 7 is not confident enough: 39 candidates, tails of 4
    confidence[[36, 38, 2, 0]] = [0.999, 0.995, 0.999, 0.995]
    thick, thin = latent.pick_exemplars(labels, confidence, amount, 7, 2)
    assert list(thick) == [36, 38] and list(thin) == [2, 0]
    thick_tail, thin_tail = latent.ink_tails(labels, confidence, amount, 7, 2)
    assert sorted(thick_tail) == [35, 36, 37, 38] and sorted(thin_tail) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="only 5 of the 45 pool samples are a 1 with probability >= 0.9, and 6 are needed"):
        latent.pick_exemplars(labels, confidence, amount, 1, 3)


# ----- the example --------------------------------------------------------------------------------------
def test_the_example_refuses_too_few_exemplars_in_one_line_naming_its_flags():
    labels, confidence, amount = numpy.array([1] * 5), numpy.full(5, 0.95), numpy.arange(5) / 10
    for pick in (latent_space.pick_exemplars, latent_space.ink_tails):
        with pytest.raises(latent_space.RunError, match=r"only 5 of the 5 pool samples are a 1 .*; try a larger --pool, other --digits"):
            pick(labels, confidence, amount, 1, 3)


def test_figure_cells_has_seven_columns_and_one_row_per_exemplar_plus_the_means():
    pool = numpy.random.default_rng(0).random((10, 28, 28), dtype=numpy.float32)
    cells = latent_space.figure_cells(pool, [numpy.arange(3), numpy.arange(3, 6), numpy.arange(6, 9)],
                                      mean_images=pool[:3], block=pool[:9], references=pool[:3])
    assert cells.shape == (4 * latent_space.FIGURE_COLUMNS, 28, 28)
    numpy.testing.assert_array_equal(cells[7 + 2], pool[7])   # row 2, column 3: third concept's 2nd exemplar
    numpy.testing.assert_array_equal(cells[7 + 5], pool[4])   # row 2, centre of the block: the result
    assert (cells[3] == latent_space.BLANK).all()             # the gap column
    numpy.testing.assert_array_equal(cells[21 + 1], pool[1])  # last row: the means, the gap, the references
    assert (cells[21 + 3] == latent_space.BLANK).all()
    numpy.testing.assert_array_equal(cells[21 + 4], pool[0])


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    """An untrained MLP GAN saved as examples/mnist_gan.py saves one."""
    path = tmp_path_factory.mktemp("ckpt") / "checkpoint.npz"
    gan = models.build_gan("mlp", seed=0)
    save_checkpoint(path, {"gan": gan.state_dict(), "epoch": numpy.array(1)}, metadata={"config": {"model": "mlp"}, "epoch": 1})
    return path


def fake_classify(images):
    """An untrained G draws no digits; label them by their ink's rank so that every digit has samples."""
    rank = numpy.argsort(numpy.argsort(latent.ink(images)))
    return rank % 10, numpy.ones(len(images))


def run(checkpoint, out, *flags):
    return latent_space.main(["--checkpoint", str(checkpoint), "--out", str(out), "--pairs", "2", "--steps", "3",
                              "--pool", "60", *map(str, flags)])


def test_the_example_writes_its_grids_and_is_reproducible(tiny_checkpoint, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(latent_space, "classify", fake_classify)
    monkeypatch.setattr(latent_space, "MEASURED_PAIRS", 4)
    assert run(tiny_checkpoint, tmp_path / "a", "--sweep") == 0
    first = capsys.readouterr().out
    for name in OUTPUTS:
        assert (tmp_path / "a" / name).read_bytes()[:8] == PNG_SIGNATURE
    assert not [f for f in os.listdir(tmp_path / "a") if f.endswith(".tmp")]
    assert "thickness gained" in first and "slerp" in first and "lerp" in first
    assert "in all: " in first and "of 1800 results are a B" in first  # the sweep: 90 pairs × 20 repeats
    # the same seed gives the same pictures and numbers; another seed other pictures
    assert run(tiny_checkpoint, tmp_path / "b", "--sweep") == 0
    second = capsys.readouterr().out
    without_paths_and_times = lambda text: [line.split("->")[0] for line in text.splitlines()[1:-1]]
    assert without_paths_and_times(first) == without_paths_and_times(second)
    for name in OUTPUTS:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert run(tiny_checkpoint, tmp_path / "c", "--seed", 1) == 0
    assert (tmp_path / "c" / "interpolation_slerp.png").read_bytes() != (tmp_path / "a" / "interpolation_slerp.png").read_bytes()


def test_the_example_accepts_the_run_folder(tiny_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(latent_space, "classify", fake_classify)
    assert run(tiny_checkpoint.parent, tmp_path / "out") == 0
    assert (tmp_path / "out" / "arithmetic.png").exists()


def test_arithmetic_without_a_pool_draws_one_and_checks_with_it(tiny_checkpoint, tmp_path, monkeypatch):
    """``arithmetic(..., samples=None)`` draws its own pool; the repeated check must use that pool too (it
    was once handed the None instead). The output is the same as with the same pool drawn beforehand."""
    monkeypatch.setattr(latent_space, "classify", fake_classify)
    gan, model = latent_space.load_generator(str(tiny_checkpoint))
    args = latent_space.parse_args(["--out", str(tmp_path), "--pool", "60"])
    own_pool, given_pool = [], []
    latent_space.arithmetic(gan, model, args, log=own_pool.append)
    latent_space.arithmetic(gan, model, args, log=given_pool.append, samples=latent_space.draw_pool(gan, model, args))
    assert any(line.startswith(f"  repeated with {latent_space.REPEATS} random exemplar sets") for line in own_pool)
    assert own_pool == given_pool


def test_realism_is_the_discriminators_probability_in_eval_mode(tiny_checkpoint, xp):
    from minigan.engine.autograd import Tensor

    gan, model = latent_space.load_generator(str(tiny_checkpoint))
    images = numpy.random.default_rng(0).random((5, 28, 28), dtype=numpy.float32)  # the MLP GAN's range is [0, 1]
    scores = latent_space.realism(gan, model, images)
    assert gan.discriminator.training                     # left as it was found
    gan.discriminator.eval()                              # eval: no dropout, so the same every time
    logits = gan.discriminator(Tensor(xp.asarray(images[..., None]))).numpy()[:, 0]
    expected = 1 / (1 + numpy.exp(-logits.astype(numpy.float64)))
    numpy.testing.assert_allclose(scores, expected, rtol=1e-6)


def test_classify_reads_real_digits_with_the_classifiers_softmax():
    from minigan.tools.classifier import shipped_classifier
    from minigan.tools.data import load_mnist

    images, labels = load_mnist(split="test", scale="sigmoid")
    digits, confidence = latent_space.classify(images[:20, ..., 0])
    assert (digits == labels[:20]).mean() >= 0.9 and ((0 < confidence) & (confidence <= 1)).all()
    probabilities = shipped_classifier().probabilities(images[:20])
    assert probabilities.shape == (20, 10) and probabilities.dtype == numpy.float64
    numpy.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    numpy.testing.assert_array_equal(digits, shipped_classifier().predict(images[:20]))  # the most likely digit
    numpy.testing.assert_array_equal(confidence, probabilities.max(axis=1))
    logits = shipped_classifier().logits(images[:20]).astype(numpy.float64)
    numpy.testing.assert_allclose(numpy.log(probabilities[:, :1] / probabilities), logits[:, :1] - logits, atol=1e-9)


def test_missing_checkpoint_is_one_line_that_says_how_to_make_one(tmp_path, capsys):
    assert run(tmp_path / "nowhere.npz", tmp_path / "out") == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "no checkpoint at" in error and "python examples/mnist_gan.py" in error


def test_other_checkpoints_and_too_few_digits_are_one_line_errors(tiny_checkpoint, tmp_path, monkeypatch, capsys):
    other = tmp_path / "other.npz"
    save_checkpoint(other, {"weights": numpy.zeros(3)})
    assert run(other, tmp_path / "out") == 2
    assert "not one written by examples/mnist_gan.py" in capsys.readouterr().err
    monkeypatch.setattr(latent_space, "classify", lambda images: (numpy.zeros(len(images), int), numpy.ones(len(images))))
    assert run(tiny_checkpoint, tmp_path / "out") == 2
    assert "only 0 of the 60 pool samples are a 7" in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--steps", "1"], "--steps: expected at least 2"),
    (["--pairs", "0"], "--pairs: expected a positive integer, got 0"),
    (["--digits", "7", "7"], "--digits: expected two different digits"),
    (["--digits", "7", "12"], "--digits: expected a digit from 0 to 9, got 12"),
    (["--seed", "-1"], "--seed: expected a seed, an integer in [0, 2**64), got -1"),
])
def test_bad_flags_are_rejected_with_a_message(flags, message, capsys):
    assert_usage_error(latent_space.parse_args, flags, message, capsys)


def test_thickness_gained_is_0_at_the_thin_exemplars_ink_and_1_at_the_thick():
    assert latent_space.thickness_gained(0.05, 0.05, 0.15) == 0
    assert latent_space.thickness_gained(0.15, 0.05, 0.15) == 1
    assert latent_space.thickness_gained(0.10, 0.05, 0.15) == pytest.approx(0.5)


def test_sweep_counts_for_every_ordered_pair_how_many_results_are_a_b(monkeypatch):
    def repeated_check(gan, model, samples, a, b, k, seed):
        if a == 9:
            raise latent_space.RunError("too few 9s")                   # shown as "-", left out of the totals
        labels = numpy.full(latent_space.REPEATS, b if (a, b) == (3, 5) else a)
        return labels, numpy.full(latent_space.REPEATS, 0.5)

    monkeypatch.setattr(latent_space, "repeated_check", repeated_check)
    lines = []
    latent_space.sweep(None, "mlp", latent_space.parse_args([]), samples=None, log=lines.append)
    row_3, row_9 = lines[2 + 3].split(), lines[2 + 9].split()
    assert row_3 == ["3", "0", "0", "0", ".", "0", "20", "0", "0", "0", "0"]
    assert row_9 == ["9"] + ["-"] * 9 + ["."]
    assert "in all: 20 of 1620 results are a B" in lines[-1] and "5: 20" in lines[-1] and "median 0.50" in lines[-1]


def test_concept_means_refuse_non_finite_exemplars_like_the_interpolations():
    with pytest.raises(ValueError, match="vector_arithmetic: a: expected finite values, found NaN or infinity"):
        latent.vector_arithmetic([[numpy.nan, 1.0]], [[0.0, 1.0]], [[0.0, 1.0]])  # used to return [nan, 1]
    with pytest.raises(ValueError, match="exemplars: expected finite values"):
        latent.concept_mean([[numpy.inf, 1.0]])
