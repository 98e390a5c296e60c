"""The training examples: examples/gaussian_1d.py learns its Gaussian; examples/mnist_gan.py's flags, outputs,
reproducibility and resume, on a small slice of MNIST."""

import os
import subprocess
import sys

import numpy
import pytest

from minigan.tools.io import is_temporary, load_checkpoint

from conftest import PNG_SIGNATURE, ROOT, assert_usage_error, example_path, load_example

SCRIPT = example_path("mnist_gan")
mnist_gan = load_example("mnist_gan")
gaussian_1d = load_example("gaussian_1d")


# ----- examples/gaussian_1d.py ----------------------------------------------------------------------
def test_gaussian_1d_learns_the_mean_and_draws_the_histogram(tmp_path, capsys):
    """600 iterations (about a second) bring G's mean within 0.25 of the data's 4 and its std near 1.25.
    A G that is never updated stays near its initial output around 0, a G loss of the wrong sign drives
    G away from the data, and a D that never learns gives G no direction: each ends far from 4."""
    mean, std = gaussian_1d.train(gaussian_1d.parse_args(["--iterations", "600", "--out", str(tmp_path)]))
    assert abs(mean - gaussian_1d.MEAN) < 0.25, mean
    assert 0.7 < std < 1.9, std
    assert (tmp_path / "histogram.png").read_bytes()[:8] == PNG_SIGNATURE
    report = capsys.readouterr().out
    assert report.count("iteration") == 3 and f"G learned mean {mean:.3f} and std {std:.3f}" in report
    again = gaussian_1d.parse_args(["--iterations", "600", "--out", str(tmp_path), "--overwrite"])  # the same folder again
    assert gaussian_1d.train(again) == (mean, std)


