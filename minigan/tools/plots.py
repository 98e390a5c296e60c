"""Pictures of a GAN at work: a grid of samples, and the training curves.

Everything here runs headless (on a server, in CI, over SSH): figures are drawn with Matplotlib's
object-oriented API on an explicit Agg canvas, never through ``pyplot``, so no window is opened and
the global Matplotlib backend of your session (e.g. inline plots in Jupyter) is left alone. PNGs are
written with ``minigan.tools.io.atomic_write``: an interrupted run never leaves a half-written picture.

    image_grid(images)               -> a 2-D NumPy array in [0, 1]: the images tiled row by row
    save_image_grid(path, images)    -> that grid as a grey-scale PNG
    save_image_rows(path, rows)      -> a figure of rows of images in [0, 1] (inputs, each method's outputs, truth)
    plot_training(path, history)     -> losses, and mean D(x) against D(G(z)), per step (for a Wasserstein
                                        critic: its scores and its estimate E[D(x)] − E[D(G(z))])
    training_figure(history)         -> the same panels as a Matplotlib Figure, to show inline (a notebook)
    plot_curves(path, curves)        -> a few named curves on one axis (a learning curve), with reference lines
"""

import math
import numbers

import numpy

from minigan.engine.backend import to_numpy
from .io import atomic_write


# ----- a grid of images -----------------------------------------------------------------------
def image_grid(images, rows=None, value_range=(-1.0, 1.0), padding=1, pad_value=0.5):
    """Tile grey-scale images into one 2-D array, filled row by row, with values in [0, 1].

    Args:
        images: n square images as (n, h, w, 1), (n, h, w) or flat (n, h*w) -- e.g. MNIST's
            (n, 28, 28, 1) or an MLP generator's (n, 784). NumPy, CuPy or a minigan Tensor.
        rows: number of grid rows (at most n); default ceil(n / cols) with cols = ceil(sqrt(n)), a
            near-square grid. Columns are then ceil(n / rows); unused cells are filled with ``pad_value``.
        value_range: (low, high) of the input: (-1, 1) for a tanh generator (the default, matching
            ``load_mnist(scale="tanh")``), (0, 1) for a sigmoid one, (0, 255) for raw bytes. Mapped
            linearly onto [0, 1]; values outside are clipped.
        padding: pixels of ``pad_value`` between neighbouring tiles (none around the border).
        pad_value: the grey of the padding and of empty cells, in [0, 1].

    Returns:
        float32 array of shape (rows*h + (rows-1)*padding, cols*w + (cols-1)*padding). Image ``i`` has its
        top-left pixel at (r*(h+padding), c*(w+padding)) with r, c = divmod(i, cols).
    """
    images = _as_square_images(images)
    n, h, w = images.shape
    low, high = _check_range(value_range)
    if isinstance(rows, bool) or (rows is not None and (not isinstance(rows, (int, numpy.integer)) or rows < 1)):
        raise ValueError(f"image_grid: rows must be None or an int >= 1, got {rows!r}")
    if isinstance(padding, bool) or not isinstance(padding, (int, numpy.integer)) or padding < 0:
        raise ValueError(f"image_grid: padding must be an int >= 0, got {padding!r}")
    if isinstance(pad_value, bool) or not isinstance(pad_value, numbers.Real) or not 0.0 <= pad_value <= 1.0:
        raise ValueError(f"image_grid: pad_value must be a number in [0, 1], got {pad_value!r}")
    if numpy.isnan(images).any():  # a NaN pixel would be drawn black: say so instead (a diverged generator?)
        raise ValueError(f"image_grid: {int(numpy.isnan(images).sum())} of the {images.size} pixel values are NaN; expected numbers")
    if rows is None:
        rows = math.ceil(n / math.ceil(math.sqrt(n)))
    rows = min(int(rows), n)
    cols = math.ceil(n / rows)
    scaled = numpy.clip((images.astype(numpy.float32) - low) / (high - low), 0.0, 1.0)
    grid = numpy.full((rows * h + (rows - 1) * padding, cols * w + (cols - 1) * padding), pad_value, dtype=numpy.float32)
    for i in range(n):
        r, c = divmod(i, cols)
        top, left = r * (h + padding), c * (w + padding)
        grid[top : top + h, left : left + w] = scaled[i]
    return grid


def save_image_grid(path, images, rows=None, value_range=(-1.0, 1.0), padding=1, pad_value=0.5, zoom=1):
    """Write ``image_grid(images, ...)`` to ``path`` as a grey-scale PNG (0 black, 1 white), atomically.

    Each grid value v becomes the 8-bit grey round(255 * v) in all three colour channels.

    ``zoom`` (an int >= 1) repeats each pixel zoom x zoom times, for viewers that blur small images.
    Returns the grid that was written (before zooming).
    """
    from matplotlib.image import imsave

    if isinstance(zoom, bool) or not isinstance(zoom, (int, numpy.integer)) or zoom < 1:
        raise ValueError(f"save_image_grid: zoom must be an int >= 1, got {zoom!r}")
    grid = image_grid(images, rows=rows, value_range=value_range, padding=padding, pad_value=pad_value)
    grey = numpy.round(grid * 255).astype(numpy.uint8)  # exact 8-bit levels, no colormap in between
    grey = numpy.repeat(numpy.repeat(grey, zoom, axis=0), zoom, axis=1)  # (H, W) -> (H*zoom, W*zoom)
    with atomic_write(path, "wb") as handle:
        imsave(handle, numpy.stack([grey, grey, grey], axis=-1), format="png")  # (H, W, 3): R = G = B
    return grid


