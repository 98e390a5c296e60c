"""A simulator of digits: the ten digits of the fonts matplotlib ships, drawn the way MNIST draws its own.

SimGAN (Shrivastava et al. 2017, ``minigan/gans/simgan.py``) refines the images of a *simulator*, which
knows the label of everything it draws, so that they look like real ones. Here the simulator draws digits
from fonts, offline, with nothing downloaded: matplotlib's own text rendering (the Agg rasteriser,
anti-aliased) of the TrueType fonts in its data folder (DejaVu Sans, Serif and Sans Mono, STIX, Computer
Modern; ``FONTS``), white on black. Each (font, digit) is rendered once, a *glyph*; a synthetic digit is
a glyph put into a 28×28 frame by MNIST's own recipe (LeCun et al. 1998: "normalized to fit in a 20x20
pixel box while preserving their aspect ratio", then "centered in a 28x28 image by computing the center of
mass of the pixels"), after a random affine jitter J drawn for each image::

    J = s · R(θ) · [[1, κ], [0, 1]]        θ ~ U(−rotation, rotation)  rotation
                                           κ ~ U(−shear, shear)        horizontal shear (a slant)
                                           s ~ U(1 − scale, 1)         a digit smaller than MNIST's box
    p_out = J·(p_glyph − c)·f + (14, 14) + t,   t ~ U(−shift, shift)²   pixels of translation

with c the glyph's centre of mass and f = 20 / (the longer side of its bounding box) the box fit. The
image is sampled at each output pixel's 2×2 sub-pixel points through J⁻¹ (bilinear in the glyph; 0
outside it) and the four samples averaged, so the jittered strokes stay anti-aliased. One matrix product
and one gather for all images: no loop over images or pixels. The jitter is seeded: the same ``seed``
gives the same images.

What the simulator does not model, and a refiner may learn: the pen (MNIST's strokes are a pen's, of
varying width and pressure; these are a font's, of its designer's fixed widths), the blur of MNIST's
scanning and resampling, its stroke ends and its handwriting. The measured gap (a classifier trained on
these digits and tested on real ones) is in docs/simgan.md.
"""

import os
from typing import NamedTuple

import numpy

from .mnist import DataError

# (file in matplotlib's fonts/ttf folder, name): regular, bold, oblique and bold oblique where shipped.
FONTS = (
    ("DejaVuSans.ttf", "DejaVu Sans"), ("DejaVuSans-Bold.ttf", "DejaVu Sans Bold"),
    ("DejaVuSans-Oblique.ttf", "DejaVu Sans Oblique"), ("DejaVuSans-BoldOblique.ttf", "DejaVu Sans Bold Oblique"),
    ("DejaVuSerif.ttf", "DejaVu Serif"), ("DejaVuSerif-Bold.ttf", "DejaVu Serif Bold"),
    ("DejaVuSerif-Italic.ttf", "DejaVu Serif Italic"), ("DejaVuSerif-BoldItalic.ttf", "DejaVu Serif Bold Italic"),
    ("DejaVuSansMono.ttf", "DejaVu Sans Mono"), ("DejaVuSansMono-Bold.ttf", "DejaVu Sans Mono Bold"),
    ("DejaVuSansMono-Oblique.ttf", "DejaVu Sans Mono Oblique"), ("DejaVuSansMono-BoldOblique.ttf", "DejaVu Sans Mono Bold Oblique"),
    ("STIXGeneral.ttf", "STIX"), ("STIXGeneralBol.ttf", "STIX Bold"), ("STIXGeneralItalic.ttf", "STIX Italic"),
    ("STIXGeneralBolIta.ttf", "STIX Bold Italic"),
    ("cmr10.ttf", "Computer Modern Roman"), ("cmb10.ttf", "Computer Modern Bold"), ("cmss10.ttf", "Computer Modern Sans"),
    ("cmtt10.ttf", "Computer Modern Typewriter"),
)
SIZE = 28          # the frame, MNIST's
BOX = 20           # the longer side of a digit's bounding box, MNIST's
SUBPIXELS = 2      # samples per output pixel along each axis, averaged (2×2)
CANVAS = 96        # the side, in pixels, of the square each glyph is rendered in
FONT_POINTS = 56   # the glyph's font size, at 72 dpi one point a pixel: digits about 40 pixels tall
INK = 0.05         # a pixel at least this bright belongs to the glyph's bounding box


