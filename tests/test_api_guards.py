"""Every setting of the Python API checked where it is given ("Nothing lost", round 2).

One test per finding of a hostile-user probe: the API accepted what the command line refuses, or gave a
message that did not name the argument. Each setting is refused at the constructor or function that
takes it, in one line naming the class or function, the argument, and what was expected and found,
with the shared checks of ``minigan/engine/checks.py``.
"""

import math

import numpy
import pytest

import minigan
from minigan import nn, optim
from minigan.engine.backend import to_numpy
from minigan.engine.checks import boolean, positive_int
from minigan.gans.gan import GAN, output_range
from minigan.gans.least_squares import LeastSquares
from minigan.gans.models import build_gan
from minigan.gans.objectives import Standard
from minigan.gans.wasserstein import WGAN, WGANGP, gradient_penalty

INF = float("inf")


def one_line(error):
    message = str(error.value)
    assert "\n" not in message
    return message


# ----- the shared checks ---------------------------------------------------------------------------------
def test_boolean_takes_only_true_or_false():
    assert boolean("F", "flag", True) is True and boolean("F", "flag", numpy.bool_(False)) is False
    for value in ("no", 0, 1, None, 1.0):
        with pytest.raises(TypeError, match=r"^F: flag must be True or False, got .* \(a \w+\)$"):
            boolean("F", "flag", value)


def test_positive_int_refuses_bools_floats_and_small_ints():
    assert positive_int("F", "n", numpy.int64(3)) == 3
    for value in (True, 2.0, "2", None):
        with pytest.raises(TypeError, match="^F: n must be a positive int, got"):
            positive_int("F", "n", value)
    with pytest.raises(ValueError, match=r"^F: n must be a positive int, got 0$"):
        positive_int("F", "n", 0)


# ----- 1. build_gan refuses what mnist_gan.py's flags refuse ----------------------------------------------
@pytest.mark.parametrize("objective", ["wgan", "wgan-gp"])
def test_build_gan_refuses_a_generator_loss_for_a_wasserstein_critic(objective):
    with pytest.raises(ValueError, match=rf"build_gan: generator_loss='minimax': a Wasserstein critic's G descends .*objective='{objective}'"):
        build_gan("mlp", objective=objective, generator_loss="minimax")


@pytest.mark.parametrize("objective", ["lsgan", "lsgan-chi2"])
def test_build_gan_refuses_a_generator_loss_for_least_squares(objective):
    with pytest.raises(ValueError, match=rf"build_gan: generator_loss='minimax': G's loss is fixed by objective='{objective}'") as error:
        build_gan("mlp", objective=objective, generator_loss="minimax")
    one_line(error)


def test_build_gan_refuses_r1_options_that_would_be_ignored():
    with pytest.raises(ValueError, match=r"build_gan: r1_gamma=10.0: R1 is an option of the standard objective, not of objective='lsgan'"):
        build_gan("mlp", objective="lsgan", r1_gamma=10.0)
    with pytest.raises(ValueError, match=r"build_gan: r1_every=4 spaces the R1 penalty, which is off"):
        build_gan("mlp", r1_every=4)
    with pytest.raises(ValueError, match=r"build_gan: r1_every=4 spaces the R1 penalty, which is off"):
        build_gan("mlp", objective="wgan", r1_every=4)
    with pytest.raises(ValueError, match=r"Standard: r1_every \(N\) = 4 spaces the R1 penalty, which is off"):
        Standard(r1_every=4)
    assert build_gan("mlp", r1_gamma=10.0, r1_every=4).objective.r1_every == 4


# ----- 2. the objectives' numbers: finite, real, not bools ------------------------------------------------
def test_objectives_refuse_bools_infinities_and_strings():
    with pytest.raises(TypeError, match=r"^Standard: r1_gamma \(γ\) must be a real number, got True \(a bool\)$"):
        Standard(r1_gamma=True)
    with pytest.raises(TypeError, match=r"^Standard: real_label must be a real number, got '0.9' \(a str\)$"):
        Standard(real_label="0.9")
    with pytest.raises(ValueError, match=r"^WGAN: clip \(c\) must be finite, got inf$"):
        WGAN(clip=INF)
    with pytest.raises(ValueError, match=r"^WGANGP: penalty_weight \(λ\) must be finite, got inf$"):
        WGANGP(penalty_weight=INF)
    with pytest.raises(TypeError, match=r"^WGANGP: penalty_weight \(λ\) must be a real number, got '10' \(a str\)$"):
        WGANGP(penalty_weight="10")
    with pytest.raises(ValueError, match=r"^LeastSquares: a must be finite, got -inf$"):
        LeastSquares(a=-INF)


def test_layer_norm_eps_is_a_finite_number():
    with pytest.raises(TypeError, match=r"^LayerNorm: eps must be a real number, got '1e-5' \(a str\)$"):
        nn.LayerNorm(4, eps="1e-5")
    with pytest.raises(ValueError, match=r"^LayerNorm: eps must be finite, got inf$"):
        nn.LayerNorm(4, eps=INF)


# ----- 3. the layers' settings ---------------------------------------------------------------------------
def test_gaussian_noise_checks_sigma_and_rng():
    with pytest.raises(ValueError, match=r"^GaussianNoise: sigma must be finite, got inf$"):
        nn.GaussianNoise(INF)
    with pytest.raises(TypeError, match=r"^GaussianNoise: rng must be None or a random generator .*got 123 \(a int\)$"):
        nn.GaussianNoise(0.3, rng=123)
    nn.GaussianNoise(0.3, rng=numpy.random.default_rng(0))