def save_image_rows(path, rows, zoom=3):
    """Write a figure whose row i is the images ``rows[i]`` (each (n, h, w, 1), the same n, values in [0, 1]),
    as the image-to-image examples draw input, each variant's outputs and the truth one above the other:
    ``save_image_grid`` of the rows joined, one grid row per entry. Returns the grid written."""
    counts = {len(row) for row in rows}
    if len(counts) != 1:
        raise ValueError(f"save_image_rows: every row must hold the same number of images, got {[len(row) for row in rows]}")
    return save_image_grid(path, numpy.concatenate([to_numpy(row) for row in rows]), rows=len(rows), value_range=(0.0, 1.0), zoom=zoom)


def _as_square_images(images):
    """(n, h, w, 1), (n, h, w) or (n, h*w) with h == w, as a (n, h, w) NumPy array."""
    if hasattr(images, "data") and type(images).__name__ in ("Tensor", "Parameter"):
        images = images.data
    images = numpy.asarray(to_numpy(images))
    shape = images.shape
    if images.ndim == 4 and shape[3] == 1:
        images = images[..., 0]  # (n, h, w, 1) -> (n, h, w)
    elif images.ndim == 2:
        side = math.isqrt(shape[1])
        if side * side != shape[1]:
            raise ValueError(f"image_grid: flat images need a square number of pixels per row, got shape {shape}")
        images = images.reshape(shape[0], side, side)  # (n, h*w) -> (n, h, w)
    elif images.ndim != 3:
        raise ValueError(f"image_grid: images must be (n, h, w, 1), (n, h, w) or (n, h*w), got shape {shape}")
    if images.shape[0] == 0:
        raise ValueError(f"image_grid: got no images (shape {shape})")
    if images.dtype.kind not in "uif" or images.dtype.kind == "b":
        raise TypeError(f"image_grid: images must be numeric, got dtype {images.dtype}")
    return images


def _check_range(value_range):
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(f"value_range must be a pair (low, high) such as (-1, 1) or (0, 1), got {value_range!r}") from None
    if not (low < high and math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"value_range must be finite with low < high, got {value_range!r}")
    return low, high


# ----- training curves ------------------------------------------------------------------------
HISTORY_KEYS = ("d_loss", "g_loss", "d_real", "d_fake")


def smooth(values, weight=0.9):
    """Exponential moving average with bias correction (as TensorBoard draws it).

    s_t = weight * s_{t-1} + (1 - weight) * x_t, s_0 = 0, reported as s_t / (1 - weight**t), so the first
    points are not pulled towards zero. NaNs are skipped (they keep the previous average).
    """
    if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not 0.0 <= weight < 1.0:
        raise ValueError(f"smooth: weight must be a number in [0, 1), got {weight!r}")
    values = numpy.asarray(values, dtype=numpy.float64)
    out = numpy.empty_like(values)
    average, count = 0.0, 0
    for t, x in enumerate(values):
        if not numpy.isnan(x):
            average, count = weight * average + (1.0 - weight) * x, count + 1
        out[t] = average / (1.0 - weight**count) if count else numpy.nan
    return out


def plot_training(path, history, smoothing=0.9, title=None, critic=False):
    """Draw a GAN's training history to the PNG ``path``, atomically: ``training_figure``'s panels."""
    figure = training_figure(history, smoothing, title, critic)
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png")


