"""Safe files (minigan/tools/io.py) and pictures (minigan/tools/plots.py)."""

import os

import numpy
import pytest

from minigan.tools import plots
from conftest import PNG_SIGNATURE
from minigan.tools.io import FileFormatError, atomic_write, load_checkpoint, load_npz, save_checkpoint, save_npz



def leftovers(directory):
    """Temporary files atomic_write might have left behind."""
    return [name for name in os.listdir(directory) if name.endswith(".tmp")]


# ----- atomic_write -------------------------------------------------------------------------------
def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with atomic_write(path) as handle:
        handle.write(b"new")
        assert path.read_bytes() == b"old"  # nothing visible until the block ends
    assert path.read_bytes() == b"new"
    with atomic_write(tmp_path / "text.txt", mode="w") as handle:
        handle.write("größe\n")
    assert (tmp_path / "text.txt").read_text(encoding="utf-8") == "größe\n"
    assert leftovers(tmp_path) == []


def test_atomic_write_keeps_the_old_file_when_the_body_raises(tmp_path):
    path = tmp_path / "checkpoint.npz"
    path.write_bytes(b"the last good checkpoint")
    with pytest.raises(RuntimeError, match="killed mid-write"):
        with atomic_write(path) as handle:
            handle.write(b"half a new chec")
            raise RuntimeError("killed mid-write")
    assert path.read_bytes() == b"the last good checkpoint"
    assert leftovers(tmp_path) == [] and sorted(os.listdir(tmp_path)) == ["checkpoint.npz"]


def test_atomic_write_creates_nothing_when_the_body_raises_on_a_new_file(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_write(tmp_path / "new.bin"):
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_atomic_write_gives_ordinary_permissions(tmp_path):
    with atomic_write(tmp_path / "f") as handle:
        handle.write(b"x")
    mask = os.umask(0)
    os.umask(mask)
    assert os.stat(tmp_path / "f").st_mode & 0o777 == 0o666 & ~mask


def test_atomic_write_refuses_bad_mode_and_missing_directory(tmp_path):
    with pytest.raises(ValueError, match="mode must be 'wb' or 'w', got 'a'"):
        with atomic_write(tmp_path / "f", mode="a"):
            pass
    with pytest.raises(FileNotFoundError, match="directory .*missing.* does not exist"):
        with atomic_write(tmp_path / "missing" / "f"):
            pass


# ----- npz ------------------------------------------------------------------------------------------
def test_save_and_load_npz_round_trip(tmp_path):
    arrays = {"a": numpy.arange(6, dtype=numpy.int16).reshape(2, 3), "b": numpy.float32(2.5) * numpy.ones(3, numpy.float32)}
    save_npz(tmp_path / "x.data", **arrays)  # the name is kept as given, no ".npz" appended
    loaded = load_npz(tmp_path / "x.data")
    assert sorted(loaded) == ["a", "b"]
    for key in arrays:
        assert loaded[key].dtype == arrays[key].dtype
        numpy.testing.assert_array_equal(loaded[key], arrays[key])


def test_save_npz_refuses_object_arrays(tmp_path):
    with pytest.raises(TypeError, match="'bad' has dtype object.*pickle"):
        save_npz(tmp_path / "x.npz", bad=numpy.array([{}, 1], dtype=object))
    assert os.listdir(tmp_path) == []


def test_load_npz_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no file at"):
        load_npz(tmp_path / "absent.npz")
    (tmp_path / "garbage.npz").write_bytes(b"\x00\x01garbage")
    with pytest.raises(FileFormatError, match="not an .npz file.*found b'\\\\x00\\\\x01ga'"):
        load_npz(tmp_path / "garbage.npz")


# ----- checkpoints ----------------------------------------------------------------------------------
def nested_state():
    rng = numpy.random.default_rng(0)
    noise = numpy.random.default_rng(42)
    noise.random(3)
    return {
        "generator": {"0.weight": rng.standard_normal((4, 3)).astype(numpy.float32), "0.bias": numpy.zeros(3, numpy.float32)},
        "discriminator": {"1.running_mean": numpy.arange(3, dtype=numpy.float64)},
        "g_optimizer": {"step": 300, "lr": 2e-4, "betas": [0.5, 0.999], "m": numpy.ones(7, numpy.float32), "empty": {}},
        "epoch": 3,
        "done": False,
        "note": None,
        "count": numpy.int64(12),
        "rng_state": noise.bit_generator.state,  # nested dict with 128-bit ints
    }


def assert_same_tree(actual, expected):
    assert type(actual) is type(expected) or (isinstance(expected, numpy.ndarray) and isinstance(actual, numpy.ndarray))
    if isinstance(expected, dict):
        assert list(actual) == list(expected)
        for key in expected:
            assert_same_tree(actual[key], expected[key])
    elif isinstance(expected, (numpy.ndarray, numpy.generic)):
        assert actual.dtype == expected.dtype and actual.shape == expected.shape
        assert actual.tobytes() == expected.tobytes()
    else:
        assert actual == expected


def test_checkpoint_round_trips_nested_state_and_metadata_exactly(tmp_path):
    state = nested_state()
    metadata = {"backend": "numpy", "config": {"batch_size": 64, "lr": 0.0002}, "tags": ["dcgan", "mnist"]}
    save_checkpoint(tmp_path / "ckpt.npz", state, metadata)
    loaded, loaded_metadata = load_checkpoint(tmp_path / "ckpt.npz")
    assert_same_tree(loaded, state)
    assert loaded_metadata == metadata
    restored = numpy.random.default_rng()
    restored.bit_generator.state = loaded["rng_state"]
    original = numpy.random.default_rng(42)
    original.random(3)
    assert restored.random() == original.random()
    keys = sorted(load_npz(tmp_path / "ckpt.npz"))  # arrays are stored flat under "/"-joined keys
    assert "generator/0.weight" in keys and "g_optimizer/m" in keys and "count" in keys
    assert leftovers(tmp_path) == []


def test_checkpoint_works_with_a_module_state_dict(tmp_path):
    from minigan import nn

    model = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 1))
    save_checkpoint(tmp_path / "m.npz", {"model": model.state_dict(), "epoch": 1})
    state, metadata = load_checkpoint(tmp_path / "m.npz")
    assert metadata == {}
    other = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 1))
    other.load_state_dict(state["model"])
    assert_same_tree(other.state_dict(), model.state_dict())


