"""examples/pix2pix.py, cyclegan.py, srgan.py and context_encoder.py: quick runs write their figures, checkpoints and
measurements; an earlier run is never overwritten unasked; --resume continues a run exactly; every flag
is explained; bad flags are one-line errors. Small data and small networks, so each run takes seconds."""

import json
import os

import numpy
import pytest

from minigan.tools.io import is_temporary, load_checkpoint

from conftest import PNG_SIGNATURE, assert_usage_error, load_example, write_mnist_subset

SCRIPTS = {name: load_example(name) for name in ("pix2pix", "cyclegan", "srgan", "context_encoder")}
VARIANTS = {"pix2pix": ("cgan+l1", "l1"), "cyclegan": ("cyclegan", "gan-alone"), "srgan": ("mse", "srgan"),
            "context_encoder": ("rec+adv", "rec")}  # what a default run trains
SMALL = {"pix2pix": ["--width", 4], "cyclegan": ["--width", 2, "--blocks", 1], "srgan": ["--width", 4, "--blocks", 1],
         "context_encoder": ["--width", 4]}


@pytest.fixture(scope="module")
def small_mnist(tmp_path_factory):
    """The first 256 training images and 60 test images (smaller than conftest's: three scripts, two variants each)."""
    return write_mnist_subset(tmp_path_factory, 256, 60)


def run(name, small_mnist, out, *flags):
    return SCRIPTS[name].main([*map(str, ["--data", small_mnist, "--out", out, "--batch-size", 16, "--log-every", 1,
                                          *SMALL[name], *flags])])


def history(path):
    with numpy.load(path) as f:
        return {key: f[key] for key in f.files}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_quick_run_writes_each_variants_figure_and_checkpoint_and_the_measurements(name, small_mnist, tmp_path, capsys):
    out = tmp_path / "run"
    assert run(name, small_mnist, out, "--steps", 3) == 0
    printed = capsys.readouterr().out
    for variant in VARIANTS[name]:
        folder = out / variant
        for figure in ("figure_epoch_001.png", "training.png"):
            assert (folder / figure).read_bytes()[:8] == PNG_SIGNATURE
        state, metadata = load_checkpoint(folder / "checkpoint.npz")
        assert int(state["gan"]["counters"]["iteration"]) == 3 and metadata["config"]["variant"] == variant
        assert not [f for f in os.listdir(folder) if is_temporary(f)]  # no temporary files left
    measured = json.loads((out / "measurements.json").read_text())
    assert measured["test_images"] == 60 and all(any(row.startswith(v) for row in measured["rows"]) for v in VARIANTS[name])
    assert f"epoch 1/{3 if name == 'context_encoder' else 2}  step 3/" in printed and all(v in printed for v in VARIANTS[name])  # progress lines and the table
    if name != "cyclegan":
        assert (out / "comparison.png").read_bytes()[:8] == PNG_SIGNATURE


def test_an_earlier_run_is_refused_without_resume_and_resume_matches_the_uninterrupted_run(small_mnist, tmp_path, capsys):
    """256 images in minibatches of 16: the first part stops at iteration 4 of epoch 1's 16, and the resumed
    run continues from that very step (the checkpoint records it, ``minigan/tools/runs/checkpoints.py``)."""
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    common = ["--variants", "cgan+l1"]
    assert run("pix2pix", small_mnist, whole, "--steps", 6, *common) == 0
    assert run("pix2pix", small_mnist, parts, "--steps", 4, *common) == 0
    capsys.readouterr()
    assert run("pix2pix", small_mnist, parts, "--steps", 6, *common) == 2
    error = capsys.readouterr().err
    assert "already holds a run of pix2pix.py (cgan+l1/checkpoint.npz)" in error and f"--resume {parts}" in error
    assert SCRIPTS["pix2pix"].main(["--resume", str(parts), "--steps", "6", "--log-every", "1", *common]) == 0
    expected, resumed = history(whole / "cgan+l1" / "history.npz"), history(parts / "cgan+l1" / "history.npz")
    assert len(expected["d_loss"]) == 6
    for key, values in expected.items():
        numpy.testing.assert_array_equal(resumed[key], values)
    capsys.readouterr()
    assert SCRIPTS["pix2pix"].main(["--resume", str(parts / "cgan+l1" / "checkpoint.npz"), "--steps", "8", "--lr", "1e-3", *common]) == 2
    assert "--lr 0.001 contradicts the checkpoint" in capsys.readouterr().err
    assert run("pix2pix", small_mnist, parts, "--steps", 6, *common, "--overwrite") == 0  # replaced, as asked
    numpy.testing.assert_array_equal(history(parts / "cgan+l1" / "history.npz")["d_loss"], expected["d_loss"])


