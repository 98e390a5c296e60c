"""Image completion by latent search (Yeh et al. 2017) and Poisson blending: each loss against its formula;
the search, on a linear G whose optimum is known in closed form, moves z there and the contextual loss
falls; it keeps z on the prior's support, searches every image as if alone and leaves G and D as they
were; Poisson blending keeps the known pixels and solves the discrete Poisson equation in the hole; the
nearest-neighbour baseline finds the nearest image; the example runs and refuses mistakes in one line."""

import json
import os

import numpy
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigan import Tensor, gradcheck
from minigan.engine import nn
from minigan.gans import models
from minigan.tools import completion
from minigan.tools.data import random_hidden
from minigan.tools.poisson_blending import laplacian, poisson_blend, poisson_blend_by_definition

from conftest import load_example, to_numpy
from strategies import random_array, seeds


def random_known(count, height, width, fraction, seed):
    """A NumPy boolean mask of known pixels with at least one known pixel per image."""
    known = ~random_hidden(count, height, width, fraction, seed)
    known[:, 0, 0] = True
    return known


# ----- the losses ----------------------------------------------------------------------------------
def test_importance_weights_of_a_hand_made_hole_are_the_share_of_hidden_neighbours(xp):
    known = numpy.ones((1, 5, 5, 1), bool)
    known[0, 2, 2] = False                                     # one hidden pixel in the middle
    weights = to_numpy(completion.importance_weights(xp.asarray(known), window=3))[0, :, :, 0]
    expected = numpy.zeros((5, 5))
    expected[1:4, 1:4] = 1 / 9                                  # its 8 neighbours see it among 9 pixels
    expected[2, 2] = 0                                          # the hidden pixel itself weighs nothing
    numpy.testing.assert_allclose(weights, expected, rtol=1e-6)
    known[0, 0, 0] = False                                      # a corner: its neighbours' windows are cut by the border
    weights = to_numpy(completion.importance_weights(xp.asarray(known), window=3))[0, :, :, 0]
    assert weights[0, 1] == pytest.approx(1 / 6) and weights[1, 1] == pytest.approx(2 / 9)


@given(seed=seeds, window=st.sampled_from([1, 3, 5, 7]), fraction=st.floats(0.0, 1.0))
def test_importance_weights_match_the_papers_formula_pixel_by_pixel(xp, seed, window, fraction):
    known = ~random_hidden(3, 6, 9, fraction, seed % 2**31)
    weights = to_numpy(completion.importance_weights(xp.asarray(known), window, dtype=numpy.float64))
    for k in range(3):
        numpy.testing.assert_allclose(weights[k, :, :, 0], completion.importance_weights_by_definition(known[k, :, :, 0], window), atol=1e-12)


@given(seed=seeds)
def test_the_contextual_loss_is_the_weighted_l1_distance_and_its_gradient_is_right(xp, seed):
    generated = random_array(xp, (2, 4, 3, 1), seed)
    target, weights = random_array(xp, (2, 4, 3, 1), seed + 1), random_array(xp, (2, 4, 3, 1), seed + 2, low=0.0, high=1.0)
    loss = completion.contextual_loss(Tensor(generated), target, weights)
    expected = (to_numpy(weights) * numpy.abs(to_numpy(generated) - to_numpy(target))).reshape(2, -1).sum(axis=1)
    numpy.testing.assert_allclose(to_numpy(loss.data), expected, rtol=1e-12)
    gradcheck(lambda g: completion.contextual_loss(g, target, weights), [Tensor(generated, requires_grad=True)])


@given(seed=seeds, weight=st.floats(1e-3, 10.0))
def test_the_perceptual_loss_is_lambda_log_one_minus_d_and_its_gradient_is_right(xp, seed, weight):
    logits = random_array(xp, (5, 1), seed, low=-6.0, high=6.0)
    loss = completion.perceptual_loss(Tensor(logits), weight)
    d = 1 / (1 + numpy.exp(-to_numpy(logits)[:, 0]))
    numpy.testing.assert_allclose(to_numpy(loss.data), weight * numpy.log(1 - d), rtol=1e-10)
    gradcheck(lambda a: completion.perceptual_loss(a, weight), [Tensor(logits, requires_grad=True)])


def test_the_perceptual_loss_stays_finite_where_d_rounds_to_one(xp):
    loss = completion.perceptual_loss(Tensor(xp.asarray([[40.0], [1e4]], dtype=numpy.float32)), 1.0)
    numpy.testing.assert_allclose(to_numpy(loss.data), [-40.0, -1e4], rtol=1e-6)   # log(1 − σ(a)) = −softplus(a) ≈ −a