def test_checkpoint_takes_device_arrays_and_gives_them_back_on_the_host(tmp_path, xp):
    """What a training run on the GPU saves: device arrays are copied to the host, bytes unchanged."""
    from minigan import nn

    model = nn.Linear(3, 2)
    state = {"model": {name: p.data for name, p in model.named_parameters()}, "step": xp.asarray(7)}
    save_checkpoint(tmp_path / "device.npz", state)
    loaded, _ = load_checkpoint(tmp_path / "device.npz")
    assert isinstance(loaded["model"]["weight"], numpy.ndarray) and int(loaded["step"]) == 7
    numpy.testing.assert_array_equal(loaded["model"]["weight"], model.weight.numpy())
    assert loaded["model"]["weight"].dtype == numpy.float32


@pytest.mark.parametrize(
    "state, message",
    [
        ({"a/b": numpy.zeros(1)}, "key 'a/b' under '<root>' is not allowed"),
        ({"g": {1: numpy.zeros(1)}}, "key 1 under 'g' is not allowed"),
        ({"shape": (2, 3)}, "'shape' is a tuple: expected an array, a dict, a list"),
        ({"xs": [numpy.zeros(2)]}, "the list at 'xs' may hold only plain JSON values"),
        ({"f": print}, "'f' is a builtin_function_or_method"),
    ],
)
def test_checkpoint_refuses_what_cannot_round_trip(tmp_path, state, message):
    with pytest.raises(TypeError, match=message):
        save_checkpoint(tmp_path / "c.npz", state)
    with pytest.raises(TypeError, match="metadata must hold only plain JSON values"):
        save_checkpoint(tmp_path / "c.npz", {}, {"when": (1, 2)})
    assert os.listdir(tmp_path) == []