def test_srgan_starts_from_the_mse_network_after_its_first_epochs_and_both_make_as_many_updates(small_mnist, tmp_path):
    """32 images in minibatches of 16: 2 iterations an epoch. The MSE network trains --epochs 1 + --srgan-epochs 1,
    its G after epoch 1 is kept, and SRGAN trains 1 epoch from it: 4 G updates each, counting the head start."""
    out = tmp_path / "sr"
    assert run("srgan", small_mnist, out, "--factor", 2, "--train-images", 32, "--epochs", 1, "--srgan-epochs", 1) == 0
    mse, _ = load_checkpoint(out / "mse" / "checkpoint.npz")
    srgan, metadata = load_checkpoint(out / "srgan" / "checkpoint.npz")
    start, _ = load_checkpoint(out / "mse" / "generator_epoch_001.npz")
    assert metadata["config"]["srgan_init"] == "mse" and metadata["config"]["factor"] == 2
    assert int(mse["gan"]["counters"]["iteration"]) == 4 and int(srgan["gan"]["counters"]["iteration"]) == 2
    assert start["generator"].keys() == srgan["gan"]["generator"].keys()
    changed = [not numpy.array_equal(start["generator"][k], mse["gan"]["generator"][k]) for k in start["generator"]]
    assert any(changed)  # the kept G is epoch 1's, not the MSE network's last


@pytest.mark.parametrize("name, flags", [
    ("pix2pix", ["--epochs", "--steps", "--train-images", "--test-images", "--batch-size", "--width", "--seed", "--backend",
                 "--out", "--overwrite", "--resume", "--data", "--log-every", "--l1-weight", "--lr", "--variants"]),
    ("cyclegan", ["--blocks", "--cycle-weight", "--identity-weight", "--lr", "--variants", "--resume", "--steps"]),
    ("srgan", ["--factor", "--blocks", "--srgan-epochs", "--feature-weight", "--adversarial-weight", "--lr", "--srgan-init", "--resume"]),
    ("context_encoder", ["--reconstruction-weight", "--adversarial-weight", "--lr", "--variants", "--train-images", "--resume", "--steps"]),
])
def test_help_explains_every_flag(name, flags, capsys):
    with pytest.raises(SystemExit) as exit_info:
        SCRIPTS[name].parse_args(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for flag in flags:
        assert flag in text


@pytest.mark.parametrize("name, flags, message", [
    ("pix2pix", ["--epochs", "0"], "--epochs: expected a positive integer, got 0"),
    ("pix2pix", ["--variants", "gan"], "--variants: invalid choice: 'gan'"),
    ("cyclegan", ["--identity-weight", "-1"], "--identity-weight: expected a number ≥ 0, got -1.0"),
    ("srgan", ["--factor", "3"], "--factor: invalid choice: 3"),
    ("srgan", ["--lr", "fast"], "--lr: expected a positive number, got 'fast'"),
    ("context_encoder", ["--adversarial-weight", "0"], "--adversarial-weight: expected a positive finite number, got 0"),
])
def test_bad_flags_are_rejected_with_a_message(name, flags, message, capsys):
    assert_usage_error(SCRIPTS[name].parse_args, flags, message, capsys)


def test_missing_data_is_a_one_line_error(tmp_path, capsys):
    assert SCRIPTS["cyclegan"].main(["--data", str(tmp_path / "nowhere.npz"), "--out", str(tmp_path / "x")]) == 2
    assert "cyclegan.py: error: no MNIST data at" in capsys.readouterr().err


def test_cyclegans_width_distance_is_the_shift_between_two_shifted_samples():
    widths = numpy.random.default_rng(0).uniform(1, 3, 500)
    distance = SCRIPTS["cyclegan"].wasserstein_1d
    assert distance(widths + 1.0, widths) == pytest.approx(1.0, rel=1e-12)  # W₁ of a shift is the shift
    assert distance(numpy.append(widths, numpy.nan), widths) == 0.0          # faint images (NaN widths) are left out
    assert numpy.isnan(distance(numpy.full(3, numpy.nan), widths))           # all faint: nothing to compare


def test_context_encoder_resumed_matches_the_uninterrupted_run(small_mnist, tmp_path):
    """The same check as pix2pix's above, for examples/context_encoder.py: 4 iterations, then 2 more from the
    checkpoint, give the history of 6 uninterrupted iterations, step for step."""
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    common = ["--variants", "rec+adv"]
    assert run("context_encoder", small_mnist, whole, "--steps", 6, *common) == 0
    assert run("context_encoder", small_mnist, parts, "--steps", 4, *common) == 0
    assert SCRIPTS["context_encoder"].main(["--resume", str(parts), "--steps", "6", "--log-every", "1", *common]) == 0
    uninterrupted, resumed = history(whole / "rec+adv" / "history.npz"), history(parts / "rec+adv" / "history.npz")
    assert uninterrupted.keys() == resumed.keys()
    for key in uninterrupted:
        numpy.testing.assert_array_equal(resumed[key], uninterrupted[key])
