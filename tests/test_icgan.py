"""IcGAN editing (Perarnau et al. 2016; minigan/tools/editing.py): slant on hand-made images; the encoders'
losses send their gradient into E_z and E_y (each into its own network, none into the fixed G) and match
finite differences in float64; a short training lowers both losses; the example writes its figure and
measurements, and refuses to overwrite them or to read a folder without the model."""

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigan import Tensor
from minigan.engine.gradcheck import gradcheck
from minigan.engine import nn
from minigan.tools import editing, image_metrics

from conftest import load_example, to_numpy

icgan = load_example("icgan")


# ----- slant ----------------------------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(column=st.integers(2, 25), top=st.integers(0, 10), length=st.integers(2, 17), width=st.integers(1, 3))
def test_an_upright_bar_has_slant_zero(column, top, length, width):
    image = numpy.zeros((1, 28, 28, 1), numpy.float32)
    image[0, top : top + length, column : column + width] = 1.0
    assert abs(image_metrics.slant(image)[0]) < 1e-12


@settings(max_examples=20, deadline=None)
@given(start=st.integers(0, 8), length=st.integers(3, 18), shift=st.integers(-3, 3), value=st.floats(0.2, 1.0))
def test_a_diagonal_leaning_right_has_slant_one_and_its_mirror_minus_one(start, length, shift, value):
    image = numpy.zeros((1, 28, 28, 1), numpy.float32)
    rows = numpy.arange(start, start + length)
    image[0, rows, 5 + shift + (start + length - 1 - rows), 0] = value  # one column right per row up: u = v + c
    assert numpy.isclose(image_metrics.slant(image)[0], 1.0, atol=1e-9)
    assert numpy.isclose(image_metrics.slant(image[:, :, ::-1])[0], -1.0, atol=1e-9)  # mirrored left-right


def test_slant_is_nan_without_ink_or_with_one_row_of_it():
    images = numpy.zeros((2, 28, 28, 1), numpy.float32)
    images[1, 10, 3:20] = 1.0
    assert numpy.isnan(image_metrics.slant(images)).all()


def test_slant_refuses_an_unbatched_image_in_one_line():
    with pytest.raises(ValueError, match="slant: images must have shape"):
        image_metrics.slant(numpy.zeros((28, 28, 1), numpy.float32))


# ----- the encoders' losses ---------------------------------------------------------------------------
def small_batch(xp, dtype=numpy.float32, count=6, noise_dim=5):
    rng = numpy.random.default_rng(1)
    generated = Tensor(xp.asarray(rng.uniform(0, 1, (count, 28, 28, 1)).astype(dtype)))
    noise = Tensor(xp.asarray(rng.uniform(-1, 1, (count, noise_dim)).astype(dtype)))
    real = Tensor(xp.asarray(rng.uniform(0, 1, (count, 28, 28, 1)).astype(dtype)))
    labels = xp.asarray(rng.integers(0, 10, count))
    return generated, noise, real, labels


def test_each_loss_reaches_every_parameter_of_its_own_encoder_and_none_of_the_other(xp):
    encoders = editing.Encoders(noise_dim=5, hidden=16)
    generated, noise, real, labels = small_batch(xp)
    loss_z, loss_y = editing.encoder_losses(encoders, generated, noise, real, labels)
    for loss, own, other in ((loss_z, encoders.encoder_z, encoders.encoder_y), (loss_y, encoders.encoder_y, encoders.encoder_z)):
        encoders.zero_grad()
        loss.backward()
        assert all(p.grad is not None and float(abs(to_numpy(p.grad)).max()) > 0 for p in own.parameters())
        assert all(p.grad is None or float(abs(to_numpy(p.grad)).max()) == 0 for p in other.parameters())


def test_the_losses_gradients_with_respect_to_the_encoders_input_match_finite_differences(xp):
    encoders = editing.Encoders(noise_dim=5, hidden=8)
    for p in encoders.parameters():  # float64 for the check (the project's rule)
        p.data = p.data.astype(numpy.float64)
    images, noise, _, labels = small_batch(xp, numpy.float64, count=3)
    images = Tensor(images.data, requires_grad=True)
    gradcheck(lambda x: editing.mse_loss(encoders.encoder_z(x), noise), [images])
    gradcheck(lambda x: editing.cross_entropy(encoders.encoder_y(x), labels), [images])