def test_instance_norm_checks_eps_and_affine():
    with pytest.raises(ValueError, match=r"^InstanceNorm2d: eps must be finite, got inf$"):
        nn.InstanceNorm2d(3, eps=INF)
    with pytest.raises(TypeError, match=r"^InstanceNorm2d: affine must be True or False, got 'yes' \(a str\)$"):
        nn.InstanceNorm2d(3, affine="yes")


def test_unet_checks_skips_and_widths():
    with pytest.raises(TypeError, match=r"^UNet: skips must be True or False, got 'no' \(a str\)$"):
        nn.UNet(1, 1, skips="no")
    with pytest.raises(ValueError, match=r"^UNet: widths must be a non-empty tuple or list of positive ints, one per level .*got 4 \(a int\)$"):
        nn.UNet(1, 1, widths=4)


# ----- 4. weight norm: a loaded direction with a zero row --------------------------------------------------
def test_weight_norm_refuses_a_loaded_zero_direction_row():
    layer = nn.WeightNormLinear(3, 2)
    state = {name: to_numpy(value).copy() for name, value in layer.state_dict().items()}
    before = to_numpy(layer.direction.data).copy()
    state["direction"][1] = 0.0
    with pytest.raises(ValueError, match=r"WeightNormLinear.load_state_dict: direction has 1 row\(s\) whose squared norm .* row 1, gives 0.0") as error:
        layer.load_state_dict(state)
    one_line(error)
    numpy.testing.assert_array_equal(to_numpy(layer.direction.data), before)  # nothing loaded


# ----- 5. train_iteration's real_batches -----------------------------------------------------------------------
def tiny_gan(k=1):
    minigan.seed(0)
    generator = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1), nn.Tanh())
    discriminator = nn.Sequential(nn.Linear(1, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
    return GAN(generator, discriminator, optim.Adam(generator.parameters(), lr=1e-3),
               optim.Adam(discriminator.parameters(), lr=1e-3), noise_dim=4, discriminator_steps=k)


def test_train_iteration_names_real_batches_when_it_is_not_an_iterator_or_runs_out():
    batch = numpy.zeros((4, 1), numpy.float32)
    gan = tiny_gan(k=3)
    with pytest.raises(TypeError, match=r"^GAN.train_iteration: real_batches must be an iterator yielding k = 3 minibatches .*got a list$"):
        gan.train_iteration([batch])
    with pytest.raises(ValueError, match=r"^GAN.train_iteration: real_batches ran out after 1 of the k = 3 minibatches of iteration 0 \(D was updated on the first 1\); it must yield k"):
        gan.train_iteration(iter([batch]))


# ----- 6. the gradient penalty on mismatched shapes ------------------------------------------------------
def test_gradient_penalty_names_both_shapes():
    gan = tiny_gan()
    with pytest.raises(ValueError, match=r"^gradient_penalty: real and fake must have the same shape .*got real \(4, 1\) and fake \(3, 1\)$"):
        gradient_penalty(gan, numpy.zeros((4, 1), numpy.float32), numpy.zeros((3, 1), numpy.float32), None, 10.0)


# ----- 7. data-dependent initialisation on a batch holding NaN ----------------------------------------------
def test_data_dependent_init_says_the_batch_is_not_finite():
    model = nn.Sequential(nn.WeightNormLinear(3, 2))
    x = numpy.ones((4, 3), numpy.float32) * numpy.arange(4, dtype=numpy.float32)[:, None]
    x[2, 1] = numpy.nan
    with pytest.raises(ValueError, match=r"^data_dependent_init_: the minibatch x of shape \(4, 3\) holds 1 non-finite value\(s\)"):
        nn.data_dependent_init_(model, x)


# ----- 8. real data outside G's output range ------------------------------------------------------------------
def test_output_range_is_read_off_the_generators_last_activation():
    assert output_range(build_gan("dcgan").generator) == (-1.0, 1.0)
    assert output_range(build_gan("mlp").generator) == (0.0, 1.0)  # sigmoid, then a reshape
    assert output_range(nn.Sequential(nn.Linear(2, 2))) is None


def test_train_iteration_refuses_real_images_outside_gs_range():
    gan = build_gan("mlp", seed=0)
    images = numpy.random.default_rng(0).integers(0, 256, size=(8, 28, 28, 1)).astype(numpy.float32)
    with pytest.raises(ValueError, match=r"^GAN.train_iteration: real_batches' first minibatch lies in \[0, 255\], but G's samples lie in \[0, 1\]") as error:
        gan.train_iteration(iter([images]))
    one_line(error)
    assert gan.discriminator_step_count == 0  # refused before any update
    gan.output_range = None  # on purpose: then trained as it is
    assert math.isfinite(float(gan.train_iteration(iter([images]))["d_loss"]))


def test_the_range_is_checked_on_the_first_minibatch_only():
    gan = tiny_gan()
    gan.train_iteration(iter([numpy.full((4, 1), 0.5, numpy.float32)]))
    assert gan.real_range_checked
    gan.train_iteration(iter([numpy.full((4, 1), 2.0, numpy.float32)]))  # later minibatches cost no copy to the host
