"""The run harness (minigan/tools/runs/) as a user's own script meets it: a script of a dozen lines gets the
examples' flags, a checkpoint every epoch, --resume continuing bit for bit from any step, a refused
non-empty --out, one-line errors with their exit statuses, and runs of several variants.

The example scripts' own tests (test_example.py, test_example_guards.py, test_image_examples.py, ...) run
the same harness through every script; these use it directly, with a GAN the harness has never seen.
"""

import errno
import os
import shutil
import subprocess
import sys

import numpy
import pytest

import minigan
from minigan import backend
from minigan.gans import models
from minigan.tools import plots, runs
from minigan.tools.cli import positive_int
from minigan.tools.data import load_mnist
from minigan.tools.io import load_checkpoint, save_checkpoint

from conftest import ROOT, example_path, load_example

SETTINGS = ("batch_size", "seed")


def my_parser():
    parser = runs.training_parser("my own GAN")
    runs.add_run_flags(parser, out="runs/mine", epochs=2, settings=SETTINGS)
    parser.add_argument("--batch-size", type=positive_int, default=50)
    return parser


def my_script(argv):
    """A user's whole training script: the MLP GAN on --data, a grid each epoch."""
    args = runs.parse_flags(my_parser(), argv)

    def train():
        run = runs.Run("mine.py", args, my_parser(), SETTINGS, outputs=("grid_*.png",), default_out="runs/mine",
                       fixed={"model": "mine"})
        images, _ = load_mnist(args.data, split="train", scale="sigmoid")
        minigan.seed(args.seed)
        gan = models.build_gan("mlp", seed=args.seed, images=images)
        run.start(gan, images)
        noise = gan.sample_noise(4, rng=runs.side_rng(args.seed))
        run.train(lambda path: plots.save_image_grid(path, gan.generate(noise).numpy(), rows=2), "grid_{epoch:03d}.png",
                  title="mine")

    return runs.run_script("mine.py", train)


def history(folder):
    with numpy.load(os.path.join(folder, "history.npz")) as f:
        return {name: f[name] for name in f.files}


def test_a_users_script_resumes_bit_for_bit_from_any_step(tmp_path, small_mnist, capsys):
    """8 steps an epoch: cut at step 5 (mid-epoch 1) and at step 11 (mid-epoch 2), each resumed in place,
    give the uninterrupted run's history and checkpoint, array for array."""
    common = ["--data", small_mnist, "--log-every", "4"]
    assert my_script([*common, "--out", str(tmp_path / "whole")]) == 0
    assert my_script([*common, "--steps", "5", "--out", str(tmp_path / "cut")]) == 0
    assert my_script(["--resume", str(tmp_path / "cut"), "--steps", "11"]) == 0
    assert my_script(["--resume", str(tmp_path / "cut" / "checkpoint.npz")]) == 0
    whole, cut = history(tmp_path / "whole"), history(tmp_path / "cut")
    assert set(whole) == set(cut) and len(whole["d_loss"]) == 16
    for name in whole:
        assert whole[name].tobytes() == cut[name].tobytes(), name
    with numpy.load(tmp_path / "whole" / "checkpoint.npz") as a, numpy.load(tmp_path / "cut" / "checkpoint.npz") as b:
        assert a.files == b.files
        for name in a.files:
            if not name.startswith("__"):  # the JSON of the tree and metadata: the same settings, another --steps
                assert a[name].tobytes() == b[name].tobytes(), name
    assert runs.folders.run_files(tmp_path / "whole") == ["checkpoint.npz", "grid_001.png", "grid_002.png", "history.npz", "training.png"]


