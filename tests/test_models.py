"""The MNIST models: shapes, output ranges, the DCGAN initialisation, and the recipes' settings."""

import numpy
import pytest

import minigan
from minigan import nn
from minigan.gans import models


def test_dcgan_shapes_and_ranges(xp):
    gan = models.build_gan("dcgan", seed=0)
    fake = gan.generate(gan.sample_noise(5))
    assert fake.shape == (5, 28, 28, 1) and fake.dtype == numpy.float32
    assert float(fake.data.min()) >= -1 and float(fake.data.max()) <= 1  # tanh output
    assert gan.discriminator(fake).shape == (5, 1)


def test_mlp_gan_shapes_and_ranges(xp):
    gan = models.build_gan("mlp", seed=0)
    fake = gan.generate(gan.sample_noise(5))
    assert fake.shape == (5, 28, 28, 1)
    assert float(fake.data.min()) >= 0 and float(fake.data.max()) <= 1  # sigmoid output
    assert gan.discriminator(fake).shape == (5, 1)
    z = gan.sample_noise(1000).numpy()
    assert z.min() >= -1 and z.max() <= 1  # the paper's uniform noise


def test_dcgan_initialisation_follows_radford_et_al():
    minigan.seed(0)
    generator = nn.init.normal_weights_(models.dcgan_generator())
    for module in generator.modules():
        if isinstance(module, nn.BatchNorm2d):
            assert abs(float(module.weight.data.mean()) - 1) < 0.01 and numpy.all(module.bias.numpy() == 0)
        elif isinstance(module, (nn.Linear, nn.ConvTranspose2d)):
            assert abs(float(module.weight.data.std()) - 0.02) < 0.002
    no_bias_before_norm = [m for m in generator.modules() if isinstance(m, (nn.Linear, nn.ConvTranspose2d))][:2]
    assert all(m.bias is None for m in no_bias_before_norm)


def test_dcgan_parameter_counts():
    count = lambda module: sum(p.size for p in module.parameters())
    # G: 100·6272 + BN(128) + 128·4·4·64 + BN(64) + 64·4·4·1 + 1
    assert count(models.dcgan_generator()) == 100 * 6272 + 2 * 128 + 128 * 16 * 64 + 2 * 64 + 64 * 16 + 1
    # D: 1·16·64 + 64 + 64·16·128 + BN(128) + 6272 + 1
    assert count(models.dcgan_discriminator()) == 16 * 64 + 64 + 64 * 16 * 128 + 2 * 128 + 6272 + 1


def test_build_gan_rejects_unknown_models():
    with pytest.raises(ValueError, match="model must be 'dcgan' or 'mlp', got 'vae'"):
        models.build_gan("vae")


def test_mlp_generator_starts_at_the_mean_image_when_given_the_data():
    rng = numpy.random.default_rng(0)
    images = (rng.uniform(size=(500, 28, 28, 1)) < 0.2).astype(numpy.float32)  # pixels mostly 0, mean ≈ 0.2
    images[:, :14] = 0  # and the top half always black, like MNIST's borders
    minigan.seed(0)
    gan = models.build_gan("mlp", seed=0, images=images)
    mean = numpy.clip(images.reshape(500, -1).mean(0), 1e-3, 1 - 1e-3)
    bias = [m for m in gan.generator.modules() if isinstance(m, nn.Linear)][-1].bias.numpy()
    numpy.testing.assert_allclose(bias, numpy.log(mean / (1 - mean)), rtol=1e-5)
    start = gan.generate(gan.sample_noise(200)).numpy().reshape(200, -1).mean(0)
    assert numpy.abs(start - mean).mean() < 0.05  # not 0.5 everywhere, as without the data