def test_corrupt_checkpoint_gives_a_clear_error(tmp_path):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, nested_state(), {"epoch": 3})
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])  # a copy interrupted a third of the way through
    with pytest.raises(FileFormatError, match="ckpt.npz' is a damaged or unreadable .npz file"):
        load_checkpoint(path)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(FileFormatError, match="not an .npz file"):
        load_checkpoint(path)
    numpy.savez(path, weights=numpy.zeros(3))
    with pytest.raises(FileFormatError, match="is an .npz file but not a minigan checkpoint.*'__checkpoint__'.*\\['weights'\\]"):
        load_checkpoint(path)
    assert issubclass(FileFormatError, ValueError)


def test_checkpoint_missing_an_array_its_header_names(tmp_path):
    path = tmp_path / "ckpt.npz"
    save_checkpoint(path, {"g": {"w": numpy.zeros(2)}})
    arrays = load_npz(path)
    del arrays["g/w"]
    save_npz(path, **arrays)
    with pytest.raises(FileFormatError, match="names an array 'g/w' that it does not contain"):
        load_checkpoint(path)


# ----- image_grid -----------------------------------------------------------------------------------
def test_image_grid_places_each_image_row_by_row():
    images = numpy.stack([numpy.full((2, 3), i, dtype=numpy.float32) for i in range(5)])  # (5, 2, 3), image i == i
    images[:, 0, 0] = 4.0  # mark every tile's top-left pixel
    grid = plots.image_grid(images, rows=2, value_range=(0, 4), padding=1, pad_value=0.5)
    assert grid.shape == (2 * 2 + 1, 3 * 3 + 2)  # 2 rows, ceil(5/2) = 3 columns of 2x3 tiles, 1-pixel gaps
    assert grid.dtype == numpy.float32
    for i in range(5):
        r, c = divmod(i, 3)
        tile = grid[r * 3 : r * 3 + 2, c * 4 : c * 4 + 3]
        assert tile[0, 0] == 1.0
        numpy.testing.assert_array_equal(tile.ravel()[1:], i / 4)
    numpy.testing.assert_array_equal(grid[2, :], 0.5)  # the gap between the rows
    numpy.testing.assert_array_equal(grid[:, 3], 0.5)  # the gap between columns 0 and 1
    numpy.testing.assert_array_equal(grid[3:, 8:], 0.5)  # the sixth cell is empty


def test_image_grid_takes_device_arrays_and_tensors(xp):
    from minigan import Tensor

    images = numpy.random.default_rng(0).uniform(size=(4, 28, 28, 1)).astype(numpy.float32)
    expected = plots.image_grid(images, value_range=(0, 1))
    numpy.testing.assert_array_equal(plots.image_grid(xp.asarray(images), value_range=(0, 1)), expected)
    numpy.testing.assert_array_equal(plots.image_grid(Tensor(xp.asarray(images)), value_range=(0, 1)), expected)


def test_image_grid_accepts_all_three_layouts_and_value_ranges():
    rng = numpy.random.default_rng(0)
    images = rng.uniform(-1, 1, size=(6, 28, 28, 1)).astype(numpy.float32)
    expected = plots.image_grid(images)
    numpy.testing.assert_array_equal(plots.image_grid(images[..., 0]), expected)
    numpy.testing.assert_array_equal(plots.image_grid(images.reshape(6, 784)), expected)
    numpy.testing.assert_allclose(plots.image_grid((images + 1) / 2, value_range=(0, 1)), expected, atol=1e-6)
    assert expected.shape == (2 * 28 + 1, 3 * 28 + 2)  # 6 images: a near-square 2 x 3 grid
    assert plots.image_grid(images, padding=0, rows=1).shape == (28, 6 * 28)
    tile = plots.image_grid(numpy.array([[[-1.0, 0.0], [1.0, 3.0]]]), padding=0)
    numpy.testing.assert_array_equal(tile, [[0.0, 0.5], [1.0, 1.0]])  # [-1, 1] -> [0, 1], clipped above


