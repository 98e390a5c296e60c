"""The example scripts under bad input, interruption and divergence: nothing lost, nothing silently wrong.

Each test is one of the probes of a hostile new user, written almost as it was typed: a run into a
folder that holds a finished run, a resume of a checkpoint that --steps cut mid-epoch, --k larger than
an epoch, --lr 1e12, an --out that is a file, hand-edited checkpoints, Ctrl-C sent to a real process,
--samples 100000000, resuming with other flags. Every one ends in one line and a documented exit
status: 2 for a mistake (naming the flag or the file), 3 for divergence, 130 for Ctrl-C; never a
traceback, and never a result lost. All runs use a 64-image MNIST file: 8 DCGAN steps an epoch.
"""

import os
import subprocess
import sys

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigan import backend
from minigan.gans import models
from minigan.gans.gan import GAN
from minigan.tools import classifier
from minigan.tools.data import read_mnist
from minigan.tools.io import load_checkpoint, save_checkpoint
from minigan.tools.runs.folders import run_files

from conftest import ROOT, assert_usage_error, example_path, interrupt_while_training, load_example, write_mnist_subset

mnist_gan = load_example("mnist_gan")
conditional_gan = load_example("conditional_gan")
gaussian_1d = load_example("gaussian_1d")
mode_collapse = load_example("mode_collapse")
latent_space = load_example("latent_space")
train_classifier = load_example("train_classifier")

FAST = ["--batch-size", "8", "--samples", "0", "--no-evaluate", "--log-every", "100"]  # 64 images: 8 steps an epoch


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory):
    """The first 64 training images and 20 test images as a user's mnist.npz (8 minibatches of 8)."""
    return write_mnist_subset(tmp_path_factory, 64, 20)


@pytest.fixture(scope="module")
def other_mnist(tmp_path_factory):
    """Another 64 training images: a different --data of the same size."""
    arrays = read_mnist()
    path = tmp_path_factory.mktemp("data") / "other.npz"
    numpy.savez(path, x_train=arrays["x_train"][64:128], y_train=arrays["y_train"][64:128],
                x_test=arrays["x_test"][:20], y_test=arrays["y_test"][:20])
    return str(path)


def gan_run(*flags):
    return mnist_gan.main([*map(str, flags)])


def history(out):
    with numpy.load(os.path.join(out, "history.npz")) as f:
        return {k: f[k] for k in f.files}


def assert_same_history(a, b):
    assert a.keys() == b.keys()
    for name in a:
        numpy.testing.assert_array_equal(a[name], b[name])


def one_error_line(capsys, script, status_word="error"):
    """The script's stderr: exactly one line, starting with 'SCRIPT: error:' (or another word)."""
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith(f"{script}: {status_word}"), err
    return err


