"""pix2pix, CycleGAN and SRGAN on Algorithm 1's loop: who changes when, what each objective computes
(checked against the papers' formulas by hand), the cycle loss of an exact inverse pair, frozen features,
PatchGAN's receptive field, and determinism with dropout."""

import numpy
import pytest

import minigan
from minigan import Tensor, backend, gradcheck, nn, optim
from minigan.gans.cyclegan import CycleConsistent, CycleDiscriminators, CycleGAN, CycleGenerators, build_cyclegan
from minigan.gans.image_to_image import Pair, l1_loss
from minigan.gans.pix2pix import build_pix2pix, patch_discriminator
from minigan.gans.srgan import SRGAN, SuperResolution, build_srgan, sr_discriminator
from minigan.tools.data import DataLoader

from conftest import to_numpy
from strategies import random_array


def pairs(n=32, size=8, seed=0, low_size=None):
    """(sources, targets) in [−1, 1]: the target is the source negated (a mapping a network learns quickly)."""
    rng = numpy.random.default_rng(seed)
    sources = rng.uniform(-1, 1, (n, size, size, 1)).astype(numpy.float32)
    return sources, -sources


def batches(sources, targets, m=8, seed=0):
    loader = DataLoader(sources, m, seed=seed, labels=targets)
    while True:
        yield from loader


def tiny_pix2pix(seed=0, adversarial=True, dropout=0.5):
    minigan.seed(seed)
    return build_pix2pix(widths=(4, 8), patch_widths=(4, 8), dropout=dropout, adversarial=adversarial, lr=2e-3, seed=seed)


def snapshot(module):
    return [p.numpy().copy() for p in module.parameters()]


def changed(before, module):
    return [not numpy.array_equal(b, p.numpy()) for b, p in zip(before, module.parameters())]


def sigmoid(logits):
    return 1 / (1 + numpy.exp(-to_numpy(logits).astype(numpy.float64)))


# ----- the loop on image pairs ----------------------------------------------------------------------
@pytest.mark.parametrize("make", [tiny_pix2pix, lambda: build_cyclegan(width=4, blocks=1, patch_widths=(4, 8), seed=0)],
                         ids=["pix2pix", "cyclegan"])
def test_discriminator_step_changes_only_d_and_generator_step_only_g(make):
    gan = make()
    batch = next(batches(*pairs()))
    g, d = snapshot(gan.generator), snapshot(gan.discriminator)
    gan.discriminator_step(*gan.split_batch(batch))
    assert not any(changed(g, gan.generator)) and all(changed(d, gan.discriminator))
    gan = make()
    g, d = snapshot(gan.generator), snapshot(gan.discriminator)
    real, pair = gan.split_batch(batch)
    gan.generator_step(real.shape[0], pair)
    assert all(changed(g, gan.generator)) and not any(changed(d, gan.discriminator))
    assert all(not to_numpy(p.grad).any() for p in gan.discriminator.parameters())  # D frozen: no gradient at all


def test_g_sees_only_the_source_and_the_conditional_d_sees_source_and_image():
    gan = tiny_pix2pix()
    seen = []
    forward = gan.discriminator.forward
    gan.discriminator.forward = lambda x: seen.append(x.shape) or forward(x)
    sources, targets = pairs(8)
    real, pair = gan.split_batch((sources, targets))
    assert real is targets and gan.sample_noise(8).shape == (8, 0)  # no z: the noise is empty
    gan.discriminator_step(real, pair)
    assert seen == [(8, 8, 8, 2), (8, 8, 8, 2)]  # [s, y] and [s, G(s)], concatenated along channels
    with pytest.raises(TypeError, match="ImageToImageGAN.discriminator_step: expected the minibatch's Pair"):
        gan.discriminator_step(real, targets)
    with pytest.raises(ValueError, match=r"the source images must have shape \(8, H, W, C\)"):
        gan.discriminator_step(real, Pair(sources[:4], targets))


def test_same_seed_same_losses_and_resuming_continues_identically():
    """pix2pix's only noise is dropout: iteration t's masks come from (seed, t), resumed or not."""
    sources, targets = pairs()
    runs = []
    for _ in range(2):
        gan, data = tiny_pix2pix(seed=3), batches(sources, targets, seed=1)
        runs.append([gan.train_iteration(data) for _ in range(6)])
    assert runs[0] == runs[1]
    first, data = tiny_pix2pix(seed=3), batches(sources, targets, seed=1)
    before = [first.train_iteration(data) for _ in range(3)]
    resumed = tiny_pix2pix(seed=99)
    resumed.seed = 3
    resumed.load_state_dict(first.state_dict())
    assert before + [resumed.train_iteration(data) for _ in range(3)] == runs[0]


