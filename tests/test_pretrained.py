"""The shipped pretrained models (minigan/tools/pretrained/): each loads by name, samples or translates at
once, and scores on its fixed test sample what its record says; a missing, altered or unknown file is one line.

The tolerance of the re-scoring: the export measured the test sample on the stored weights with NumPy on the
machine in the record, and on that machine and backend the same computation gives the same numbers. On
another machine (another BLAS, another order of float32 sums) or the strict device double, a network's
outputs may differ in their last bits: a float score may move by far less than 0.1% of itself
(``RELATIVE``), and a sample that sits on the classifier's boundary between two digits may flip, moving a
count by one; ``FLIPS`` = 2 such flips are allowed per count. A wrong weight, a wrong network or a wrong
input scaling moves every one of these numbers by much more (an untrained G's Fréchet distance is 10 to
100 times a trained one's).
"""

import math
import os
import shutil

import numpy
import pytest

from minigan.engine import backend
from minigan.tools import pretrained
from minigan.tools.data import load_mnist

NAMES = ("dcgan", "mlp_gan", "conditional_gan", "acgan", "infogan", "semi_supervised", "wgan_gp", "pix2pix", "cyclegan", "srgan")
GENERATORS = ("dcgan", "mlp_gan", "conditional_gan", "acgan", "infogan", "semi_supervised", "wgan_gp")
TRANSLATORS = ("pix2pix", "cyclegan", "srgan")
RECORD_KEYS = ("command", "commit", "date", "machine", "cpu_seconds", "settings", "scores", "run_scores", "test_sample")
RELATIVE, FLIPS = 1e-3, 2

_loaded = {}


def shipped(name):
    """The model, loaded once per backend (loading is what the first test checks; the others use it)."""
    key = (name, backend.get_backend().name)
    if key not in _loaded:
        _loaded[key] = pretrained.load(name)
    return _loaded[key]


def assert_matches(measured, recorded, where):
    """Every number of ``recorded`` (a JSON tree) found again in ``measured``, within the module's tolerance."""
    if isinstance(recorded, dict):
        assert isinstance(measured, dict) and sorted(measured) == sorted(recorded), f"{where}: keys {sorted(measured)} != {sorted(recorded)}"
        for key in recorded:
            assert_matches(measured[key], recorded[key], f"{where}.{key}")
    elif isinstance(recorded, list):
        assert isinstance(measured, list) and len(measured) == len(recorded), f"{where}: {measured} != {recorded}"
        for i, (m, r) in enumerate(zip(measured, recorded)):
            assert_matches(m, r, f"{where}[{i}]")
    elif isinstance(recorded, bool) or recorded is None:
        assert measured == recorded, f"{where}: {measured!r} != {recorded!r}"
    elif isinstance(recorded, int):
        assert isinstance(measured, int) and abs(measured - recorded) <= FLIPS, f"{where}: measured {measured}, recorded {recorded}"
    else:
        assert math.isclose(measured, recorded, rel_tol=RELATIVE, abs_tol=1e-9), f"{where}: measured {measured!r}, recorded {recorded!r}"


def test_names_are_the_issues_ten():
    assert pretrained.names() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_each_model_loads_by_name_and_works_at_once(name):
    model = shipped(name)
    assert model.name == name and all(key in model.record for key in RECORD_KEYS)
    assert model.record["test_sample"]["scores"] and model.record["scores"]
    assert all(not network.training for network in model.networks.values())
    assert model.generator is not None and (model.discriminator is not None) == (name in ("dcgan", "wgan_gp", "semi_supervised"))
    assert all(len(values) == model.record["iterations"] for key, values in model.history.items() if key in ("d_loss", "g_loss"))
    if name in GENERATORS:
        images = model.sample(6, seed=1)
        assert images.shape == (6, 28, 28, 1) and images.dtype == numpy.float32
        assert images.min() >= 0 and images.max() <= 1 and images.std() > 0.05  # not blank
        numpy.testing.assert_array_equal(model.sample(6, seed=1), images)  # the seed fixes them
        assert not numpy.array_equal(model.sample(6, seed=2), images)
    else:
        digits = load_mnist(split="test", scale="sigmoid")[0][:6]
        outputs = model.translate(model.inputs(digits))
        assert outputs.shape == (6, 28, 28, 1) and outputs.dtype == numpy.float32 and 0 <= outputs.min() <= outputs.max() <= 1
        assert numpy.abs(outputs - digits).mean() < 0.2  # near the digits: an untrained G's output is not


