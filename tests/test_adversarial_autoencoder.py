"""The adversarial autoencoder (Makhzani et al. 2016): the priors' samples (the mixture's components on hand-
checked angles); one iteration is the paper's two phases (the reconstruction phase moves E and the decoder and
not D, the regularisation phase moves E and D and not the decoder); the labelled prior gives D the one-hot;
a short run is finite and reproducible; the example's pictures and its exact resume."""

import math

import numpy
import pytest

import minigan
from minigan import Tensor
from minigan.gans.adversarial_autoencoder import (AdversarialAutoencoder, CodeDiscriminator, GaussianPrior, MixturePrior,
                                                  build_adversarial_autoencoder, reconstruction_error)

from conftest import PNG_SIGNATURE, assert_resume_matches_one_run, load_example, to_numpy


def test_the_mixture_puts_component_k_on_angle_2pi_k_over_10(xp):
    prior = MixturePrior(radius=4.0, radial=0.5, tangential=0.1)
    labels = xp.asarray(numpy.repeat(numpy.arange(10), 400))
    z = to_numpy(prior.sample(4000, labels)).astype(numpy.float64).reshape(10, 400, 2)
    for k in range(10):
        direction = numpy.array([math.cos(2 * math.pi * k / 10), math.sin(2 * math.pi * k / 10)])
        along, across = z[k] @ direction, z[k] @ numpy.array([-direction[1], direction[0]])
        assert abs(along.mean() - 4.0) < 0.1 and 0.4 < along.std() < 0.6      # radius 4, std 0.5 along it
        assert abs(across.mean()) < 0.02 and 0.08 < across.std() < 0.12       # std 0.1 across it
    unlabelled = to_numpy(MixturePrior().sample(2000)).astype(numpy.float64)
    assert numpy.allclose(numpy.linalg.norm(unlabelled, axis=1).mean(), 4.0, atol=0.1)
    gaussian = to_numpy(GaussianPrior(3).sample(4000)).astype(numpy.float64)
    assert gaussian.shape == (4000, 3) and abs(gaussian.mean()) < 0.05 and abs(gaussian.std() - 1) < 0.05


def test_reconstruction_error_is_the_mean_squared_error(xp):
    x, r = numpy.array([[0.0, 1.0], [0.5, 0.25]]), numpy.array([[0.5, 1.0], [0.0, 0.0]])
    error = reconstruction_error(Tensor(xp.asarray(x)), Tensor(xp.asarray(r))).item()
    assert math.isclose(error, (0.25 + 0 + 0.25 + 0.0625) / 4, rel_tol=1e-12)


def images_and_labels(m, seed=0):
    rng = numpy.random.default_rng(seed)
    return rng.uniform(0, 1, (m, 28, 28, 1)).astype(numpy.float32), rng.integers(0, 10, m)


def snapshot(module):
    return [to_numpy(p.data).copy() for p in module.parameters()]


def changed(module, before):
    return any(not numpy.array_equal(to_numpy(p.data), b) for p, b in zip(module.parameters(), before))


@pytest.mark.parametrize("prior", [GaussianPrior(2), MixturePrior()], ids=["gaussian", "mixture"])
def test_one_iteration_is_the_two_phases(xp, prior):
    minigan.seed(0)
    gan = build_adversarial_autoencoder(prior, seed=0, hidden=16)
    encoder, decoder, d = gan.generator.encoder, gan.generator.decoder, gan.discriminator
    images, labels = images_and_labels(8)
    real, minibatch = gan.split_batch((images, labels))
    assert real.shape == (8, 2) and (minibatch.labels is None) != prior.labelled    # D's "real": the prior's samples
    before = [snapshot(m) for m in (encoder, decoder, d)]
    stats = gan.discriminator_step(real, minibatch)                                 # reconstruction phase, then D
    assert [changed(m, b) for m, b in zip((encoder, decoder, d), before)] == [True, True, True]
    assert "reconstruction" in stats
    before = [snapshot(m) for m in (encoder, decoder, d)]
    gan.generator_step(8, minibatch)                                                # E fools D: the decoder and D stay
    assert [changed(m, b) for m, b in zip((encoder, decoder, d), before)] == [True, False, False]


def test_the_labelled_prior_shows_d_the_one_hot_and_needs_labels(xp):
    d = CodeDiscriminator(2, hidden=4, classes=10)
    z = Tensor(xp.zeros((3, 2), dtype=numpy.float32))
    first, second = d(z, xp.asarray([0, 1, 2])), d(z, xp.asarray([3, 1, 2]))
    assert not numpy.allclose(to_numpy(first.data)[0], to_numpy(second.data)[0])     # the digit changes D's answer
    numpy.testing.assert_array_equal(to_numpy(first.data)[1:], to_numpy(second.data)[1:])
    gan = build_adversarial_autoencoder(MixturePrior(), hidden=8)
    with pytest.raises(TypeError, match=r"is labelled \(§2.3\): real_batches must yield \(images, labels\) pairs"):
        gan.split_batch(images_and_labels(4)[0])
    with pytest.raises(TypeError, match="the condition must be the Minibatch"):
        gan.generator_step(4, None)
    with pytest.raises(TypeError, match="autoencoder must be an AutoEncoder"):
        AdversarialAutoencoder(gan.generator.encoder, d, gan.generator_optimizer, gan.discriminator_optimizer, gan.decoder_optimizer,
                               MixturePrior())


def test_a_short_run_is_finite_and_reproducible_and_its_state_resumes(xp):
    def build():
        minigan.seed(2)
        return build_adversarial_autoencoder(MixturePrior(), seed=2, hidden=16)

    batches = [images_and_labels(8, seed=i) for i in range(4)]
    gan = build()
    history = [{k: float(v) for k, v in gan.train_iteration(iter([b])).items()} for b in batches]
    assert all(math.isfinite(v) for stats in history for v in stats.values())
    resumed = build()
    for b in batches[:2]:
        resumed.train_iteration(iter([b]))
    state = resumed.state_dict()
    assert "decoder_optimizer" in state
    fresh = build().load_state_dict(state)
    again = [{k: float(v) for k, v in fresh.train_iteration(iter([b])).items()} for b in batches[2:]]
    assert again == history[2:]
    codes = gan.encode(batches[0][0])
    assert codes.shape == (8, 2) and gan.generate(codes).shape == (8, 28, 28, 1)


# ----- the example -----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_example_quick_run_writes_figure_2_and_samples(tmp_path, small_mnist, capsys):
    example = load_example("adversarial_autoencoder")
    out = tmp_path / "run"
    assert example.main(["--data", small_mnist, "--prior", "mixture", "--steps", "2", "--batch-size", "32", "--hidden", "32",
                         "--samples", "20", "--out", str(out)]) == 0
    assert numpy.load(out / "samples.npy").shape == (20, 28, 28)
    for name in ("samples_epoch_001.png", "codes.png", "training.png"):
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("reconstruction error of the 100 test digits: ")
    assert example.main(["--data", small_mnist, "--prior", "mixture", "--code-dim", "8", "--out", str(tmp_path / "b")]) == 2
    assert "--code-dim 8: the mixture prior of §2.3 is 2-D" in capsys.readouterr().err


@pytest.mark.slow
def test_example_resumed_mid_epoch_matches_the_uninterrupted_run(tmp_path, small_mnist):
    example = load_example("adversarial_autoencoder")
    common = ["--data", small_mnist, "--prior", "mixture", "--batch-size", "32", "--hidden", "32", "--samples", "0", "--seed", "3"]
    assert_resume_matches_one_run(example, common, tmp_path, steps=4, cut=2, resume_flags=["--samples", "0"])