# ----- pix2pix ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("adversarial", [True, False])
def test_pix2pix_generator_loss_is_cgan_plus_100_l1(xp, adversarial):
    gan = tiny_pix2pix(adversarial=adversarial, dropout=0.0)
    sources, targets = pairs(8)
    fake = gan.generator(Tensor(xp.asarray(sources)))
    logits = gan.discriminator(Tensor(xp.asarray(numpy.concatenate([sources, fake.numpy()], axis=3))))
    l1 = numpy.abs(fake.numpy().astype(numpy.float64) - targets).mean()
    expected = 100 * l1 + (-numpy.log(sigmoid(logits.data)).mean() if adversarial else 0.0)
    loss, stats = gan.objective.generator_loss(gan, fake, gan.check_condition(Pair(sources, targets), 8, "test"))
    assert loss.item() == pytest.approx(expected, rel=1e-5) and float(stats["l1"]) == pytest.approx(l1, rel=1e-5)


def test_pix2pix_learns_a_paired_mapping_that_l1_measures():
    """target = −source on 8×8 noise: after 300 iterations G's L1 error is under 40% of where it began.
    A sign error in the L1 term, or a G step that does not update G, leaves it where it was or worse."""
    sources, targets = pairs(64)
    gan = tiny_pix2pix(seed=0)
    start = numpy.abs(gan.translate(sources) - targets).mean()
    data = batches(sources, targets, m=16)
    for _ in range(300):
        gan.train_iteration(data)
    assert numpy.abs(gan.translate(sources) - targets).mean() < 0.4 * start


def test_patchgan_logits_each_see_a_10_by_10_patch(xp):
    d = patch_discriminator(2, (3, 4)).eval()  # eval: batch norm from running statistics, so images don't mix
    image = Tensor(random_array(xp, (1, 28, 28, 2), 0, dtype=numpy.float32), requires_grad=True)
    logits = d(image)
    assert logits.shape == (1, 7, 7, 1)
    pick = xp.zeros(logits.shape, dtype=numpy.float32)
    pick[0, 3, 3, 0] = 1
    logits.backward(pick)
    rows, cols = numpy.nonzero(numpy.abs(to_numpy(image.grad)[0]).sum(axis=-1))
    # logit (3, 3) reads the input rows and columns 4·3 − 3 … 4·3 + 6: ten of them
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (9, 18, 9, 18)


def test_l1_loss_and_its_gradient(xp):
    a = Tensor(random_array(xp, (2, 3, 3, 1), 0), requires_grad=True)
    b = Tensor(random_array(xp, (2, 3, 3, 1), 1))
    assert l1_loss(a, b).item() == pytest.approx(float(abs(to_numpy(a.data) - to_numpy(b.data)).mean()), rel=1e-12)
    gradcheck(lambda t: l1_loss(t, b), [a])


# ----- CycleGAN -------------------------------------------------------------------------------------
class Scale(nn.Module):
    """x ↦ factor·x: with factors 2 and 1/2 an exact inverse pair (powers of two multiply exactly)."""

    def __init__(self, factor):
        self.factor = factor
        self.weight = nn.Parameter(backend.get_backend().xp.ones(1, numpy.float32))  # a parameter, so optimisers accept it

    def forward(self, x):
        return x * (self.factor * self.weight)


def scale_cyclegan(g_factor, f_factor):
    generators = CycleGenerators(Scale(g_factor), Scale(f_factor))
    discriminators = CycleDiscriminators(patch_discriminator(1, (3, 4)), patch_discriminator(1, (3, 4)))
    return CycleGAN(generators, discriminators, optim.Adam(generators.parameters()), optim.Adam(discriminators.parameters()))


def test_cycle_loss_is_zero_for_an_exact_inverse_pair_and_not_otherwise():
    sources, targets = pairs(8)
    for g_factor, f_factor, zero in ((2.0, 0.5, True), (2.0, 0.25, False)):
        gan = scale_cyclegan(g_factor, f_factor)
        pair = gan.check_condition(Pair(sources, targets), 8, "test")
        fake = gan.call_generator(None, pair)
        cycle = gan.objective.cycle_loss(gan, fake, pair).item()
        assert (cycle == 0.0) == zero
        if not zero:  # F(G(x)) = x/2 and G(F(y)) = y/2: each cycle misses by half the mean |·|
            assert cycle == pytest.approx(0.5 * numpy.abs(sources).mean() + 0.5 * numpy.abs(targets).mean(), rel=1e-6)
    identity = scale_cyclegan(1.0, 1.0)
    pair = identity.check_condition(Pair(sources, targets), 8, "test")
    assert identity.objective.identity_loss(identity, pair).item() == 0.0