def run_script_process(name, *flags, env=None):
    environment = dict(os.environ, PYTHONPATH=ROOT, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", **(env or {}))
    return subprocess.run([sys.executable, example_path(name), *map(str, flags)], capture_output=True, text=True,
                          cwd=ROOT, env=environment, timeout=300)


# ----- 1. a new run never destroys an earlier one -------------------------------------------------------
def test_a_new_run_into_a_folder_holding_a_finished_run_is_refused_and_the_run_survives(tmp_path, tiny_mnist, capsys):
    out = tmp_path / "run"
    assert gan_run("--data", tiny_mnist, *FAST, "--epochs", 2, "--out", out) == 0
    before = {name: (out / name).read_bytes() for name in run_files(out)}
    capsys.readouterr()
    assert gan_run("--data", tiny_mnist, *FAST, "--steps", 3, "--out", out) == 2  # the README's "quick look"
    err = one_error_line(capsys, "mnist_gan.py")
    assert f"--resume {out / 'checkpoint.npz'}" in err and "--overwrite" in err
    assert {name: (out / name).read_bytes() for name in run_files(out)} == before  # not one byte changed


def test_overwrite_replaces_the_earlier_run_without_mixing_its_grids_in(tmp_path, tiny_mnist, capsys):
    out = tmp_path / "run"
    assert gan_run("--data", tiny_mnist, *FAST, "--epochs", 2, "--out", out) == 0
    assert (out / "samples_epoch_002.png").exists()
    assert gan_run("--data", tiny_mnist, *FAST, "--steps", 3, "--out", out, "--overwrite") == 0
    assert not (out / "samples_epoch_002.png").exists()  # the old run's later grid is gone, not left beside the new
    assert len(history(out)["d_loss"]) == 3
    (out / "notes.txt").write_text("mine")  # no run wrote it: --overwrite refuses instead of mixing it into a new run
    capsys.readouterr()
    assert gan_run("--data", tiny_mnist, *FAST, "--steps", 3, "--out", out, "--overwrite") == 2
    assert "holds files that no run of mnist_gan.py wrote (notes.txt)" in one_error_line(capsys, "mnist_gan.py")
    assert (out / "notes.txt").read_text() == "mine" and len(history(out)["d_loss"]) == 3


@pytest.mark.parametrize("script, flags, output", [
    ("gaussian_1d", ["--iterations", "2"], "histogram.png"),
    ("mode_collapse", ["--iterations", "2", "--batch-size", "8"], "mode_collapse.png"),
])
def test_the_small_examples_refuse_to_overwrite_their_output_unasked(script, flags, output, tmp_path, capsys):
    example = load_example(script)
    (tmp_path / output).write_bytes(b"an earlier result")
    assert example.main([*flags, "--out", str(tmp_path)]) == 2
    assert "--overwrite" in one_error_line(capsys, f"{script}.py")
    assert (tmp_path / output).read_bytes() == b"an earlier result"
    assert example.main([*flags, "--out", str(tmp_path), "--overwrite"]) == 0
    assert (tmp_path / output).read_bytes()[:4] == b"\x89PNG"


def test_help_documents_the_output_rule_overwrite_and_the_exit_statuses():
    result = run_script_process("mnist_gan", "--help")
    text = " ".join(result.stdout.split())
    assert result.returncode == 0
    for words in ("--overwrite", "new or empty", "--resume", "2 a mistake", "3 training diverged", "130 stopped by Ctrl-C"):
        assert words in text


# ----- 2. a checkpoint cut mid-epoch resumes at its very step ----------------------------------------
def test_steps_10_then_steps_20_resumed_matches_an_uninterrupted_steps_20_run(tmp_path, tiny_mnist):
    assert gan_run("--data", tiny_mnist, *FAST, "--steps", 10, "--out", tmp_path / "cut") == 0
    state, metadata = load_checkpoint(tmp_path / "cut" / "checkpoint.npz")
    assert metadata["position"]["epoch"] == 2 and metadata["position"]["step"] == 2 and not metadata["position"]["finished"]
    assert metadata["position"]["data_order"]["minibatches_used"] == 2 and metadata["position"]["steps_per_epoch"] == 8
    assert gan_run(*FAST, "--steps", 20, "--resume", tmp_path / "cut" / "checkpoint.npz") == 0  # into its own folder
    assert gan_run("--data", tiny_mnist, *FAST, "--steps", 20, "--out", tmp_path / "whole") == 0
    assert_same_history(history(tmp_path / "cut"), history(tmp_path / "whole"))


def test_a_five_step_checkpoint_resumed_with_epochs_1_finishes_that_epoch(tmp_path, tiny_mnist, capsys):
    assert gan_run("--data", tiny_mnist, *FAST, "--steps", 5, "--out", tmp_path / "run") == 0
    assert gan_run(*FAST, "--resume", tmp_path / "run" / "checkpoint.npz", "--epochs", 1) == 0
    assert "already finished" not in capsys.readouterr().err
    state, metadata = load_checkpoint(tmp_path / "run" / "checkpoint.npz")
    assert int(state["gan"]["counters"]["iteration"]) == 8 and metadata["position"]["finished"]
    assert len(history(tmp_path / "run")["d_loss"]) == 8


@pytest.fixture(scope="module")
def uninterrupted_mlp_run(tiny_mnist, tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "run"
    assert gan_run("--data", tiny_mnist, *FAST, "--epochs", 2, "--model", "mlp", "--out", out) == 0
    return history(out)


@pytest.mark.slow
@settings(max_examples=4)
@given(cut=st.integers(1, 15))
def test_mnist_gan_cut_at_any_step_and_resumed_matches_the_uninterrupted_run(cut, tiny_mnist, uninterrupted_mlp_run, tmp_path_factory):
    """A drawn --steps cut of a 2-epoch MLP GAN run (dropout, batch norm), resumed to its end, against
    the run that was never cut."""
    folder = tmp_path_factory.mktemp("cut")
    assert gan_run("--data", tiny_mnist, *FAST, "--epochs", 2, "--model", "mlp", "--steps", cut, "--out", folder) == 0
    assert gan_run(*FAST, "--resume", folder / "checkpoint.npz") == 0  # --epochs 2 comes from the checkpoint
    assert_same_history(history(folder), uninterrupted_mlp_run)


# ----- 3. a run that cannot train is refused before it starts, with the numbers ----------------------
@pytest.mark.parametrize("flags, message", [
    (["--k", "1000"], "--k 1000: an epoch of"),
    (["--batch-size", "6", "--k", "11"], "has 10 minibatches of 6 (64 images)"),   # k one more than the batches
    (["--batch-size", "65"], "--batch-size 65 is larger than the 64 training images"),
    (["--model", "mlp", "--batch-size", "1"], "--batch-size 1: this model's batch norm (BatchNorm1d)"),
])
def test_a_run_that_cannot_train_is_refused_before_it_starts(flags, message, tmp_path, tiny_mnist, capsys):
    assert gan_run("--data", tiny_mnist, "--samples", "10", "--no-evaluate", *flags, "--out", tmp_path / "run") == 2
    assert message in one_error_line(capsys, "mnist_gan.py")
    assert not (tmp_path / "run").exists()  # a refused run leaves nothing behind, not even its new folder


def test_conditional_gan_refuses_a_batch_larger_than_the_data(tmp_path, tiny_mnist, capsys):
    assert conditional_gan.main(["--data", tiny_mnist, "--batch-size", "100", "--out", str(tmp_path / "run")]) == 2
    assert "--batch-size 100 is larger than the 64 training images" in one_error_line(capsys, "conditional_gan.py")


# ----- 4. divergence: one line, the step, the statistic, the last good checkpoint ----------------------
def test_divergence_names_the_step_the_statistic_and_the_last_good_checkpoint(tmp_path, tiny_mnist, monkeypatch, capsys):
    real_iteration = GAN.train_iteration

    def diverging(self, batches):  # what --lr 1e12 does, at a step of our choosing: step 2 of epoch 2
        stats = real_iteration(self, batches)
        return dict(stats, d_loss=float("nan")) if self.iteration == 10 else stats

    monkeypatch.setattr(GAN, "train_iteration", diverging)
    out = tmp_path / "run"
    assert gan_run("--data", tiny_mnist, *FAST, "--out", out) == 3
    err = one_error_line(capsys, "mnist_gan.py", "stopped")
    assert "training diverged at epoch 2 step 2 (generator step 10): d_loss is nan" in err
    assert f"the last good checkpoint is {out / 'checkpoint.npz'}" in err
    state, _ = load_checkpoint(out / "checkpoint.npz")
    assert int(state["gan"]["counters"]["iteration"]) == 8             # the end of epoch 1: finite all the way
    assert numpy.isnan(history(out)["d_loss"][9]) and len(history(out)["d_loss"]) == 10  # history.npz, NaN row included


def test_lr_1e20_diverges_at_step_1_in_one_line_without_a_traceback(tmp_path, tiny_mnist):
    result = run_script_process("mnist_gan", "--data", tiny_mnist, *FAST, "--lr", "1e20", "--out", tmp_path / "run")
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "training diverged at epoch 1 step 1" in result.stderr and "no checkpoint was written before it" in result.stderr


# ----- 5. user mistakes: one line naming the flag or the file, exit status 2 -----------------------------
def bad_outputs(tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    return {"a file": tmp_path / "a_file", "/dev/null": "/dev/null", "under a file": tmp_path / "a_file" / "out",
            "unwritable": "/proc/minigan_out"}


@pytest.fixture(scope="module")
def generator_checkpoint(tmp_path_factory):
    """A checkpoint as mnist_gan.py writes it, of an untrained MLP GAN, for latent_space.py."""
    path = tmp_path_factory.mktemp("gan") / "checkpoint.npz"
    save_checkpoint(path, {"gan": models.build_gan("mlp", seed=0).state_dict(), "epoch": numpy.array(1)},
                    metadata={"config": {"model": "mlp"}, "epoch": 1})
    return path


SCRIPTS = {  # how to start each script quickly; {data} and {checkpoint} are filled in
    "mnist_gan": ["--data", "{data}", *FAST, "--steps", "1"],
    "conditional_gan": ["--data", "{data}", "--batch-size", "8", "--eval-per-digit", "0", "--steps", "1"],
    "gaussian_1d": ["--iterations", "2"],
    "mode_collapse": ["--iterations", "2", "--batch-size", "8"],
    "latent_space": ["--checkpoint", "{checkpoint}", "--pairs", "1", "--steps", "2", "--pool", "20"],
}


@pytest.mark.parametrize("where", ["a file", "/dev/null", "under a file", "unwritable"])
@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_checks_out_before_it_works(script, where, tmp_path, tiny_mnist, generator_checkpoint, capsys):
    flags = [flag.format(data=tiny_mnist, checkpoint=generator_checkpoint) for flag in SCRIPTS[script]]
    out = bad_outputs(tmp_path)[where]
    assert load_example(script).main([*flags, "--out", str(out)]) == 2
    err = one_error_line(capsys, f"{script}.py")
    assert f"--out {str(out)!r}" in err
    assert "step" not in capsys.readouterr().out  # nothing was trained


@pytest.mark.parametrize("where", ["a file", "/dev/null", "under a file", "unwritable"])
def test_train_classifier_checks_out_before_training(where, tmp_path, monkeypatch, capsys):
    def must_not_train(**options):
        raise AssertionError("trained before --out was checked")

    monkeypatch.setattr(train_classifier, "train_classifier", must_not_train)
    out = bad_outputs(tmp_path)[where]
    out = os.path.join(out, "classifier.npz") if where in ("under a file", "unwritable") else out
    assert train_classifier.main(["--epochs", "1", "--out", str(out)]) == 2
    assert f"--out {str(out)!r}" in one_error_line(capsys, "train_classifier.py")


def test_train_classifier_prints_progress_within_an_epoch(monkeypatch):
    arrays = read_mnist()
    images = (arrays["x_train"][:48, ..., None] / 255).astype(numpy.float32)
    monkeypatch.setattr(classifier, "load_mnist", lambda data, split, scale: (images, arrays["y_train"][:48].astype(numpy.int64)))
    lines = []
    classifier.train_classifier(epochs=1, batch_size=8, log=lines.append, log_every=2)
    assert [line.split("  ")[:2] for line in lines[:2]] == [["epoch 1/1", "step 2/6"], ["epoch 1/1", "step 4/6"]]
    assert lines[-1].startswith("epoch 1/1  train loss")  # and the epoch's own line at its end


def test_mode_collapse_under_an_unusable_backend_is_one_line(tmp_path):
    if backend.cupy_available():
        pytest.skip("CuPy works here: MINIGAN_BACKEND=cupy is not a mistake")
    result = run_script_process("mode_collapse", "--iterations", "2", "--out", tmp_path / "run", env={"MINIGAN_BACKEND": "cupy"})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("mode_collapse.py: error: backend 'cupy' needs CuPy") and result.stderr.count("\n") == 1


def test_mode_collapse_with_an_unwritable_out_is_one_line_without_a_traceback():
    result = run_script_process("mode_collapse", "--iterations", "2", "--out", "/proc/x")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == "mode_collapse.py: error: --out '/proc/x': cannot create the folder (No such file or directory)\n"


@pytest.fixture(scope="module")
def cut_checkpoint(tmp_path_factory, tiny_mnist):
    """A DCGAN checkpoint of mnist_gan.py cut at step 3 of epoch 1 (its folder)."""
    out = tmp_path_factory.mktemp("run") / "run"
    assert gan_run("--data", tiny_mnist, *FAST, "--steps", 3, "--out", out) == 0
    return out / "checkpoint.npz"


def edited(checkpoint, folder, edit):
    state, metadata = load_checkpoint(checkpoint)
    edit(state, metadata)
    path = folder / "checkpoint.npz"
    save_checkpoint(path, state, metadata)
    return path


HAND_EDITS = {
    "unknown model name": (lambda state, meta: meta["config"].update(model="vae"), "records model 'vae'; --model must be one of dcgan, mlp"),
    "missing history": (lambda state, meta: state.pop("history"), "has no training history"),
    "epoch -3": (lambda state, meta: state.update(epoch=numpy.array(-3)), "records epoch -3; expected a non-negative integer"),
    "batch size 0": (lambda state, meta: meta["config"].update(batch_size=0), "records batch_size 0, which --batch-size refuses"),
    "position edited": (lambda state, meta: meta["position"].update(step=7), "records epoch 1 step 7, but its GAN has made 3"),
    "history too short": (lambda state, meta: state["history"].update(d_loss=state["history"]["d_loss"][:1]), "holds a history 'd_loss' of shape (1,)"),
    "weights of another shape": (lambda state, meta: state["gan"]["generator"].update({"0.weight": numpy.zeros((2, 2), numpy.float32)}),
                                 "holds a GAN state that does not fit these networks"),
    # accepted silently before (issue 22): each would have resumed a run that never was
    "NaN in the history": (lambda state, meta: state["history"]["d_loss"].__setitem__(1, numpy.nan),
                           "holds a history 'd_loss' with a value that is not finite, at step 2"),
    "finished flipped": (lambda state, meta: meta["position"].update(finished=True), "records position finished True"),
    "loader seed changed": (lambda state, meta: meta["position"]["data_order"].update(loader_seed=7),
                            "records position data_order.loader_seed 7"),
    "counters disagree": (lambda state, meta: state["gan"]["counters"].update(discriminator_step_count=numpy.array(9)),
                          "records the counter discriminator_step_count 9, and 3 iterations"),
    "a counter that is a setting": (lambda state, meta: state["gan"]["counters"].update(discriminator_steps=numpy.array(0)),
                                    "records the counter(s) discriminator_steps"),
}


@pytest.mark.parametrize("edit", HAND_EDITS)
def test_a_hand_edited_checkpoint_is_one_line_naming_the_file(edit, cut_checkpoint, tiny_mnist, tmp_path, capsys):
    change, message = HAND_EDITS[edit]
    path = edited(cut_checkpoint, tmp_path, change)
    assert gan_run("--data", tiny_mnist, *FAST, "--resume", path) == 2
    err = one_error_line(capsys, "mnist_gan.py")
    assert f"--resume: {str(path)!r}" in err and message in err, err


def test_latent_space_names_a_checkpoint_whose_weights_do_not_fit(generator_checkpoint, tmp_path, capsys):
    path = edited(generator_checkpoint, tmp_path, lambda state, meta: state["gan"]["generator"].update(
        {"0.weight": numpy.zeros((2, 2), numpy.float32)}))
    assert latent_space.main(["--checkpoint", str(path), "--out", str(tmp_path / "out")]) == 2
    assert f"--checkpoint: {str(path)!r} holds a GAN state that does not fit the mlp networks" in one_error_line(capsys, "latent_space.py")


# ----- 6. Ctrl-C: finish the step, write the checkpoint and history.npz, say where, exit 130 -------------
def test_sigint_to_a_training_process_stops_it_cleanly_and_the_run_resumes_exactly(tmp_path, tiny_mnist):
    out = tmp_path / "run"
    environment = dict(os.environ, PYTHONPATH=ROOT, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1")
    status, stderr = interrupt_while_training("mnist_gan", ["--data", tiny_mnist, *FAST, "--epochs", "1000", "--log-every", "1",
                                                            "--out", out], "epoch 1/1000  step 1/8", environment)
    assert status == 130 and "Traceback" not in stderr, stderr
    checkpoint = out / "checkpoint.npz"
    assert stderr.strip().splitlines()[-1].endswith(f"continue with --resume {checkpoint}")
    state, metadata = load_checkpoint(checkpoint)
    done = int(state["gan"]["counters"]["iteration"])
    assert done >= 1 and len(history(out)["d_loss"]) == done  # the step in progress finished; history.npz written
    assert not [name for name in os.listdir(out) if name.endswith(".tmp")]

    # The checkpoint holds a whole iteration, not half of one: resumed, the run is the uninterrupted run.
    # Both run as children with the interrupted run's environment: another BLAS thread count in the test
    # process would sum in another order and differ in the last bits for that reason alone.
    def child_run(*flags):
        return subprocess.run([sys.executable, example_path("mnist_gan"), *map(str, flags)], capture_output=True,
                              cwd=ROOT, env=environment, timeout=300).returncode
    assert child_run(*FAST, "--resume", checkpoint, "--steps", done + 2, "--epochs", 2) == 0
    assert child_run("--data", tiny_mnist, *FAST, "--steps", done + 2, "--out", tmp_path / "whole") == 0
    assert_same_history(history(out), history(tmp_path / "whole"))


def test_temporary_files_of_killed_writes_are_removed_by_the_next_run(tmp_path, tiny_mnist, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / ".checkpoint.npz.k1ll3d9x.tmp").write_bytes(b"half a checkpoint")  # as atomic_write leaves it under kill -9
    assert gan_run("--data", tiny_mnist, *FAST, "--steps", 2, "--out", out) == 0  # not an earlier result: no refusal
    assert not (out / ".checkpoint.npz.k1ll3d9x.tmp").exists()
    (out / ".history.npz.a2b4c6d8.tmp").write_bytes(b"")
    assert gan_run(*FAST, "--resume", out / "checkpoint.npz", "--steps", 3) == 0
    assert not [name for name in os.listdir(out) if name.endswith(".tmp")]
    assert "removed 1 temporary file(s)" in capsys.readouterr().out


# ----- 9. absurd sample counts ---------------------------------------------------------------------------
def test_samples_100000000_is_refused_naming_the_limit(tmp_path, tiny_mnist, capsys):
    assert gan_run("--data", tiny_mnist, "--samples", "100000000", "--out", tmp_path / "run") == 2
    err = one_error_line(capsys, "mnist_gan.py")
    assert "--samples 100000000: the final samples would need about 584.1 GiB of memory" in err and "at most" in err
    assert "training" not in capsys.readouterr().out


# ----- 10. resuming with other flags ---------------------------------------------------------------------
@pytest.mark.parametrize("flag, value, recorded", [
    ("--model", "mlp", "dcgan"), ("--batch-size", "16", "8"), ("--k", "2", "1"), ("--seed", "1", "0"),
    ("--lr", "0.001", "0.0002"), ("--generator-loss", "minimax", "non-saturating"),
])
def test_resuming_with_a_flag_that_contradicts_the_checkpoint_names_both_values(flag, value, recorded, cut_checkpoint,
                                                                               tiny_mnist, tmp_path, capsys):
    assert gan_run("--data", tiny_mnist, *FAST, "--resume", cut_checkpoint, "--out", tmp_path / "new", flag, value) == 2
    err = one_error_line(capsys, "mnist_gan.py")
    assert f"{flag} {value} contradicts the checkpoint" in err and f"whose run has {flag} {recorded}" in err


def test_the_data_checksum_is_recorded_and_checked_on_resume(cut_checkpoint, tiny_mnist, other_mnist, tmp_path, capsys):
    _, metadata = load_checkpoint(cut_checkpoint)
    assert metadata["data"]["path"] == tiny_mnist and metadata["data"]["examples"] == 64
    assert len(metadata["data"]["sha256"]) == 64
    assert gan_run("--data", other_mnist, *FAST, "--resume", cut_checkpoint, "--out", tmp_path / "new") == 2
    err = one_error_line(capsys, "mnist_gan.py")
    assert f"--data: the training data {other_mnist!r}" in err and f"trained on, {tiny_mnist!r}" in err and "sha256" in err


def test_resume_takes_data_and_epochs_from_the_checkpoint_and_a_new_epochs_is_a_note(cut_checkpoint, tmp_path, capsys):
    assert gan_run(*FAST, "--resume", cut_checkpoint, "--out", tmp_path / "a", "--steps", 4) == 0  # no --data: the checkpoint's
    assert gan_run(*FAST, "--resume", cut_checkpoint, "--out", tmp_path / "b", "--steps", 4, "--epochs", 3) == 0
    assert "note: the run was started for 5 epochs; it now goes on to --epochs 3" in capsys.readouterr().out


# ----- 11. issue 22's findings in the scripts: each accepted silently, or a traceback, before ---------------------
def test_r1_every_without_r1_is_refused(capsys):
    assert_usage_error(mnist_gan.parse_args, ["--r1-every", "4"], "--r1-every 4: it spaces the R1 penalty, which is off", capsys)
    assert_usage_error(mnist_gan.parse_args, ["--r1-every", "4", "--objective", "wgan-gp"], "--r1-every 4", capsys)
    assert mnist_gan.parse_args(["--r1", "10", "--r1-every", "4"]).r1_every == 4


def test_one_sample_says_it_is_not_evaluated(tmp_path, tiny_mnist, capsys):
    assert gan_run("--data", tiny_mnist, "--batch-size", 8, "--steps", 1, "--samples", 1, "--out", tmp_path / "run") == 0
    assert "not evaluated: --samples 1 (the evaluation needs at least 2)" in capsys.readouterr().out


def test_an_edited_model_is_blamed_on_the_state_not_on_the_data(cut_checkpoint, tmp_path, capsys):
    state, metadata = load_checkpoint(cut_checkpoint)
    edited = tmp_path / "edited.npz"
    save_checkpoint(edited, state, metadata={**metadata, "config": {**metadata["config"], "model": "mlp"}})
    assert gan_run(*FAST, "--resume", edited, "--out", tmp_path / "new") == 2
    err = one_error_line(capsys, "mnist_gan.py")
    assert "holds a GAN state that does not fit these networks" in err and "sha256" not in err


def test_memory_for_a_huge_batch_or_width_is_refused_before_anything_is_built(tmp_path, tiny_mnist, capsys):
    assert mode_collapse.main(["--batch-size", "100000000", "--out", str(tmp_path / "ring")]) == 2
    assert "--batch-size 100000000: one minibatch's noise, activations and gradients would need at least" in \
        one_error_line(capsys, "mode_collapse.py")
    pix2pix = load_example("pix2pix")
    assert pix2pix.main(["--data", tiny_mnist, "--width", "100000", "--out", str(tmp_path / "wide")]) == 2
    assert "use at most --width" in one_error_line(capsys, "pix2pix.py")
    assert not (tmp_path / "ring").exists() and not (tmp_path / "wide").exists()


def test_more_images_than_the_data_hold_is_refused_when_typed_and_a_note_by_default(tmp_path, tiny_mnist, capsys):
    pix2pix = load_example("pix2pix")
    common = ["--data", tiny_mnist, "--width", "4", "--batch-size", "8", "--steps", "1", "--variants", "l1"]
    assert pix2pix.main([*common, "--train-images", "100000", "--out", str(tmp_path / "a")]) == 2
    assert "--train-images 100000: " + tiny_mnist + " has 64 training images; use at most --train-images 64" in \
        one_error_line(capsys, "pix2pix.py")
    assert pix2pix.main([*common, "--train-images", "2", "--batch-size", "4", "--out", str(tmp_path / "b")]) == 2
    assert "--batch-size 4 is larger than the 2 training images" in one_error_line(capsys, "pix2pix.py")
    assert pix2pix.main([*common, "--out", str(tmp_path / "c")]) == 0  # the default 25,000 and 10,000: all there are
    out = capsys.readouterr().out
    assert "has 64 training images, fewer than the default --train-images 25000: using them all" in out
    assert "has 20 test images, fewer than the default --test-images 10000" in out


def test_resuming_a_run_with_variants_it_did_not_train_names_those_it_did(tmp_path, tiny_mnist, capsys):
    pix2pix = load_example("pix2pix")
    common = ["--data", tiny_mnist, "--width", "4", "--batch-size", "8", "--test-images", "20"]
    assert pix2pix.main([*common, "--steps", "1", "--variants", "l1", "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    assert pix2pix.main(["--resume", str(tmp_path / "run"), "--variants", "cgan+l1"]) == 2
    assert "this run trained l1, not cgan+l1; continue it with --variants l1" in one_error_line(capsys, "pix2pix.py")


def test_latent_space_uses_the_averaged_generator_and_reads_a_wasserstein_run(tmp_path, tiny_mnist, capsys):
    common = ["--data", tiny_mnist, "--batch-size", "8", "--steps", "1", "--samples", "0", "--no-evaluate"]
    assert gan_run(*common, "--ema", "--out", tmp_path / "ema") == 0
    assert gan_run(*common, "--objective", "wgan-gp", "--out", tmp_path / "critic") == 0
    capsys.readouterr()
    gan, model = latent_space.load_generator(str(tmp_path / "ema" / "checkpoint.npz"))
    assert "using the averaged generator (beta 0.999), as that run's samples did" in capsys.readouterr().out
    averaged = load_checkpoint(tmp_path / "ema" / "checkpoint.npz")[0]["average"]["parameters"]
    for name, parameter in gan.generator.named_parameters():  # G holds the average, not the raw weights
        numpy.testing.assert_array_equal(backend.to_numpy(parameter.data), averaged[name])
    gan, model = latent_space.load_generator(str(tmp_path / "critic" / "checkpoint.npz"))  # once refused as not fitting
    assert model == "dcgan" and gan.iteration == 1


def test_a_divergence_names_the_scripts_own_step_sizes(tmp_path, tiny_mnist, capsys):
    """InfoGAN's G blown up by --generator-lr 1e300 stops at the first non-finite statistic (status 3), and
    the line suggests this script's learning rates and loss weight, not a --lr it does not have."""
    infogan = load_example("infogan")
    flags = ["--data", tiny_mnist, "--batch-size", "8", "--steps", "6", "--generator-lr", "1e300", "--samples", "0", "--no-measure"]
    assert infogan.main([*flags, "--out", str(tmp_path / "run")]) == 3
    err = one_error_line(capsys, "infogan.py", "stopped")
    assert "training diverged at" in err and "(try a smaller --generator-lr or --discriminator-lr or --lambda-continuous)" in err