class Jitter(NamedTuple):
    """The ranges of the random affine jitter (see the module's docstring); all zero is no jitter."""

    rotation: float = 12.0   # degrees, θ ~ U(−rotation, rotation)
    shear: float = 0.3       # κ ~ U(−shear, shear): x moves by κ·y, a slant of up to atan(0.3) ≈ 17°
    scale: float = 0.15      # s ~ U(1 − scale, 1)
    shift: float = 1.0       # pixels, t ~ U(−shift, shift) along each axis


NO_JITTER = Jitter(0.0, 0.0, 0.0, 0.0)


class Glyphs(NamedTuple):
    """The rendered glyphs: ``images`` (G, CANVAS, CANVAS) float32 in [0, 1], ``labels`` (G,) int64 digits,
    ``fonts`` (G,) the font names, ``centres`` (G, 2) the centres of mass (row, column) and ``fits`` (G,)
    the box fits f, in output pixels per glyph pixel."""

    images: numpy.ndarray
    labels: numpy.ndarray
    fonts: tuple
    centres: numpy.ndarray
    fits: numpy.ndarray


def font_folder():
    import matplotlib
    return os.path.join(matplotlib.get_data_path(), "fonts", "ttf")


def render_glyph(path, digit):
    """``digit`` in the font at ``path``, white on black, (CANVAS, CANVAS) float32 in [0, 1], by matplotlib's Agg."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    figure = Figure(figsize=(CANVAS / 72, CANVAS / 72), dpi=72, facecolor="black")  # one point, one pixel
    canvas = FigureCanvasAgg(figure)
    figure.text(0.5, 0.5, str(digit), fontproperties=FontProperties(fname=path, size=FONT_POINTS), color="white",
                ha="center", va="center")
    canvas.draw()
    return numpy.asarray(canvas.buffer_rgba())[:, :, 0].astype(numpy.float32) / numpy.float32(255)  # (CANVAS, CANVAS), red = grey


_glyphs = []  # rendered once per process


def render_glyphs():
    """Every (font, digit) of ``FONTS``, rendered and measured once (a second or two), then kept."""
    if _glyphs:
        return _glyphs[0]
    folder = font_folder()
    missing = [name for name, _ in FONTS if not os.path.isfile(os.path.join(folder, name))]
    if missing:
        raise DataError(f"synthetic_digits: matplotlib's font folder {folder} lacks {', '.join(missing)}; "
                        f"these fonts ship with matplotlib ≥ 3.0 — reinstall matplotlib")
    images, labels, fonts = [], [], []
    for file, name in FONTS:
        for digit in range(10):
            images.append(render_glyph(os.path.join(folder, file), digit))
            labels.append(digit)
            fonts.append(name)
    images = numpy.stack(images)                                            # (G, CANVAS, CANVAS)
    rows, columns = numpy.arange(CANVAS) + 0.5, numpy.arange(CANVAS) + 0.5  # pixel centres
    mass = images.sum(axis=(1, 2))                                          # (G,)
    centres = numpy.stack([(images.sum(axis=2) * rows).sum(axis=1) / mass,
                           (images.sum(axis=1) * columns).sum(axis=1) / mass], axis=1)  # (G, 2): (row, column)
    ink_rows, ink_columns = (images >= INK).any(axis=2), (images >= INK).any(axis=1)   # (G, CANVAS) each
    height = CANVAS - ink_rows[:, ::-1].argmax(axis=1) - ink_rows.argmax(axis=1)
    width = CANVAS - ink_columns[:, ::-1].argmax(axis=1) - ink_columns.argmax(axis=1)
    fits = BOX / numpy.maximum(height, width).astype(numpy.float64)        # (G,): the longer side becomes BOX
    _glyphs.append(Glyphs(images, numpy.asarray(labels, numpy.int64), tuple(fonts), centres, fits))
    return _glyphs[0]


def draw_jitter(rng, n, jitter=Jitter()):
    """(matrices (n, 2, 2), shifts (n, 2)) of n jitters J and t, drawn from the NumPy generator ``rng`` within ``jitter``'s ranges.

    J acts on (row, column) vectors: the shear moves the column by κ times the row (up in the image is a
    smaller row), so κ > 0 leans the top of a digit left; R(θ) turns it."""
    theta = numpy.radians(rng.uniform(-jitter.rotation, jitter.rotation, n))
    kappa = rng.uniform(-jitter.shear, jitter.shear, n)
    scale = rng.uniform(1.0 - jitter.scale, 1.0, n)
    shifts = rng.uniform(-jitter.shift, jitter.shift, (n, 2))
    cos, sin = numpy.cos(theta), numpy.sin(theta)
    rotation = numpy.stack([numpy.stack([cos, -sin], -1), numpy.stack([sin, cos], -1)], axis=1)  # (n, 2, 2)
    shear = numpy.zeros((n, 2, 2))
    shear[:, 0, 0] = shear[:, 1, 1] = 1.0
    shear[:, 1, 0] = kappa                                                                      # column += κ·row
    return scale[:, None, None] * rotation @ shear, shifts


def place(glyphs, which, matrices, shifts):
    """The glyphs ``which`` (n,) put into 28×28 frames by J = ``matrices`` (n, 2, 2) and t = ``shifts`` (n, 2):
    (n, 28, 28, 1) float32 in [0, 1] (see the module's docstring)."""
    n = len(which)
    offsets = (numpy.arange(SUBPIXELS) + 0.5) / SUBPIXELS                                 # sub-pixel points in a pixel
    axis = (numpy.arange(SIZE)[:, None] + offsets[None, :]).reshape(-1)                   # (SIZE·SUBPIXELS,)
    points = numpy.stack(numpy.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)    # (P, 2): (row, column)
    centred = points[None, :, :] - SIZE / 2 - shifts[:, None, :]                          # (n, P, 2): p_out − (14, 14) − t
    inverse = numpy.linalg.inv(matrices)                                                  # (n, 2, 2)
    source = numpy.einsum("nij,npj->npi", inverse, centred) / glyphs.fits[which][:, None, None] + glyphs.centres[which][:, None, :]
    source = source - 0.5                                          # continuous coordinates -> pixel-centre indices
    top_left = numpy.floor(source).astype(numpy.int64)             # (n, P, 2)
    weight = source - top_left                                     # (n, P, 2), in [0, 1)
    values = numpy.zeros(centred.shape[:2])
    for dr in (0, 1):                                              # the four neighbours of bilinear interpolation
        for dc in (0, 1):
            r, c = top_left[..., 0] + dr, top_left[..., 1] + dc    # (n, P)
            inside = (r >= 0) & (r < CANVAS) & (c >= 0) & (c < CANVAS)
            pixel = glyphs.images[which[:, None], numpy.clip(r, 0, CANVAS - 1), numpy.clip(c, 0, CANVAS - 1)] * inside
            values += pixel * (weight[..., 0] if dr else 1 - weight[..., 0]) * (weight[..., 1] if dc else 1 - weight[..., 1])
    values = values.reshape(n, SIZE, SUBPIXELS, SIZE, SUBPIXELS).mean(axis=(2, 4))      # (n, 28, 2, 28, 2) -> (n, 28, 28)
    return numpy.clip(values, 0.0, 1.0).astype(numpy.float32)[..., None]                  # (n, 28, 28, 1)


def synthetic_digits(n, seed=0, jitter=Jitter(), batch=2000):
    """n synthetic digits: (images (n, 28, 28, 1) float32 in [0, 1], as ``load_mnist(scale="sigmoid")``;
    labels (n,) int64). Each is a glyph of a font drawn uniformly, its digit drawn uniformly, jittered
    within ``jitter``; ``seed`` fixes them all."""
    if isinstance(n, bool) or not isinstance(n, (int, numpy.integer)) or n < 0:
        raise ValueError(f"synthetic_digits: n must be an int ≥ 0, got {n!r}")
    if not all(value >= 0 for value in jitter):  # NaN fails too
        raise ValueError(f"synthetic_digits: every jitter range must be ≥ 0, got {jitter!r}")
    if not jitter.scale < 1:
        raise ValueError(f"synthetic_digits: jitter.scale must be < 1 (s ~ U(1 − scale, 1) must stay positive), got {jitter.scale!r}")
    glyphs = render_glyphs()
    rng = numpy.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    fonts = rng.integers(0, len(FONTS), n)
    which = fonts * 10 + labels                                    # glyph order: font by font, digits 0–9
    matrices, shifts = draw_jitter(rng, n, jitter)
    images = [place(glyphs, which[start : start + batch], matrices[start : start + batch], shifts[start : start + batch])
              for start in range(0, n, batch)]
    images = numpy.concatenate(images) if images else numpy.zeros((0, SIZE, SIZE, 1), numpy.float32)
    return images, labels.astype(numpy.int64)


def glyph_digits():
    """Every glyph once, unjittered, in its MNIST frame: (images (G, 28, 28, 1) float32, labels (G,) int64)."""
    glyphs = render_glyphs()
    count = len(glyphs.labels)
    return place(glyphs, numpy.arange(count), numpy.tile(numpy.eye(2), (count, 1, 1)), numpy.zeros((count, 2))), glyphs.labels


__all__ = ["FONTS", "Jitter", "NO_JITTER", "Glyphs", "render_glyphs", "draw_jitter", "place", "synthetic_digits", "glyph_digits"]