def test_cyclegan_losses_are_the_least_squares_ones_with_lambda_10_and_half_lambda_identity():
    sources, targets = pairs(8)
    gan = scale_cyclegan(2.0, 0.25)
    pair = gan.check_condition(Pair(sources, targets), 8, "test")
    fake = gan.call_generator(None, pair)  # (F(y), G(x))
    on_device = lambda t: Tensor(backend.get_backend().asarray(t))
    d_x, d_y = (lambda t: to_numpy(gan.discriminator.d_x(on_device(t)).data)), (lambda t: to_numpy(gan.discriminator.d_y(on_device(t)).data))
    fx, fy = targets * 0.25, sources * 2.0
    expected_d = (0.5 * (((d_y(targets) - 1) ** 2).mean() + (d_y(fy) ** 2).mean())
                  + 0.5 * (((d_x(sources) - 1) ** 2).mean() + (d_x(fx) ** 2).mean()))
    loss, _ = gan.objective.discriminator_loss(gan, pair.target, fake, pair)
    assert loss.item() == pytest.approx(expected_d, rel=1e-5)
    cycle = numpy.abs(fy * 0.25 - sources).mean() + numpy.abs(fx * 2.0 - targets).mean()
    identity = numpy.abs(targets * 2.0 - targets).mean() + numpy.abs(sources * 0.25 - sources).mean()
    expected_g = ((d_y(fy) - 1) ** 2).mean() + ((d_x(fx) - 1) ** 2).mean() + 10 * cycle + 5 * identity
    loss, stats = gan.objective.generator_loss(gan, fake, pair)
    assert loss.item() == pytest.approx(expected_g, rel=1e-5)
    assert float(stats["cycle"]) == pytest.approx(cycle / 2, rel=1e-5) and float(stats["identity"]) == pytest.approx(identity / 2, rel=1e-5)
    no_identity, _ = CycleConsistent(identity_weight=0).generator_loss(gan, fake, pair)
    assert no_identity.item() == pytest.approx(expected_g - 5 * identity, rel=1e-5)


def test_cyclegan_translates_both_ways_and_needs_both_pairs_of_networks():
    gan = build_cyclegan(width=4, blocks=1, patch_widths=(4, 8), seed=0)
    sources, _ = pairs(4, size=28)
    assert gan.translate(sources).shape == (4, 28, 28, 1) and gan.translate(sources, gan.generator.f).shape == (4, 28, 28, 1)
    pair = gan.check_condition(Pair(sources, sources), 4, "test")
    scores = gan.call_discriminator(gan.call_generator(None, pair), pair)  # each domain's fakes judged by its own D
    assert isinstance(scores, Pair) and scores.source.shape == scores.target.shape == (4, 7, 7, 1)
    with pytest.raises(TypeError, match="CycleGAN: expected a CycleGenerators"):
        CycleGAN(nn.Sequential(), gan.discriminator, gan.generator_optimizer, gan.discriminator_optimizer)


# ----- SRGAN ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("factor, low", [(4, 7), (2, 14)])
def test_super_resolution_maps_low_to_28_by_28(xp, factor, low):
    g = SuperResolution(factor, width=4, blocks=1)
    out = g(Tensor(random_array(xp, (2, low, low, 1), 0, dtype=numpy.float32)))
    assert out.shape == (2, 28, 28, 1) and float(abs(to_numpy(out.data)).max()) < 1
    assert sr_discriminator(width=4)(out).shape == (2, 1)
    with pytest.raises(ValueError, match="factor must be 2, 4 or 8"):
        SuperResolution(3)


def test_srgan_loss_is_mse_plus_feature_plus_a_thousandth_of_the_adversarial_term():
    features = nn.Sequential(nn.Flatten(), nn.Linear(784, 5))  # a small φ standing in for the classifier's body
    minigan.seed(0)
    gan = build_srgan(factor=4, features=features, width=4, blocks=1, seed=0)
    rng = numpy.random.default_rng(0)
    low = rng.uniform(-1, 1, (6, 7, 7, 1)).astype(numpy.float32)
    high = rng.uniform(-1, 1, (6, 28, 28, 1)).astype(numpy.float32)
    pair = gan.check_condition(Pair(low, high), 6, "test")
    fake = gan.generator(pair.source)
    out = fake.numpy().astype(numpy.float64)
    phi = lambda images: to_numpy(features(Tensor(backend.get_backend().asarray(((images + 1) / 2).astype(numpy.float32)))).data).astype(numpy.float64)
    mse, feature = ((out - high) ** 2).mean(), ((phi(out) - phi(high)) ** 2).mean()
    adversarial = -numpy.log(sigmoid(gan.discriminator(fake).data)).mean()
    loss, stats = gan.objective.generator_loss(gan, fake, pair)
    assert loss.item() == pytest.approx(mse + 0.1 * feature + 1e-3 * adversarial, rel=1e-5)
    assert (float(stats["mse"]), float(stats["feature"])) == (pytest.approx(mse, rel=1e-5), pytest.approx(feature, rel=1e-4))
    mse_only, stats = SRGAN(feature_weight=0, adversarial_weight=0).generator_loss(gan, fake, pair)
    assert mse_only.item() == pytest.approx(mse, rel=1e-5) and set(stats) == {"mse"}


def test_srgan_never_trains_the_feature_network():
    features = nn.Sequential(nn.Flatten(), nn.Linear(784, 5))
    before = snapshot(features)
    gan = build_srgan(factor=4, features=features, width=4, blocks=1, seed=0)
    rng = numpy.random.default_rng(1)
    data = batches(rng.uniform(-1, 1, (16, 7, 7, 1)).astype(numpy.float32), rng.uniform(-1, 1, (16, 28, 28, 1)).astype(numpy.float32))
    for _ in range(2):
        gan.train_iteration(data)
    assert not any(changed(before, features)) and all(p.grad is None for p in features.parameters())
    with pytest.raises(ValueError, match="feature_weight > 0 needs the features"):
        SRGAN(features=None)