@pytest.mark.parametrize("name", NAMES)
def test_the_test_sample_scores_as_recorded(name):
    model = shipped(name)
    assert_matches(model.rescore(), model.record["test_sample"]["scores"], name)


def test_semi_supervised_classifies_test_digits_with_its_recorded_error():
    model = shipped("semi_supervised")
    images, labels = load_mnist(split="test", scale="sigmoid")
    predicted = model.classify(images[:500])
    assert predicted.dtype == numpy.int64 and predicted.shape == (500,)
    assert model.record["scores"]["test_error"] == model.record["scores"]["test_errors"] / len(labels)
    assert model.record["scores"]["test_error"] < 0.2  # a 10-class guess errs 90% of the time


def test_conditional_models_draw_the_digit_asked_for():
    from minigan.tools.classifier import predict

    for name in ("conditional_gan", "acgan"):
        images = shipped(name).sample(50, seed=3, labels=7)
        assert (predict(images) == 7).mean() > 0.5, name


def test_cyclegan_translates_both_ways():
    model = shipped("cyclegan")
    digits = load_mnist(split="test", scale="sigmoid")[0][:4]
    thick = model.translate(model.inputs(digits, "thin_to_thick"), "thin_to_thick")
    thin = model.translate(model.inputs(digits, "thick_to_thin"), "thick_to_thin")
    assert thick.sum() > thin.sum()  # more ink one way than the other


def test_loading_leaves_the_seeded_random_stream_alone():
    backend.seed(5)
    first = backend.to_numpy(backend.default_rng().random(3))
    backend.seed(5)
    pretrained.load("dcgan")
    numpy.testing.assert_array_equal(backend.to_numpy(backend.default_rng().random(3)), first)


# ----- one line for each mistake ---------------------------------------------------------------------
def one_line(error):
    message = str(error.value)
    assert "\n" not in message
    return message


def shipped_copy(tmp_path, name):
    """A folder holding a copy of ``name``'s weights file and the shipped SHA256SUMS."""
    for file in (f"{name}.npz", pretrained.SUMS):
        shutil.copy(os.path.join(pretrained.WEIGHTS, file), tmp_path / file)
    return tmp_path


def test_an_unknown_name_lists_the_names():
    with pytest.raises(pretrained.PretrainedError) as error:
        pretrained.load("stylegan")
    assert "'stylegan'" in one_line(error) and all(name in one_line(error) for name in NAMES)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(pretrained.PretrainedError) as error:
        pretrained.load("srgan", weights=tmp_path)
    assert str(tmp_path / "srgan.npz") in one_line(error) and "export" in one_line(error)


def test_an_altered_file_fails_its_checksum(tmp_path):
    folder = shipped_copy(tmp_path, "pix2pix")
    path = folder / "pix2pix.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit inside the weights
    path.write_bytes(bytes(data))
    with pytest.raises(pretrained.PretrainedError) as error:
        pretrained.load("pix2pix", weights=folder)
    assert str(path) in one_line(error) and "sha256" in one_line(error)
    assert pretrained.load("pix2pix", weights=shipped_copy(tmp_path, "pix2pix")).name == "pix2pix"  # the copy itself is fine


def test_a_file_without_a_checksum_is_refused(tmp_path):
    folder = shipped_copy(tmp_path, "srgan")
    (folder / pretrained.SUMS).write_text("")
    with pytest.raises(pretrained.PretrainedError) as error:
        pretrained.load("srgan", weights=folder)
    assert "srgan.npz" in one_line(error) and pretrained.SUMS in one_line(error)