# ----- the search ----------------------------------------------------------------------------------
def linear_gan(xp, noise_dim=3, height=4, width=5, seed=0):
    """G(z) = A z as an (H, W, 1) image (A known), and a linear D; both float64."""
    rng = numpy.random.default_rng(seed)
    generator = nn.Sequential(nn.Linear(noise_dim, height * width, bias=False, dtype=numpy.float64), nn.Reshape(height, width, 1))
    generator.layers[0].weight.data[...] = xp.asarray(rng.standard_normal((height * width, noise_dim)))
    discriminator = nn.Sequential(nn.Flatten(), nn.Linear(height * width, 1, dtype=numpy.float64))
    return generator, discriminator


@pytest.mark.parametrize("prior", completion.PRIORS)
def test_the_search_on_a_linear_g_moves_z_to_the_closed_form_optimum_and_the_contextual_loss_falls(xp, prior):
    generator, discriminator = linear_gan(xp)
    a = to_numpy(generator.layers[0].weight.data)                           # (P, d): G(z) = A z
    rng = numpy.random.default_rng(1)
    optimum = rng.uniform(-0.8, 0.8, (2, 3))
    if prior == "normal":
        optimum *= numpy.sqrt(3) / numpy.linalg.norm(optimum, axis=1, keepdims=True)     # on the sphere ‖z‖ = √d
    known = numpy.ones((2, 4, 5, 1), bool)
    known[:, 1:3, 1:4] = False                                              # a hole of 6 of the 20 pixels
    target = (optimum @ a.T).reshape(2, 4, 5, 1)
    target[~known] = 5.0                                                    # the hidden pixels say nothing
    # The closed form: the z that makes A z equal y on the pixels the contextual loss weighs (least squares, exact here).
    weighed = completion.importance_weights_by_definition(known[0, :, :, 0]).reshape(-1) > 0
    closed_form = numpy.linalg.lstsq(a[weighed], target[0].reshape(-1)[weighed], rcond=None)[0]
    numpy.testing.assert_allclose(closed_form, optimum[0], atol=1e-10)
    start = rng.standard_normal((2, 3))
    found = completion.search_latent(generator, discriminator, xp.asarray(target), xp.asarray(known), xp.asarray(start),
                                     steps=400, weight=0.0, lr=0.02, prior=prior)
    weights = completion.importance_weights(xp.asarray(known), dtype=numpy.float64)
    before = to_numpy(completion.contextual_loss(generator(Tensor(xp.asarray(completion.project_to_prior(start.copy(), prior)))),
                                                 xp.asarray(target), weights).data)
    after = to_numpy(found.contextual)
    assert (after < before / 50).all(), (before, after)
    numpy.testing.assert_allclose(to_numpy(found.z), optimum, atol=0.05)
    assert found.history["step"] == [100, 200, 300, 400]                   # the batch means every log_every steps
    assert found.history["contextual"][0] > found.history["contextual"][-1] > 0


def test_z_stays_on_the_priors_support_after_every_step(xp):
    z = xp.asarray(numpy.random.default_rng(0).standard_normal((4, 100)) * 3)
    numpy.testing.assert_allclose(numpy.linalg.norm(to_numpy(completion.project_to_prior(z.copy(), "normal")), axis=1), 10.0, rtol=1e-12)
    clipped = to_numpy(completion.project_to_prior(z.copy(), "uniform"))
    assert clipped.min() == -1 and clipped.max() == 1 and (clipped == numpy.clip(to_numpy(z), -1, 1)).all()
    generator, discriminator = linear_gan(xp, noise_dim=4)
    known = xp.asarray(random_known(3, 4, 5, 0.5, 0))
    for prior in completion.PRIORS:
        found = completion.search_latent(generator, discriminator, xp.zeros((3, 4, 5, 1)), known,
                                         xp.asarray(numpy.random.default_rng(2).standard_normal((3, 4)) * 5), steps=5, prior=prior)
        z = to_numpy(found.z)
        assert (numpy.abs(z) <= 1).all() if prior == "uniform" else numpy.allclose(numpy.linalg.norm(z, axis=1), 2.0)