def test_a_users_script_refuses_to_lose_an_earlier_run(tmp_path, small_mnist, capsys):
    out = tmp_path / "run"
    assert my_script(["--data", small_mnist, "--steps", "2", "--out", str(out)]) == 0
    capsys.readouterr()
    assert my_script(["--data", small_mnist, "--steps", "2", "--out", str(out)]) == runs.EXIT_USAGE
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "already holds an earlier run's files" in error and "--resume" in error
    assert my_script(["--data", small_mnist, "--steps", "2", "--out", str(out), "--overwrite"]) == 0
    (out / "notes.txt").write_text("mine")  # no run wrote it: --overwrite refuses rather than mix it into a new run
    assert my_script(["--data", small_mnist, "--steps", "2", "--out", str(out), "--overwrite"]) == runs.EXIT_USAGE
    assert "holds files that no run of mine.py wrote (notes.txt)" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "mine" and (out / "checkpoint.npz").exists()


def test_resuming_with_another_setting_or_another_scripts_checkpoint_is_one_line(tmp_path, small_mnist, capsys):
    out = tmp_path / "run"
    assert my_script(["--data", small_mnist, "--steps", "2", "--out", str(out)]) == 0
    capsys.readouterr()
    assert my_script(["--resume", str(out), "--batch-size", "20", "--steps", "4"]) == runs.EXIT_USAGE
    assert "--batch-size 20 contradicts the checkpoint" in capsys.readouterr().err
    other = runs.parse_flags(my_parser(), ["--resume", str(out)])
    with pytest.raises(runs.USER_ERRORS) as error:
        runs.Run("theirs.py", other, my_parser(), SETTINGS, fixed={"model": "theirs"})
    assert "records model 'mine', and theirs.py trains model 'theirs'" in str(error.value)


def test_a_run_of_variants_keeps_each_in_its_folder_and_measures_a_finished_one(tmp_path, small_mnist, capsys):
    """Two variants of one run: each trains in its own sub-folder with the variant's name in its checkpoint;
    resuming the run continues the one that was cut and only measures the one that had finished."""
    parser = my_parser()

    def script(argv, names=("a", "b")):
        args = runs.parse_flags(parser, argv)
        run = runs.Run("variants.py", args, parser, SETTINGS, outputs=("table.json",), default_out="runs/v", variants=names)
        images, _ = load_mnist(args.data, split="train", scale="sigmoid")
        made = {}
        for name in names:
            minigan.seed(args.seed)
            gan = models.build_gan("mlp", seed=args.seed, images=images)
            variant = run.variant(name).start(gan, images, epochs=1 if name == "a" else 2)
            variant.train(lambda path: None, "figure_{epoch:03d}.png", title=name, what=name, step="iteration")
            made[name] = gan.iteration
        return made

    assert script(["--data", small_mnist, "--steps", "10", "--out", str(tmp_path / "run")]) == {"a": 8, "b": 10}
    capsys.readouterr()
    assert script(["--resume", str(tmp_path / "run")]) == {"a": 8, "b": 16}
    assert "a: already trained (8 iterations" in capsys.readouterr().out
    for name in ("a", "b"):
        assert load_checkpoint(tmp_path / "run" / name / "checkpoint.npz")[1]["config"]["variant"] == name