@pytest.mark.parametrize(
    "images, kwargs, error, message",
    [
        (numpy.zeros((2, 28, 28, 3)), {}, ValueError, r"must be \(n, h, w, 1\), \(n, h, w\) or \(n, h\*w\), got shape \(2, 28, 28, 3\)"),
        (numpy.zeros((2, 783)), {}, ValueError, "square number of pixels"),
        (numpy.zeros((0, 4, 4)), {}, ValueError, "got no images"),
        (numpy.zeros((2, 4, 4)), {"value_range": (1, 0)}, ValueError, "low < high"),
        (numpy.zeros((2, 4, 4)), {"rows": 0}, ValueError, "rows must be None or an int >= 1, got 0"),
        (numpy.zeros((2, 4, 4)), {"padding": -1}, ValueError, "padding must be an int >= 0"),
    ],
)
def test_image_grid_errors_name_the_argument(images, kwargs, error, message):
    with pytest.raises(error, match=message):
        plots.image_grid(images, **kwargs)


# ----- PNG files ------------------------------------------------------------------------------------
def read_png(path):
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == PNG_SIGNATURE
    return imread(path)


def test_save_image_grid_writes_a_png_matplotlib_reads_back(tmp_path):
    images = numpy.linspace(-1, 1, 4 * 28 * 28, dtype=numpy.float32).reshape(4, 28, 28, 1)
    path = tmp_path / "samples.png"
    grid = plots.save_image_grid(path, images, zoom=2)
    picture = read_png(path)
    assert picture.shape[:2] == (2 * grid.shape[0], 2 * grid.shape[1])
    for channel in range(3):  # grey: R = G = B = the grid value in 8 bits, exactly
        numpy.testing.assert_array_equal(picture[::2, ::2, channel], numpy.round(grid * 255) / 255)
        numpy.testing.assert_array_equal(picture[1::2, 1::2, channel], picture[::2, ::2, channel])
    assert leftovers(tmp_path) == []


def test_save_image_rows_draws_each_array_as_one_row(tmp_path):
    first, second = numpy.zeros((3, 5, 5, 1), numpy.float32), numpy.ones((3, 5, 5, 1), numpy.float32)
    grid = plots.save_image_rows(tmp_path / "rows.png", [first, second], zoom=1)
    numpy.testing.assert_array_equal(grid, plots.image_grid(numpy.concatenate([first, second]), rows=2, value_range=(0.0, 1.0)))
    assert grid.shape == (2 * 5 + 1, 3 * 5 + 2)
    assert (grid[:5, :5] == 0).all() and (grid[6:, :5] == 1).all()          # the first array above, the second below
    numpy.testing.assert_array_equal(read_png(tmp_path / "rows.png")[..., 0], numpy.round(grid * 255) / 255)
    with pytest.raises(ValueError, match=r"save_image_rows: every row must hold the same number of images, got \[3, 2\]"):
        plots.save_image_rows(tmp_path / "bad.png", [first, second[:2]])


def history(steps=60):
    rng = numpy.random.default_rng(0)
    t = numpy.arange(steps)
    return {
        "d_loss": list(1.4 - 0.3 * numpy.exp(-t / 20) + 0.1 * rng.standard_normal(steps)),
        "g_loss": list(0.7 + 0.5 * numpy.exp(-t / 20) + 0.1 * rng.standard_normal(steps)),
        "d_real": list(numpy.clip(0.5 + 0.3 * numpy.exp(-t / 20) + 0.05 * rng.standard_normal(steps), 0, 1)),
        "d_fake": [float(v) for v in numpy.clip(0.5 - 0.3 * numpy.exp(-t / 20), 0, 1)],
    }


def test_plot_training_writes_a_png_matplotlib_reads_back(tmp_path):
    path = tmp_path / "training.png"
    plots.plot_training(path, history(), title="MLP GAN on MNIST")
    picture = read_png(path)
    assert picture.shape[:2] == (600, 800) and picture.std() > 0
    plots.plot_training(path, history(5), smoothing=0.0)  # replaces the old picture
    assert read_png(path).shape[:2] == (600, 800)
    assert leftovers(tmp_path) == []