def test_each_image_is_searched_as_if_alone_and_g_and_d_are_left_as_they_were(xp):
    """With batch norm in evaluation mode no image sees another: a batch of two finds what two searches of one find."""
    generator = nn.init.normal_weights_(models.dcgan_generator(noise_dim=4, width=2))
    discriminator = nn.init.normal_weights_(models.dcgan_discriminator(width=2))
    states = [{name: to_numpy(value).copy() for name, value in net.state_dict().items()} for net in (generator, discriminator)]
    rng = numpy.random.default_rng(3)
    target = xp.asarray(rng.uniform(-1, 1, (2, 28, 28, 1)).astype(numpy.float32))
    known = xp.asarray(random_known(2, 28, 28, 0.8, 4))
    start = xp.asarray(rng.standard_normal((2, 4)).astype(numpy.float32))
    both = completion.search_latent(generator, discriminator, target, known, start, steps=4, weight=0.5, lr=0.1)
    for k in range(2):
        alone = completion.search_latent(generator, discriminator, target[k : k + 1], known[k : k + 1], start[k : k + 1],
                                         steps=4, weight=0.5, lr=0.1)
        numpy.testing.assert_allclose(to_numpy(alone.z)[0], to_numpy(both.z)[k], rtol=1e-4, atol=1e-5)
    assert not (to_numpy(both.z) == to_numpy(start) * 2 / numpy.linalg.norm(to_numpy(start), axis=1, keepdims=True)).all()  # z moved
    for net, state in zip((generator, discriminator), states):
        assert net.training and all(p.requires_grad for p in net.parameters())      # the modes they were in
        for name, value in net.state_dict().items():
            numpy.testing.assert_array_equal(to_numpy(value), state[name])         # not a weight or a running statistic changed


def test_search_mistakes_are_named(xp):
    generator, discriminator = linear_gan(xp)
    with pytest.raises(ValueError, match="prior must be one of"):
        completion.search_latent(generator, discriminator, xp.zeros((1, 4, 5, 1)), xp.ones((1, 4, 5, 1), bool), xp.zeros((1, 3)), prior="cube")
    with pytest.raises(ValueError, match="target and known must have the same shape"):
        completion.search_latent(generator, discriminator, xp.zeros((1, 4, 5, 1)), xp.ones((1, 4, 4, 1), bool), xp.zeros((1, 3)))
    with pytest.raises(ValueError, match="known must be a boolean array"):
        completion.importance_weights(xp.ones((1, 4, 5, 1)))
    with pytest.raises(ValueError, match="window must be an odd positive int"):
        completion.importance_weights(xp.ones((1, 4, 5, 1), bool), window=4)


# ----- Poisson blending ----------------------------------------------------------------------------
@given(seed=seeds, fraction=st.floats(0.05, 0.95), height=st.integers(2, 7), width=st.integers(2, 7))
def test_poisson_blending_keeps_the_known_pixels_and_solves_the_poisson_equation_in_the_hole(xp, seed, fraction, height, width):
    known = random_known(3, height, width, fraction, seed % 2**31)
    target, source = random_array(xp, (3, height, width, 1), seed), random_array(xp, (3, height, width, 1), seed + 1)
    blended = poisson_blend(target, source, xp.asarray(known))
    out = to_numpy(blended)
    numpy.testing.assert_array_equal(out[known], to_numpy(target)[known])                       # the known pixels, unchanged
    residual = to_numpy(laplacian(blended) - laplacian(source))[~known]                         # (L x)_p = (L g)_p in the hole
    numpy.testing.assert_allclose(residual, 0, atol=1e-8)
    numpy.testing.assert_allclose(out, poisson_blend_by_definition(to_numpy(target), to_numpy(source), known), atol=1e-8)


def test_poisson_blending_of_a_shifted_copy_gives_back_the_target_and_keeps_float32(xp):
    """g = y + c has y's gradients: the blend is y itself, whatever the offset c."""
    rng = numpy.random.default_rng(5)
    target = xp.asarray(rng.random((4, 28, 28, 1)).astype(numpy.float32))
    known = xp.asarray(random_known(4, 28, 28, 0.8, 6))
    blended = poisson_blend(target, target + numpy.float32(0.3), known)
    assert blended.dtype == numpy.float32
    numpy.testing.assert_allclose(to_numpy(blended), to_numpy(target), atol=1e-6)


def test_the_dense_twin_solves_a_one_pixel_hole_by_hand():
    """One hidden pixel at the centre of a 3 × 3 image: 4x − Σ y_q = Σ (g_p − g_q), so x = mean(y_q) + g_p − mean(g_q)."""
    target = numpy.arange(9, dtype=numpy.float64).reshape(1, 3, 3, 1)
    source = numpy.zeros((1, 3, 3, 1))
    source[0, 1, 1] = 2.0
    known = numpy.ones((1, 3, 3, 1), bool)
    known[0, 1, 1] = False
    expected = (1 + 3 + 5 + 7) / 4 + 2.0
    assert poisson_blend_by_definition(target, source, known)[0, 1, 1, 0] == pytest.approx(expected)
    assert poisson_blend(target, source, known)[0, 1, 1, 0] == pytest.approx(expected)


def test_an_image_without_a_known_pixel_is_refused():
    with pytest.raises(ValueError, match="an image has no known pixel"):
        poisson_blend(numpy.zeros((2, 3, 3, 1)), numpy.zeros((2, 3, 3, 1)), numpy.zeros((2, 3, 3, 1), bool))