@pytest.mark.parametrize("call, words", [
    (lambda: shipped("dcgan").sample(3, labels=[1, 2, 3]), "labels"),
    (lambda: shipped("acgan").sample(3, labels=[1, 2]), "labels"),
    (lambda: shipped("acgan").sample(2, labels=[1, 10]), "labels"),
    (lambda: shipped("mlp_gan").sample(-1), "count"),
    (lambda: shipped("pix2pix").sample(3), "translate"),
    (lambda: shipped("dcgan").translate(numpy.zeros((2, 28, 28, 1), numpy.float32)), "sample"),
    (lambda: shipped("srgan").translate(numpy.zeros((2, 28, 28, 1), numpy.float32)), "(n, 7, 7, 1)"),
    (lambda: shipped("pix2pix").translate(numpy.full((2, 28, 28), 2.0, numpy.float32)), "[0, 1]"),
    (lambda: shipped("cyclegan").translate(numpy.zeros((2, 28, 28, 1), numpy.float32), "sideways"), "direction"),
    (lambda: shipped("dcgan").classify(numpy.zeros((2, 28, 28, 1), numpy.float32)), "classifier"),
    (lambda: shipped("mlp_gan").discriminate(numpy.zeros((2, 28, 28, 1), numpy.float32)), "discriminator"),
])
def test_a_wrong_argument_is_one_line_naming_it(call, words):
    with pytest.raises(pretrained.PretrainedError) as error:
        call()
    assert words in one_line(error)


def test_the_readme_quotes_the_records():
    """README.md's table is made from the shipped records (``export --readme``), not typed: it must be what they say now."""
    from minigan.tools.pretrained import export

    with open(export.README, encoding="utf-8") as handle:
        text = handle.read()
    assert f"{export.BEGIN}\n{export.readme_section()}\n{export.END}" in text


# ----- the exporter ------------------------------------------------------------------------------------
TIME_REPORT = """\tCommand being timed: "python examples/mnist_gan.py --model mlp --out run"
\tUser time (seconds): 1.50
\tSystem time (seconds): 0.30
\tElapsed (wall clock) time (h:mm:ss or m:ss): 0:02.50
\tMaximum resident set size (kbytes): 123456
\tExit status: 0
"""


def test_the_exporter_turns_a_finished_run_into_a_model_that_loads_by_name(tmp_path, small_mnist, monkeypatch, capsys):
    from conftest import load_example
    from minigan.tools.pretrained import export, scores

    run = tmp_path / "run"
    flags = ["--model", "mlp", "--data", small_mnist, "--batch-size", "50", "--epochs", "1", "--samples", "0", "--out", str(run)]
    assert load_example("mnist_gan").main(flags) == 0
    (tmp_path / "run.log").write_text(capsys.readouterr().out + TIME_REPORT, encoding="utf-8")
    monkeypatch.setattr(scores, "RECORD_SIZE", 20)  # a quick look: the sizes, not the measurement, are changed
    monkeypatch.setattr(scores, "TEST_SIZE", 20)
    folder = tmp_path / "weights"
    path = export.export(str(run), "mlp_gan", "abc1234", into=folder, environment="OPENBLAS_NUM_THREADS=1", say=lambda line: None)

    model = pretrained.load("mlp_gan", weights=folder)
    record = model.record
    assert (record["commit"], record["cpu_seconds"], record["wall_seconds"], record["environment"]) == ("abc1234", 1.8, 2.5, "OPENBLAS_NUM_THREADS=1")
    assert record["command"] == "python examples/mnist_gan.py --model mlp --out run" and record["settings"]["model"] == "mlp"
    assert record["iterations"] == 8 and len(model.history["d_loss"]) == 8 and record["finished"]
    assert model.rescore() == record["test_sample"]["scores"] and record["scores"]["n"] == 20
    with numpy.load(path, allow_pickle=False) as stored:
        assert stored["networks/generator/0.weight"].dtype == numpy.float16       # (1200, 100): a weight matrix
        assert stored["networks/generator/1.running_var"].dtype == numpy.float32   # (1200,): a batch-norm statistic
    assert pretrained.recorded_sums(folder) == {"mlp_gan.npz": pretrained.file_sha256(path)}

    with pytest.raises(pretrained.PretrainedError) as error:  # the run is the MLP GAN, not DCGAN
        export.export(str(run), "dcgan", "abc1234", into=folder, say=lambda line: None)
    assert "not a run of dcgan" in one_line(error)
    (tmp_path / "run.log").write_text("no report here", encoding="utf-8")
    with pytest.raises(pretrained.PretrainedError) as error:
        export.export(str(run), "mlp_gan", "abc1234", into=folder, say=lambda line: None)
    assert "/usr/bin/time -v" in one_line(error)