# ----- a run owns its folder (issue 22's "data lost" findings) -------------------------------------------------
def test_two_real_processes_racing_for_one_out_one_is_refused_with_the_others_pid(tmp_path, small_mnist):
    """Started together, both used to pass the empty-folder check and silently replace each other's files."""
    out = tmp_path / "run"
    command = [sys.executable, example_path("mnist_gan"), "--model", "mlp", "--data", small_mnist, "--batch-size", "50",
               "--steps", "30", "--samples", "0", "--no-evaluate", "--out", str(out)]
    env = dict(os.environ, PYTHONPATH=ROOT, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1")
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    results = [(process.wait(timeout=300), process.stderr.read(), process.pid) for process in (first, second)]
    first.stdout.close(), second.stdout.close(), first.stderr.close(), second.stderr.close()
    assert sorted(code for code, _, _ in results) == [0, 2], results
    (_, error, _), (_, _, winner) = sorted(results, key=lambda result: -result[0])
    assert f"is in use by another run (PID {winner})" in error and error.count("\n") == 1
    assert len(history(out)["d_loss"]) == 30  # the winner's run, whole


def test_resuming_an_older_copy_in_the_folder_of_its_run_is_refused(tmp_path, small_mnist, capsys):
    """The copy of step 2 resumed in place would replace the run's step-6 checkpoint, history and grids."""
    out = tmp_path / "run"
    common = ["--data", small_mnist, "--out", str(out)]
    assert my_script([*common, "--steps", "2"]) == 0
    shutil.copy(out / "checkpoint.npz", out / "backup.npz")
    assert my_script(["--resume", str(out), "--steps", "6"]) == 0
    newest = (out / "checkpoint.npz").read_bytes()
    capsys.readouterr()
    assert my_script(["--resume", str(out / "backup.npz"), "--steps", "3"]) == runs.EXIT_USAGE
    assert "is not the latest checkpoint of its folder" in capsys.readouterr().err
    assert (out / "checkpoint.npz").read_bytes() == newest
    assert my_script(["--resume", str(out / "backup.npz"), "--steps", "3", "--out", str(tmp_path / "older")]) == 0
    assert len(history(tmp_path / "older")["d_loss"]) == 3 and (out / "checkpoint.npz").read_bytes() == newest


def test_overwrite_removes_every_file_of_the_earlier_run_even_a_variant_not_asked_for_now(tmp_path, small_mnist):
    """pix2pix --overwrite --variants cgan+l1 over a run of l1 used to keep the old l1/ for a later --resume to mix in."""
    pix2pix = load_example("pix2pix")
    out = tmp_path / "run"
    common = ["--data", small_mnist, "--train-images", "64", "--test-images", "20", "--batch-size", "16", "--width", "4",
              "--steps", "2", "--out", str(out)]
    assert pix2pix.main([*common, "--variants", "l1"]) == 0
    assert (out / "l1" / "checkpoint.npz").exists()
    assert pix2pix.main([*common, "--variants", "cgan+l1", "--overwrite"]) == 0
    assert not (out / "l1").exists() and (out / "cgan+l1" / "checkpoint.npz").exists()
    assert "l1/checkpoint.npz" not in runs.folders.read_manifest(out)["files"]


def test_a_run_of_another_script_is_not_overwritten(tmp_path, small_mnist, capsys):
    out = tmp_path / "run"
    assert my_script(["--data", small_mnist, "--steps", "2", "--out", str(out)]) == 0
    infogan = load_example("infogan")
    capsys.readouterr()
    assert infogan.main(["--data", small_mnist, "--steps", "1", "--out", str(out), "--overwrite"]) == runs.EXIT_USAGE
    assert "holds a run of mine.py, and --overwrite replaces only an earlier run of infogan.py" in capsys.readouterr().err


def test_the_pictures_of_an_epoch_come_after_its_checkpoint(tmp_path, small_mnist, capsys, monkeypatch):
    """A write that fails names the file and the last good checkpoint; no picture shows an unsaved state."""
    out = tmp_path / "run"
    real = plots.save_image_grid

    def full_disk(path, *args, **kwargs):
        if path.endswith("grid_002.png"):
            assert (out / "checkpoint.npz").exists()
            raise OSError(errno.ENOSPC, "No space left on device", path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(plots, "save_image_grid", full_disk)
    assert my_script(["--data", small_mnist, "--out", str(out)]) == 1
    error = capsys.readouterr().err
    assert "could not write the pictures of epoch 2" in error and "grid_002.png" in error
    assert f"the checkpoint {out / 'checkpoint.npz'} was written" in error
    state, _ = load_checkpoint(out / "checkpoint.npz")
    assert int(state["gan"]["counters"]["iteration"]) == 16  # epoch 2's checkpoint, written before its picture


@pytest.fixture
def small_disk(tmp_path):
    """A 64 MiB tmpfs, room for a few of the MLP GAN's checkpoints (mounting needs root; skipped, with the
    reason, where it cannot be had)."""
    folder = tmp_path / "disk"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64M", "tmpfs", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root): the full-disk check is not run")
    yield folder
    subprocess.run(["umount", str(folder)], capture_output=True)


def test_a_disk_too_small_for_the_checkpoint_is_refused_before_training(small_disk, small_mnist, capsys):
    (small_disk / "ballast").write_bytes(b"\0" * (63 * 2**20))  # 1 MiB left: the MLP GAN's checkpoint is larger
    assert my_script(["--data", small_mnist, "--out", str(small_disk / "run")]) == runs.EXIT_USAGE
    error = capsys.readouterr().err
    assert "need about" in error and "free some space, or choose another --out" in error and "training" not in error.split(":")[0]
    assert not (small_disk / "run").exists()


def test_a_train_classifier_weights_file_is_refused_on_a_full_disk_before_training(small_disk, capsys):
    (small_disk / "ballast").write_bytes(b"\0" * (64 * 2**20 - 64 * 1024))
    train_classifier = load_example("train_classifier")
    assert train_classifier.main(["--out", str(small_disk / "weights.npz"), "--epochs", "1"]) == runs.EXIT_USAGE
    assert "the classifier's weights need about" in capsys.readouterr().err


def test_an_empty_out_and_a_checkpoint_from_another_backend_are_said(tmp_path, small_mnist, capsys):
    assert my_script(["--data", small_mnist, "--steps", "2", "--out", ""]) == runs.EXIT_USAGE
    assert "--out '': expected the path of a folder" in capsys.readouterr().err
    out = tmp_path / "run"
    assert my_script(["--data", small_mnist, "--steps", "2", "--out", str(out)]) == 0
    state, metadata = load_checkpoint(out / "checkpoint.npz")
    save_checkpoint(out / "checkpoint.npz", state, metadata={**metadata, "backend": "cupy"})
    capsys.readouterr()
    assert my_script(["--resume", str(out), "--steps", "3"]) == 0
    now = backend.get_backend().name  # numpy, or the strict device double
    assert f"the checkpoint was trained on cupy; on {now} the losses will not match" in capsys.readouterr().out


def test_a_disk_that_fills_during_the_run_names_the_file_and_the_last_good_checkpoint(small_disk, small_mnist, capsys):
    """Something else fills the disk after epoch 1: epoch 2's checkpoint cannot be written. The line names it
    and epoch 1's checkpoint, which is intact, and no picture of the unsaved epoch 2 is left."""
    out = small_disk / "run"
    args = runs.parse_flags(my_parser(), ["--data", small_mnist, "--out", str(out)])

    def train():
        run = runs.Run("mine.py", args, my_parser(), SETTINGS, outputs=("grid_*.png",), fixed={"model": "mine"})
        images, _ = load_mnist(args.data, split="train", scale="sigmoid")
        minigan.seed(args.seed)
        gan = models.build_gan("mlp", seed=args.seed, images=images)
        run.start(gan, images)

        def figure(path):
            plots.save_image_grid(path, gan.generate(gan.sample_noise(4, rng=runs.side_rng(0))).numpy(), rows=2)
            if not (small_disk / "ballast").exists():  # another program takes the disk, all but 64 KiB
                (small_disk / "ballast").write_bytes(b"\0" * (shutil.disk_usage(small_disk).free - 64 * 1024))

        run.train(figure, "grid_{epoch:03d}.png", title="mine")

    assert runs.run_script("mine.py", train) == 1
    error = capsys.readouterr().err
    assert f"could not write the checkpoint {out / 'checkpoint.npz'}" in error
    assert f"the last good checkpoint is {out / 'checkpoint.npz'}" in error and error.count("\n") == 1
    state, _ = load_checkpoint(out / "checkpoint.npz")
    assert int(state["gan"]["counters"]["iteration"]) == 8  # epoch 1's, whole
    assert (out / "grid_001.png").exists() and not (out / "grid_002.png").exists()