class LinearGenerator(nn.Module):
    """G(z, y) = a fixed linear map of z (y unused): a generator whose z an encoder can recover exactly."""

    def __init__(self, noise_dim):
        self.net = nn.Sequential(nn.Linear(noise_dim, 784), nn.Reshape(28, 28, 1))

    def forward(self, noise, labels):
        return self.net(noise)


def test_a_short_training_lowers_both_losses_and_leaves_g_as_it_was():
    generator = LinearGenerator(5)
    before = [to_numpy(p.data).copy() for p in generator.parameters()]
    rng = numpy.random.default_rng(0)
    real = rng.uniform(0, 1, (200, 28, 28, 1)).astype(numpy.float32)
    real_labels = (real[:, :14].mean(axis=(1, 2, 3)) > real[:, 14:].mean(axis=(1, 2, 3))).astype(numpy.int64)  # learnable
    _, history = editing.train_encoders(generator, 5, real, real_labels, steps=150, batch_size=32, hidden=32, log=None)
    assert history.dtype == numpy.float64 and numpy.isfinite(history).all()
    assert history[-20:].mean(axis=0)[0] < 0.8 * history[:20].mean(axis=0)[0]
    assert history[-20:].mean(axis=0)[1] < 0.8 * history[:20].mean(axis=0)[1]
    assert all(numpy.array_equal(a, to_numpy(p.data)) for a, p in zip(before, generator.parameters()))


def test_the_same_seed_trains_the_same_encoders_and_another_seed_others():
    generator = LinearGenerator(5)
    real = numpy.random.default_rng(0).uniform(0, 1, (40, 28, 28, 1)).astype(numpy.float32)
    labels = numpy.arange(40) % 10
    runs = [editing.train_encoders(generator, 5, real, labels, steps=4, batch_size=8, hidden=8, seed=seed, log=None)[1]
            for seed in (3, 3, 4)]
    assert numpy.array_equal(runs[0], runs[1]) and not numpy.array_equal(runs[0], runs[2])


def test_correlation_ignores_nan_pairs_and_a_copy_correlates_one():
    a = numpy.array([1.0, 2.0, numpy.nan, 4.0, 3.0])
    assert numpy.isclose(editing.correlation(a, 2 * a + 1), 1.0)
    assert numpy.isclose(editing.correlation(a, -a), -1.0)


def test_wrong_digits_or_labels_are_one_line_naming_them():
    images = numpy.zeros((4, 28, 28, 1), numpy.float32)
    with pytest.raises(ValueError, match="train_encoders: labels"):
        editing.check_digits(images, numpy.array([0, 1, 2, 10]), "train_encoders")
    with pytest.raises(ValueError, match="measure_edits: images: pixel values"):
        editing.check_digits(images - 1, numpy.arange(4), "measure_edits")
    with pytest.raises(ValueError, match="labels"):
        editing.check_digits(images, numpy.arange(3), "measure_edits")
    with pytest.raises(ValueError, match="steps must be a positive int"):
        editing.train_encoders(None, 5, images, numpy.arange(4), steps=0)


# ----- the example ------------------------------------------------------------------------------------
def test_the_example_writes_its_figure_and_measurements_and_keeps_them(tmp_path, capsys):
    out = tmp_path / "icgan"
    flags = ["--steps", "3", "--test-digits", "20", "--rows", "2", "--out", str(out)]
    assert icgan.main(flags) == 0
    text = capsys.readouterr().out
    assert "read as the new label" in text and "slant" in text
    assert (out / "edits.png").read_bytes().startswith(b"\x89PNG")
    stored = numpy.load(out / "measurements.npz")
    assert stored["losses"].shape == (3, 2) and stored["edit_read_as_new_label"].shape == (9,)
    assert icgan.main(flags) == 2                               # an earlier run is never overwritten unasked
    assert "--overwrite" in capsys.readouterr().err


def test_a_checkpoint_folder_without_the_model_is_one_line(tmp_path, capsys):
    assert icgan.main(["--checkpoint", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("icgan.py: error: --checkpoint:") and "\n" not in err


@pytest.mark.parametrize("flags, message", [(["--test-digits", "20000"], "--test-digits"), (["--rows", "30", "--test-digits", "10"], "--rows"),
                                            (["--lr", "-1"], "--lr")])
def test_bad_flags_are_one_usage_line(flags, message, capsys):
    with pytest.raises(SystemExit) as stop:
        icgan.parse_args(flags)
    assert stop.value.code == 2 and message in capsys.readouterr().err