# ----- the nearest-neighbour baseline --------------------------------------------------------------
def test_the_nearest_neighbour_is_the_closest_on_the_known_pixels_whichever_chunk_holds_it():
    rng = numpy.random.default_rng(7)
    images = rng.random((11, 4, 4, 1)).astype(numpy.float32)
    target = rng.random((5, 4, 4, 1)).astype(numpy.float32)
    known = random_known(5, 4, 4, 0.5, 8)
    filled, index = completion.nearest_neighbour_fill(target, known, images, chunk=3)
    for k in range(5):
        distances = [((target[k] - image) ** 2)[known[k]].sum() for image in images]
        assert index[k] == numpy.argmin(distances)
        numpy.testing.assert_array_equal(filled[k], numpy.where(known[k], target[k], images[index[k]]))


# ----- the example ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dcgan_checkpoint(tmp_path_factory, small_mnist):
    """A DCGAN checkpoint of examples/mnist_gan.py after 2 steps (its G and D are what the search needs, not good ones)."""
    out = tmp_path_factory.mktemp("dcgan")
    assert load_example("mnist_gan").main(["--data", small_mnist, "--steps", "2", "--batch-size", "8", "--samples", "0",
                                           "--no-evaluate", "--out", str(out)]) == 0
    return str(out / "checkpoint.npz")


@pytest.mark.numpy_only("the example's end-to-end run: its parts run on every backend above")
def test_the_example_completes_writes_its_figures_and_measures_every_method(dcgan_checkpoint, tmp_path):
    example = load_example("image_completion")
    out = tmp_path / "completion"
    assert example.main(["--checkpoint", dcgan_checkpoint, "--digits", "12", "--steps", "3", "--restarts", "2", "--out", str(out)]) == 0
    measured = json.loads((out / "measurements.json").read_text())
    for mask in example.MASKS:
        assert (out / f"completion_{mask}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        for method in ("masked (hole = 0)", "nearest neighbour", "latent search", "latent search + blending"):
            values = measured["rows"][f"{mask}: {method}"]
            assert 0 <= values["l1"] <= 1 and 0 <= values["classifier"] <= 1
    assert measured["digits"] == 12 and measured["steps"] == 3 and measured["restarts"] == 2
    # Restart 0 starts where a run of one restart starts, so keeping each digit's best of two can only lower the loss.
    single = tmp_path / "single"
    assert example.main(["--checkpoint", dcgan_checkpoint, "--digits", "12", "--steps", "3", "--masks", "centre", "--out", str(single)]) == 0
    one = json.loads((single / "measurements.json").read_text())["rows"]["centre: latent search"]["search_loss"]
    assert measured["rows"]["centre: latent search"]["search_loss"] <= one * (1 + 1e-5)   # (float32 sums of another batch size)


@pytest.mark.numpy_only("command-line guards")
@pytest.mark.parametrize("flags, message", [
    (["--checkpoint", "no/such/checkpoint.npz"], "no checkpoint at no/such/checkpoint.npz"),
    (["--context-encoder", "no/such.npz"], "--context-encoder: no checkpoint at 'no/such.npz'"),
    (["--digits", "20000"], "--digits 20000: the test set has 10000 digits"),
])
def test_example_mistakes_end_in_one_line(dcgan_checkpoint, tmp_path, capsys, flags, message):
    example = load_example("image_completion")
    flags = flags if flags[0] == "--checkpoint" else ["--checkpoint", dcgan_checkpoint, *flags]
    assert example.main([*flags, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.numpy_only("command-line guards")
def test_the_example_never_overwrites_an_earlier_run_unasked(dcgan_checkpoint, tmp_path, capsys):
    example = load_example("image_completion")
    out = tmp_path / "out"
    flags = ["--checkpoint", dcgan_checkpoint, "--digits", "3", "--steps", "1", "--masks", "centre", "--out", str(out)]
    assert example.main(flags) == 0
    before = (out / "measurements.json").read_bytes()
    assert example.main(flags) == 2
    assert "already holds an earlier run's files" in capsys.readouterr().err
    assert (out / "measurements.json").read_bytes() == before
    assert example.main([*flags, "--overwrite"]) == 0 and os.path.isfile(out / "completion_centre.png")


@pytest.mark.numpy_only("command-line guards")
def test_a_missing_shipped_dcgan_is_one_line_naming_the_way_round(tmp_path, capsys, monkeypatch):
    from minigan.tools import pretrained

    monkeypatch.setattr(pretrained, "WEIGHTS", str(tmp_path / "no_weights"))
    assert load_example("image_completion").main(["--digits", "3", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "no weights file" in err and "--checkpoint" in err and err.count("\n") == 1