def training_figure(history, smoothing=0.9, title=None, critic=False):
    """A GAN's training history as a Matplotlib ``Figure`` (on an Agg canvas): two panels sharing the step axis.

    ``plot_training`` writes it to a PNG; a notebook shows it inline (``display(figure)``).

    Args:
        history: a dict of per-step lists (or 1-D arrays), all the same length:
            "d_loss", "g_loss"  the discriminator's and the generator's loss;
            "d_real", "d_fake"  the batch mean of D(x) on real images and of D(G(z)) on fakes.
        smoothing: weight of the exponential moving average in [0, 1) drawn over the raw curve
            (0 draws the raw values only).
        title: an optional title over both panels.
        critic: D is a Wasserstein critic (Arjovsky et al. 2017; Gulrajani et al. 2017): "d_real" and
            "d_fake" are its raw mean scores, not probabilities, and a third panel shows its estimate of
            the Wasserstein distance, E[D(x)] − E[D(G(z))] (the WGAN paper's Figures 3–4), from
            history["wasserstein"] if given, else from d_real − d_fake.

    Top: both losses. Bottom: D(x) and D(G(z)) with the line 1/2, where they meet at the game's
    equilibrium (D cannot tell real from fake). Raw values are drawn thin and light, the smoothed
    ones on top.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    curves = _check_history(history)
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"plot_training: smoothing must be in [0, 1), got {smoothing!r}")
    steps = numpy.arange(1, len(curves["d_loss"]) + 1)
    figure = Figure(figsize=(8, 8.5 if critic else 6), dpi=100)
    FigureCanvasAgg(figure)  # attaches an Agg canvas: renders to memory, no display needed
    if critic:
        losses, scores, estimate = figure.subplots(3, 1, sharex=True)
        if "wasserstein" in history:
            curves["wasserstein"] = _check_history({**history, "d_loss": history["wasserstein"]})["d_loss"]
        else:
            curves["wasserstein"] = curves["d_real"] - curves["d_fake"]
    else:
        losses, scores = figure.subplots(2, 1, sharex=True)
    panels = [
        (losses, (("d_loss", "critic loss" if critic else "discriminator loss", "tab:blue"), ("g_loss", "generator loss", "tab:orange"))),
        (scores, (("d_real", "D(x), real", "tab:green"), ("d_fake", "D(G(z)), fake", "tab:red"))),
    ]
    if critic:
        panels.append((estimate, (("wasserstein", "E[D(x)] − E[D(G(z))]", "tab:purple"),)))
    for axes, lines in panels:
        for key, label, colour in lines:
            if smoothing > 0:
                axes.plot(steps, curves[key], color=colour, alpha=0.25, linewidth=0.8)
                axes.plot(steps, smooth(curves[key], smoothing), color=colour, linewidth=1.6, label=label)
            else:
                axes.plot(steps, curves[key], color=colour, linewidth=1.0, label=label)
        axes.grid(alpha=0.3)
        axes.legend(loc="best")
    losses.set_title("losses")
    losses.set_ylabel("loss")
    if critic:  # raw scores: no 1/2 line and no [0, 1] range
        scores.set_title("critic scores: mean D(x) vs D(G(z))")
        scores.set_ylabel("mean score")
        estimate.set_title("the critic's Wasserstein estimate")
        estimate.set_ylabel("W estimate")
        estimate.set_xlabel("step")
    else:
        scores.axhline(0.5, color="grey", linestyle="--", linewidth=0.8)
        scores.set_title("discriminator output: mean D(x) vs D(G(z))")
        scores.set_ylabel("mean D")
        # [0, 1] for probabilities; wider only for scores outside it (LSGAN's D, whose targets may be −1)
        values = numpy.concatenate([curves["d_real"], curves["d_fake"]])
        values = values[numpy.isfinite(values)]
        scores.set_ylim(min(-0.02, values.min() - 0.02) if values.size else -0.02, max(1.02, values.max() + 0.02) if values.size else 1.02)
        scores.set_xlabel("step")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def plot_curves(path, curves, xlabel, ylabel, title=None, references=None, log_y=False):
    """Draw named curves on one axis to the PNG ``path``, atomically (a learning curve, say).

    Args:
        curves: {label: (x values, y values)}, each pair of equal, non-zero length.
        references: {label: y}: horizontal dashed lines (a paper's figure, for instance).
        log_y: a logarithmic y axis (errors that fall by orders of magnitude).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not isinstance(curves, dict) or not curves:
        raise ValueError(f"plot_curves: curves must be a non-empty dict {{label: (x, y)}}, got {curves!r}")
    figure = Figure(figsize=(7, 4.5), dpi=100)
    FigureCanvasAgg(figure)  # renders to memory, no display needed
    axes = figure.subplots()
    for label, (x, y) in curves.items():
        x, y = numpy.asarray(to_numpy(x), numpy.float64), numpy.asarray(to_numpy(y), numpy.float64)
        if x.shape != y.shape or x.ndim != 1 or not len(x):
            raise ValueError(f"plot_curves: curve {label!r} needs x and y of one equal, non-zero length, got shapes {x.shape} and {y.shape}")
        axes.plot(x, y, marker="o", markersize=3, linewidth=1.4, label=label)
    for label, y in (references or {}).items():
        axes.axhline(float(y), color="grey", linestyle="--", linewidth=0.9, label=label)
    if log_y:
        axes.set_yscale("log")
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    axes.legend(loc="best")
    if title:
        axes.set_title(title)
    figure.tight_layout()
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png")


def _check_history(history):
    if not isinstance(history, dict):
        raise TypeError(f"plot_training: history must be a dict of per-step lists, got {type(history).__name__}")
    missing = [key for key in HISTORY_KEYS if key not in history]
    if missing:
        raise KeyError(f"plot_training: history is missing {', '.join(missing)}; expected the keys {', '.join(HISTORY_KEYS)}")
    curves = {}
    for key in HISTORY_KEYS:
        try:
            curves[key] = numpy.asarray([float(to_numpy(v)) for v in history[key]], dtype=numpy.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(f"plot_training: history[{key!r}] must be a list of numbers ({error})") from None
    lengths = {key: len(values) for key, values in curves.items()}
    if len(set(lengths.values())) != 1 or lengths["d_loss"] == 0:
        raise ValueError(f"plot_training: the history lists must be non-empty and of equal length, got lengths {lengths}")
    return curves
