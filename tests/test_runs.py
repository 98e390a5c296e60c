"""The run harness (minigan/tools/runs/) as a user's own script meets it: a script of a dozen lines gets the
examples' flags, a checkpoint every epoch, --resume continuing bit for bit from any step, a refused
non-empty --out, one-line errors with their exit statuses, and runs of several variants.

The example scripts' own tests (test_example.py, test_example_guards.py, test_image_examples.py, ...) run
the same harness through every script; these use it directly, with a GAN the harness has never seen.
"""

import os

import numpy
import pytest

import minigan
from minigan.gans import models
from minigan.tools import plots, runs
from minigan.tools.cli import positive_int
from minigan.tools.data import load_mnist
from minigan.tools.io import load_checkpoint

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
    assert sorted(os.listdir(tmp_path / "whole")) == ["checkpoint.npz", "grid_001.png", "grid_002.png", "history.npz", "training.png"]


def test_a_users_script_refuses_to_lose_an_earlier_run(tmp_path, small_mnist, capsys):
    out = tmp_path / "run"
    assert my_script(["--data", small_mnist, "--steps", "2", "--out", str(out)]) == 0
    capsys.readouterr()
    assert my_script(["--data", small_mnist, "--steps", "2", "--out", str(out)]) == runs.EXIT_USAGE
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "already holds an earlier run's files" in error and "--resume" in error
    (out / "notes.txt").write_text("mine")  # not this script's: --overwrite leaves it
    assert my_script(["--data", small_mnist, "--steps", "2", "--out", str(out), "--overwrite"]) == 0
    assert (out / "notes.txt").read_text() == "mine"


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