def test_gaussian_1d_runs_as_a_script(tmp_path):
    """As a reader runs it (``python examples/gaussian_1d.py``), with minigan on the path."""
    env = dict(os.environ, PYTHONPATH=ROOT, MPLBACKEND="Agg")  # works whether or not minigan is pip-installed
    result = subprocess.run([sys.executable, example_path("gaussian_1d"), "--iterations", "20", "--out", str(tmp_path)],
                            capture_output=True, text=True, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr
    assert "iteration    20" in result.stdout and "G learned mean" in result.stdout
    assert (tmp_path / "histogram.png").exists()
    assert gaussian_1d.parse_args([]).iterations == 2000  # the default run: a few seconds


def run(*flags):
    return mnist_gan.main([*map(str, flags)])


def history(out):
    with numpy.load(os.path.join(out, "history.npz")) as f:
        return {k: f[k] for k in f.files}


def test_dcgan_quick_run_writes_every_output(tmp_path, small_mnist, capsys):
    out = tmp_path / "run"
    assert run("--data", small_mnist, "--steps", 3, "--batch-size", 16, "--samples", 30, "--no-parzen", "--out", out) == 0
    for name in ("samples_epoch_001.png", "training.png"):
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE
    samples = numpy.load(out / "samples.npy")
    assert samples.shape == (30, 28, 28) and samples.dtype == numpy.float32
    assert samples.min() >= 0 and samples.max() <= 1
    state, metadata = load_checkpoint(out / "checkpoint.npz")
    assert metadata["config"]["model"] == "dcgan" and int(state["gan"]["counters"]["iteration"]) == 3
    assert len(history(out)["d_loss"]) == 3
    assert not [f for f in os.listdir(out) if is_temporary(f)]  # no temp files left
    report = capsys.readouterr().out
    assert "Fr" in report and "classes" in report  # the evaluation of the samples was printed


def test_same_seed_same_losses_and_resume_matches_the_uninterrupted_run(tmp_path, small_mnist):
    common = ["--model", "mlp", "--data", small_mnist, "--batch-size", 50, "--samples", 0, "--seed", 3]
    assert run(*common, "--epochs", 2, "--out", tmp_path / "a") == 0
    assert run(*common, "--epochs", 2, "--out", tmp_path / "b") == 0
    uninterrupted = history(tmp_path / "a")
    assert len(uninterrupted["g_loss"]) == 2 * 8
    for name, values in history(tmp_path / "b").items():
        numpy.testing.assert_array_equal(values, uninterrupted[name])

    assert run(*common, "--epochs", 1, "--out", tmp_path / "c") == 0
    assert run("--resume", tmp_path / "c" / "checkpoint.npz", "--epochs", 2, "--samples", 0, "--data", small_mnist, "--out", tmp_path / "c") == 0
    for name, values in history(tmp_path / "c").items():
        numpy.testing.assert_array_equal(values, uninterrupted[name])


def test_k_discriminator_steps_consume_k_minibatches(tmp_path, small_mnist):
    out = tmp_path / "k2"
    assert run("--model", "mlp", "--data", small_mnist, "--batch-size", 50, "--k", 2, "--samples", 0, "--epochs", 1, "--out", out) == 0
    state, _ = load_checkpoint(out / "checkpoint.npz")
    counters = state["gan"]["counters"]
    assert int(counters["generator_step_count"]) == 4 and int(counters["discriminator_step_count"]) == 8


def test_help_explains_every_flag():
    env = dict(os.environ, PYTHONPATH=ROOT)  # works whether or not minigan is pip-installed
    result = subprocess.run([sys.executable, SCRIPT, "--help"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert result.returncode == 0
    for flag in ("--model", "--epochs", "--steps", "--batch-size", "--k", "--generator-loss", "--ema", "--lr", "--seed",
                 "--backend", "--out", "--resume", "--data", "--samples"):
        assert flag in result.stdout


@pytest.mark.parametrize("flags, message", [
    (["--epochs", "0"], "--epochs: expected a positive integer, got 0"),
    (["--lr", "fast"], "--lr: expected a positive number, got 'fast'"),
    (["--model", "vae"], "--model: invalid choice: 'vae'"),
    (["--backend", "torch"], "--backend: invalid choice: 'torch'"),
    (["--ema", "1"], "--ema: expected a number between 0 and 1 (both excluded), got 1"),
    (["--ema", "0"], "--ema: expected a number between 0 and 1 (both excluded), got 0"),
    (["--ema", "nan"], "--ema: expected a number between 0 and 1 (both excluded), got nan"),
    (["--ema", "x"], "--ema: expected a number between 0 and 1, got 'x'"),
])
def test_bad_flags_are_rejected_with_a_message(flags, message, capsys):
    assert_usage_error(mnist_gan.parse_args, flags, message, capsys)


def test_missing_data_and_bad_checkpoint_are_one_line_errors(tmp_path, capsys):
    assert run("--data", tmp_path / "nowhere.npz", "--out", tmp_path / "x") == 2
    assert "no MNIST data at" in capsys.readouterr().err
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip file")
    assert run("--resume", broken, "--out", tmp_path / "y") == 2
    assert "error:" in capsys.readouterr().err


# ----- --ema: the averaged generator --------------------------------------------------------------------------
def test_ema_run_samples_the_averaged_g_and_resumes_exactly(tmp_path, small_mnist):
    common = ["--model", "mlp", "--ema", "--data", small_mnist, "--batch-size", 100, "--samples", 20, "--no-evaluate", "--seed", 2]
    assert run(*common, "--epochs", 2, "--out", tmp_path / "a") == 0
    assert run(*common, "--epochs", 1, "--out", tmp_path / "b") == 0
    assert run("--resume", tmp_path / "b" / "checkpoint.npz", "--epochs", 2, "--samples", 20, "--no-evaluate") == 0
    full, _ = load_checkpoint(tmp_path / "a" / "checkpoint.npz")
    resumed, metadata = load_checkpoint(tmp_path / "b" / "checkpoint.npz")
    assert metadata["ema"] == 0.999 and int(full["average"]["updates"]) == 8
    for name, values in full["average"]["parameters"].items():
        numpy.testing.assert_array_equal(values, resumed["average"]["parameters"][name])
    for name in ("samples.npy", "samples_raw.npy"):  # the averaged and the raw G's samples, the same after the resume
        numpy.testing.assert_array_equal(numpy.load(tmp_path / "a" / name), numpy.load(tmp_path / "b" / name))
    assert not numpy.array_equal(numpy.load(tmp_path / "a" / "samples.npy"), numpy.load(tmp_path / "a" / "samples_raw.npy"))
    # and the raw G's training is the run without --ema, bit for bit
    assert run(*[f for f in common if f != "--ema"], "--epochs", 2, "--out", tmp_path / "plain") == 0
    for name, values in history(tmp_path / "plain").items():
        numpy.testing.assert_array_equal(values, history(tmp_path / "a")[name])
    numpy.testing.assert_array_equal(numpy.load(tmp_path / "plain" / "samples.npy"), numpy.load(tmp_path / "a" / "samples_raw.npy"))


def test_ema_takes_its_beta_keeps_it_on_resume_and_refuses_another(tmp_path, small_mnist, capsys):
    out = tmp_path / "beta"
    common = ["--model", "mlp", "--data", small_mnist, "--batch-size", 100, "--samples", 0, "--no-evaluate"]
    assert run(*common, "--ema", "0.9", "--epochs", 1, "--out", out) == 0
    state, metadata = load_checkpoint(out / "checkpoint.npz")
    assert metadata["ema"] == 0.9 and float(state["average"]["beta"]) == 0.9
    assert run("--resume", out / "checkpoint.npz", "--ema", "0.99", "--epochs", 2, "--samples", 0) == 2
    assert "--ema 0.99 contradicts the checkpoint" in capsys.readouterr().err
    assert run("--resume", out / "checkpoint.npz", "--epochs", 2, "--samples", 0, "--no-evaluate") == 0
    state, _ = load_checkpoint(out / "checkpoint.npz")
    assert float(state["average"]["beta"]) == 0.9 and int(state["average"]["updates"]) == 8


def test_ema_on_resuming_a_run_without_it_is_a_one_line_error(tmp_path, small_mnist, capsys):
    out = tmp_path / "plain"
    assert run("--model", "mlp", "--data", small_mnist, "--batch-size", 100, "--samples", 0, "--epochs", 1, "--out", out) == 0
    assert run("--resume", out / "checkpoint.npz", "--ema", "--epochs", 2, "--samples", 0) == 2
    assert "--ema 0.999 contradicts the checkpoint" in capsys.readouterr().err