def test_training_figure_draws_the_history_without_writing_a_file():
    steps = history(60)
    figure = plots.training_figure(steps, smoothing=0.0)
    losses, scores = figure.axes
    numpy.testing.assert_allclose(losses.lines[0].get_ydata(), steps["d_loss"])   # raw curves, step 1 … 60
    numpy.testing.assert_allclose(scores.lines[1].get_ydata(), steps["d_fake"])
    numpy.testing.assert_array_equal(losses.lines[0].get_xdata(), numpy.arange(1, 61))
    critic = plots.training_figure(steps, critic=True)
    assert len(critic.axes) == 3  # the Wasserstein estimate's panel
    numpy.testing.assert_allclose(critic.axes[2].lines[0].get_ydata(), numpy.subtract(steps["d_real"], steps["d_fake"]))
    with pytest.raises(KeyError, match="history is missing d_real, d_fake"):
        plots.training_figure({"d_loss": [1.0], "g_loss": [1.0]})


def test_plot_training_checks_the_history(tmp_path):
    with pytest.raises(KeyError, match="history is missing d_real, d_fake"):
        plots.plot_training(tmp_path / "t.png", {"d_loss": [1.0], "g_loss": [1.0]})
    bad = history(4)
    bad["g_loss"] = bad["g_loss"][:3]
    with pytest.raises(ValueError, match="equal length.*'g_loss': 3"):
        plots.plot_training(tmp_path / "t.png", bad)
    with pytest.raises(ValueError, match="smoothing must be in"):
        plots.plot_training(tmp_path / "t.png", history(4), smoothing=1.0)
    assert os.listdir(tmp_path) == []


def test_smooth_is_a_bias_corrected_moving_average():
    numpy.testing.assert_allclose(plots.smooth([2.0, 2.0, 2.0]), [2.0, 2.0, 2.0])  # no pull towards zero
    numpy.testing.assert_allclose(plots.smooth([0.0, 1.0], weight=0.5), [0.0, 0.5 / 0.75])  # s_2 = 0.5 * 0 + 0.5 * 1, over 1 - 0.5**2
    out = plots.smooth([numpy.nan, 1.0, numpy.nan])
    assert numpy.isnan(out[0]) and out[1] == pytest.approx(1.0) and out[2] == pytest.approx(1.0)


def test_a_grid_of_nan_images_is_refused_rather_than_drawn_black(tmp_path):
    images = numpy.zeros((4, 28, 28), numpy.float32)
    images[2, 3, 4] = numpy.nan
    with pytest.raises(ValueError, match="image_grid: 1 of the 3136 pixel values are NaN; expected numbers"):
        plots.save_image_grid(tmp_path / "grid.png", images)
    assert not (tmp_path / "grid.png").exists()
    with pytest.raises(ValueError, match=r"value_range must be finite with low < high, got \(-inf, inf\)"):
        plots.image_grid(numpy.zeros((4, 28, 28)), value_range=(-numpy.inf, numpy.inf))
    with pytest.raises(ValueError, match="pad_value must be a number in \\[0, 1\\], got 'grey'"):
        plots.image_grid(numpy.zeros((4, 28, 28)), pad_value="grey")


@pytest.mark.parametrize("weight", [1.0, 2, -0.1, float("nan"), "0.9"])
def test_smooth_refuses_a_weight_outside_0_1(weight):
    with pytest.raises(ValueError, match="smooth: weight must be a number in \\[0, 1\\)"):
        plots.smooth([1.0, 2.0, 3.0], weight=weight)


def test_plot_curves_draws_named_curves_with_references_and_checks_them(tmp_path):
    path = tmp_path / "curve.png"
    epochs = numpy.arange(1, 6)
    plots.plot_curves(path, {"test error": (epochs, [20.0, 9.0, 4.0, 2.5, 2.0]), "averaged": (epochs, [80.0, 30.0, 9.0, 4.0, 3.0])},
                      xlabel="epoch", ylabel="test error (%)", title="learning curve", references={"paper": 0.93}, log_y=True)
    picture = read_png(path)
    assert picture.shape[:2] == (450, 700) and picture.std() > 0
    with pytest.raises(ValueError, match="curve 'bad' needs x and y of one equal, non-zero length"):
        plots.plot_curves(tmp_path / "t.png", {"bad": ([1, 2], [1.0])}, xlabel="x", ylabel="y")
    with pytest.raises(ValueError, match="curves must be a non-empty dict"):
        plots.plot_curves(tmp_path / "t.png", {}, xlabel="x", ylabel="y")
    assert leftovers(tmp_path) == []
