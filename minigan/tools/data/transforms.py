"""Image-to-image tasks made from MNIST: edge maps, thin and thick strokes, low-resolution digits, masked centres.

Every function takes a batch of grey-scale images in minigan's layout, (n, H, W, C) channels-last with
values in [0, 1] (``load_mnist(scale="sigmoid")``), NumPy or CuPy, and returns the same layout in the
input's dtype, on the input's device. No loop runs over images or pixels: the morphological operators
loop over the few offsets of their structuring element, the resamplers are reshapes and matrix products.

**Morphology** (grey-level, flat structuring element B given as (dy, dx) offsets; Soille 2003, ch. 3)::

    erosion    (f ⊖ B)(p) = min_{b ∈ B} f(p + b)        a pixel keeps only what all its B-neighbours have
    dilation   (f ⊕ B)(p) = max_{b ∈ B} f(p − b)        a pixel takes the brightest of its B-neighbours

Outside the image, f is extended by its nearest border pixel (edge replication), so a constant image is
left unchanged by both. Two elements are used::

    CROSS     the 3×3 cross {(0,0), (±1,0), (0,±1)}: the 4-neighbourhood, symmetric about p
    SQUARE_2  the 2×2 square {(0,0), (0,1), (1,0), (1,1)}: the smallest step that changes a stroke's width

**The three tasks** (each measured on the shipped test digits in docs/image-to-image.md):

* ``edge_map``: the *external* morphological gradient, (f ⊕ CROSS) − f, thresholded at 0.5: 1 on the
  background pixels that touch a stroke, 0 elsewhere, a one-pixel outline with the stroke itself empty
  (pix2pix's "edges → photo" task, Isola et al. 2017, §4). Why not the symmetric gradient
  (f ⊕ CROSS) − (f ⊖ CROSS): MNIST strokes are about 2 pixels wide, the cross erases them, and that
  "edge map" is the whole stroke thickened, not an outline.
* ``thin`` = f ⊖ SQUARE_2 and ``thicken`` = f ⊕ SQUARE_2 (CycleGAN's two unpaired domains): each moves
  every stroke edge by about one pixel. Why the 2×2 square and not the cross: eroding by the cross takes
  a pixel off *both* sides of a stroke, which erases the thinnest MNIST strokes altogether; the square
  takes one pixel off one side, and the digits stay legible (the widths and the classifier's readings of
  both domains are in docs/image-to-image.md).
* ``negative`` = 1 − f: white strokes on black become black strokes on white (CoGAN's task B, Liu & Tuzel
  2016, §4; its task A is ``edge_map``'s digits and edges).
* ``downsample`` (box average over factor × factor blocks, 28 → 14 or 7) and ``bicubic_upsample``, the
  baseline SRGAN is measured against (Ledig et al. 2016, §4 Table 1).

**The masked centre** (the context encoder's task, Pathak et al. 2016, §3.3 "central region"): the
mask M̂ is fixed, a ``hole`` × ``hole`` square in the middle of the image, 1 inside and 0 outside
(``centre_box`` gives its rows and columns). ``mask_centre`` returns (1 − M̂) ⊙ x + M̂ · fill, the context
the encoder sees; ``centre_of`` cuts the hidden square out, the region the decoder fills in and D
judges; ``paste_centre`` puts a filled square back into its context. The default hole, 14 of 28, hides a
quarter of the image, as the paper's 64 × 64 centre of 128 × 128 does; the default fill, 0, makes the
hole look like erased ink (background), so the masked digit is what a reader of the context alone sees.

**Holes at random places** (the context-conditional GAN's task, Denton et al. 2016, whose abstract
speaks of "images with random patches removed"): ``square_holes`` makes the hole masks M of given
squares, 1 inside and 0 outside, one (n, H, W, 1) array for a batch, built by comparing row and column
indices with each square's corners (no loop over images); ``random_square_holes`` draws the top-left
corners uniformly, so that every position of the square inside the image is equally likely;
``mask_holes`` is (1 − M) ⊙ x + M · fill, the context. The paper writes m = 1 − M, the mask of what is
*kept*.
**Other holes** (the masks of Yeh et al. 2017, §4, for image completion by latent search,
``minigan/tools/completion.py``): ``half_box`` and ``mask_half`` hide the left or the right half of the
image; ``random_hidden`` and ``mask_random`` hide a random ``fraction`` of the pixels of each image (80%
in the paper), each image its own pattern, fixed by a seed. ``mask_hidden`` sets any boolean mask of
hidden pixels to ``fill``; the others are it with their own mask.
"""

from typing import NamedTuple

import numpy

from minigan.engine.backend import array_module

CROSS = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))
SQUARE_2 = ((0, 0), (0, 1), (1, 0), (1, 1))
EDGE_THRESHOLD = 0.5
BICUBIC_A = -0.5  # Keys 1981: the one value of a for which cubic convolution is third-order accurate


def _check_images(images, op):
    """``images`` must be a floating (n, H, W, C) array; returns its array module."""
    if not (hasattr(images, "shape") and hasattr(images, "dtype")):
        raise TypeError(f"{op}: images must be a NumPy or CuPy array (n, H, W, C), got {type(images).__name__}")
    if images.ndim != 4:
        raise ValueError(f"{op}: images must have shape (n, H, W, C) (channels-last), got shape {images.shape}")
    if images.dtype.kind != "f":
        raise TypeError(f"{op}: images must be floating point in [0, 1], got dtype {images.dtype} (divide uint8 images by 255)")
    return array_module(images)


def _check_element(element, op):
    if not (isinstance(element, (tuple, list)) and element and all(
            isinstance(b, (tuple, list)) and len(b) == 2 and all(isinstance(v, int) for v in b) for b in element)):
        raise ValueError(f"{op}: element must be a non-empty sequence of (dy, dx) integer offsets such as CROSS, got {element!r}")
    return tuple(tuple(b) for b in element)


def _extremum_over_offsets(images, offsets, reduce):
    """reduce over b ∈ offsets of f(p + b), f extended by edge replication: one shifted slice per offset."""
    xp = array_module(images)
    _, h, w, _ = images.shape
    r = max(max(abs(dy), abs(dx)) for dy, dx in offsets)
    padded = xp.pad(images, ((0, 0), (r, r), (r, r), (0, 0)), mode="edge")  # (n, H + 2r, W + 2r, C)
    out = None
    for dy, dx in offsets:
        shifted = padded[:, r + dy : r + dy + h, r + dx : r + dx + w, :]  # shifted[:, i, j] = f(i + dy, j + dx)
        out = shifted.copy() if out is None else reduce(out, shifted, out=out)
    return out


def erode(images, element=CROSS):
    """(f ⊖ B)(p) = min_{b ∈ B} f(p + b) for every image, B = ``element`` as (dy, dx) offsets."""
    xp = _check_images(images, "erode")
    return _extremum_over_offsets(images, _check_element(element, "erode"), xp.minimum)


def dilate(images, element=CROSS):
    """(f ⊕ B)(p) = max_{b ∈ B} f(p − b) for every image: the maximum over the reflected offsets −b."""
    xp = _check_images(images, "dilate")
    reflected = tuple((-dy, -dx) for dy, dx in _check_element(element, "dilate"))
    return _extremum_over_offsets(images, reflected, xp.maximum)


def edge_map(images, threshold=EDGE_THRESHOLD):
    """[(f ⊕ CROSS) − f ≥ threshold] as 0/1 in the images' dtype: the one-pixel outline around each stroke."""
    _check_images(images, "edge_map")
    if not 0 < threshold <= 1:
        raise ValueError(f"edge_map: threshold must be in (0, 1], got {threshold}")
    return ((dilate(images, CROSS) - images) >= images.dtype.type(threshold)).astype(images.dtype)


def thin(images):
    """f ⊖ SQUARE_2: every stroke about one pixel narrower (CycleGAN's "thin" domain)."""
    return erode(images, SQUARE_2)


def thicken(images):
    """f ⊕ SQUARE_2: every stroke about one pixel wider (CycleGAN's "thick" domain)."""
    return dilate(images, SQUARE_2)


def negative(images):
    """1 − f: the negative of images in [0, 1] (CoGAN's task B)."""
    _check_images(images, "negative")
    return images.dtype.type(1) - images


# ----- resolution -----------------------------------------------------------------------------------
def downsample(images, factor):
    """Box (area) average over factor × factor blocks: (n, H, W, C) → (n, H/factor, W/factor, C).

    out[n, i, j, c] = (1/factor²) Σ_{a, b < factor} x[n, i·factor + a, j·factor + b, c]; H and W must be
    multiples of ``factor`` (28 → 14 with 2, 28 → 7 with 4).
    """
    _check_images(images, "downsample")
    n, h, w, c = images.shape
    if not isinstance(factor, int) or isinstance(factor, bool) or factor < 1:
        raise ValueError(f"downsample: factor must be a positive int, got {factor!r}")
    if h % factor or w % factor:
        raise ValueError(f"downsample: the image size {h}×{w} is not a multiple of factor {factor}")
    blocks = images.reshape(n, h // factor, factor, w // factor, factor, c)  # (n, H, W, C) -> (n, H/f, f, W/f, f, C)
    return blocks.mean(axis=(2, 4), dtype=images.dtype)


def cubic_kernel(x, a=BICUBIC_A):
    """Keys' cubic convolution kernel W(x) (Keys 1981, eq. 15), for an array of distances x::

        W(x) = (a + 2)|x|³ − (a + 3)|x|² + 1         for |x| ≤ 1
               a|x|³ − 5a|x|² + 8a|x| − 4a           for 1 < |x| < 2
               0                                     otherwise

    W(0) = 1 and W(±1) = W(±2) = 0, so the interpolant passes through the samples; with a = −0.5 it
    reproduces every quadratic exactly.
    """
    x = numpy.abs(numpy.asarray(x, dtype=numpy.float64))
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return numpy.where(x <= 1, near, numpy.where(x < 2, far, 0.0))


def bicubic_matrix(size, factor, a=BICUBIC_A):
    """The (size·factor, size) matrix M of 1-D cubic-convolution upsampling: out = M @ samples.

    Output pixel i sits at source coordinate s = (i + ½)/factor − ½ (pixel centres aligned, as image
    resizers do); with k = ⌊s⌋ and t = s − k it reads the four samples k − 1 … k + 2 with weights
    W(1 + t), W(t), W(1 − t), W(2 − t). Samples beyond the border are the border sample (edge
    replication), so their weights are added onto it. Every row sums to 1.
    """
    out = numpy.arange(size * factor)
    source = (out + 0.5) / factor - 0.5
    base = numpy.floor(source).astype(numpy.int64)
    t = source - base
    matrix = numpy.zeros((size * factor, size))
    for tap in range(-1, 3):  # the four neighbours k − 1, k, k + 1, k + 2
        columns = numpy.clip(base + tap, 0, size - 1)
        numpy.add.at(matrix, (out, columns), cubic_kernel(t - tap, a))
    return matrix


def bicubic_upsample(images, factor, a=BICUBIC_A, clip=True):
    """Separable cubic convolution (Keys 1981): (n, h, w, C) → (n, h·factor, w·factor, C).

    out[n] = M_h x[n] M_wᵀ per channel, with M = ``bicubic_matrix``: each output pixel is a weighted sum
    of a 4 × 4 neighbourhood. The kernel overshoots next to a sharp edge (its lobes are negative), so
    the result is clipped back to [0, 1] unless ``clip=False``.
    """
    xp = _check_images(images, "bicubic_upsample")
    if not isinstance(factor, int) or isinstance(factor, bool) or factor < 1:
        raise ValueError(f"bicubic_upsample: factor must be a positive int, got {factor!r}")
    _, h, w, _ = images.shape
    rows = xp.asarray(bicubic_matrix(h, factor, a), dtype=images.dtype)     # (h·f, h)
    columns = xp.asarray(bicubic_matrix(w, factor, a), dtype=images.dtype)  # (w·f, w)
    out = xp.einsum("ip,npqc->niqc", rows, images)                          # (n, h, w, C) -> (n, h·f, w, C)
    out = xp.einsum("jq,niqc->nijc", columns, out)                          # -> (n, h·f, w·f, C)
    return xp.clip(out, 0, 1) if clip else out


# ----- the masked centre ----------------------------------------------------------------------------
CENTRE_HOLE = 14  # of 28: a quarter of the image, as the paper's 64 × 64 of 128 × 128


def _check_hole(hole, height, width, op):
    if not (isinstance(hole, int) and not isinstance(hole, bool) and 0 < hole <= min(height, width)):
        raise ValueError(f"{op}: hole must be an int in [1, {min(height, width)}] (the image is {height} × {width}), got {hole!r}")


def centre_box(height, width, hole=CENTRE_HOLE):
    """(rows, columns): the slices of the ``hole`` × ``hole`` square in the middle of a height × width image
    (for an odd margin, one pixel more below and to the right)."""
    _check_hole(hole, height, width, "centre_box")
    top, left = (height - hole) // 2, (width - hole) // 2
    return slice(top, top + hole), slice(left, left + hole)


def mask_centre(images, hole=CENTRE_HOLE, fill=0.0):
    """(1 − M̂) ⊙ x + M̂ · fill: a copy of ``images`` (n, H, W, C) with the centre square set to ``fill``."""
    _check_images(images, "mask_centre")
    return _box_set_to(images, centre_box(images.shape[1], images.shape[2], hole), _check_fill(fill, "mask_centre"))


def _check_fill(fill, op):
    if not (isinstance(fill, (int, float)) and not isinstance(fill, bool) and 0.0 <= fill <= 1.0):
        raise ValueError(f"{op}: fill must be a number in [0, 1], got {fill!r}")
    return fill


def _box_set_to(images, box, fill):
    """A copy of ``images`` with the (rows, columns) slices ``box`` of every image set to ``fill``."""
    rows, columns = box
    masked = images.copy()
    masked[:, rows, columns, :] = fill
    return masked


def centre_of(images, hole=CENTRE_HOLE):
    """M̂'s square of ``images``: (n, hole, hole, C), a copy."""
    _check_images(images, "centre_of")
    rows, columns = centre_box(images.shape[1], images.shape[2], hole)
    return images[:, rows, columns, :].copy()


def paste_centre(images, centres):
    """A copy of ``images`` (n, H, W, C) with its centre square replaced by ``centres`` (n, hole, hole, C)."""
    _check_images(images, "paste_centre")
    _check_images(centres, "paste_centre")
    n, hole = centres.shape[0], centres.shape[1]
    if n != images.shape[0] or centres.shape[2] != hole or centres.shape[3] != images.shape[3]:
        raise ValueError(f"paste_centre: centres must have shape ({images.shape[0]}, hole, hole, {images.shape[3]}), "
                         f"got shape {centres.shape}")
    rows, columns = centre_box(images.shape[1], images.shape[2], hole)
    completed = images.copy()
    completed[:, rows, columns, :] = centres
    return completed


# ----- holes at random places ------------------------------------------------------------------------
def square_holes(tops, lefts, height, width, hole, dtype=numpy.float32):
    """The masks M of ``hole`` × ``hole`` squares with top-left corners (tops[i], lefts[i]) in height × width
    images: (n, height, width, 1) in ``dtype``, 1 inside square i and 0 outside, on the device of ``tops``.

    M[i, r, c] = [tops[i] ≤ r < tops[i] + hole] · [lefts[i] ≤ c < lefts[i] + hole]: two (n, ·) comparisons and
    their outer product, no loop over the squares.
    """
    _check_hole(hole, height, width, "square_holes")
    xp = array_module(tops)
    tops, lefts = xp.asarray(tops).reshape(-1, 1), xp.asarray(lefts).reshape(-1, 1)
    if tops.shape != lefts.shape:
        raise ValueError(f"square_holes: expected one left edge per top edge, got {tops.shape[0]} tops and {lefts.shape[0]} lefts")
    rows, columns = xp.arange(height).reshape(1, -1), xp.arange(width).reshape(1, -1)
    in_rows = (rows >= tops) & (rows < tops + hole)                                   # (n, height)
    in_columns = (columns >= lefts) & (columns < lefts + hole)                        # (n, width)
    return (in_rows[:, :, None] & in_columns[:, None, :]).astype(dtype)[..., None]    # (n, height, width, 1)


def random_square_holes(n, height, width, hole, rng, dtype=numpy.float32):
    """``square_holes`` at n places drawn from ``rng`` (a NumPy or CuPy generator): each top-left corner
    uniform over the (height − hole + 1) × (width − hole + 1) places that keep the square inside the image.

    Drawn as ⌊u · places⌋ with u ~ U[0, 1) (``uniform``, which every backend's generator has), on the
    generator's device; the first k holes of n are those of k from the same generator state.
    """
    _check_hole(hole, height, width, "random_square_holes")
    corners = rng.uniform(0.0, 1.0, size=(n, 2))                  # float64; row i, hole i's: the first k holes whatever n
    xp = array_module(corners)
    places = xp.asarray([height - hole + 1, width - hole + 1], dtype=corners.dtype)
    corners = xp.floor(corners * places).astype(xp.int64)
    return square_holes(corners[:, 0], corners[:, 1], height, width, hole, dtype)


def mask_holes(images, holes, fill=0.0):
    """(1 − M) ⊙ x + M · fill: a copy of ``images`` (n, H, W, C) with the holes M (n, H, W, 1) set to ``fill``."""
    _check_images(images, "mask_holes")
    if getattr(holes, "shape", None) != images.shape[:3] + (1,):
        raise ValueError(f"mask_holes: holes must have shape {images.shape[:3] + (1,)}, got {getattr(holes, 'shape', type(holes).__name__)}")
    _check_fill(fill, "mask_holes")
    holes = holes.astype(images.dtype, copy=False)
    kept = images * (images.dtype.type(1) - holes)
    return kept + holes * images.dtype.type(fill) if fill else kept
# ----- other holes: a half, random pixels -----------------------------------------------------------
HALF_SIDES = ("left", "right")
RANDOM_FRACTION = 0.8  # Yeh et al. 2017, §4: "80% missing complete random masks"


def mask_hidden(images, hidden, fill=0.0):
    """(1 − M̂) ⊙ x + M̂ · fill for a boolean mask M̂ of hidden pixels that broadcasts to ``images`` (n, H, W, C)."""
    xp = _check_images(images, "mask_hidden")
    _check_fill(fill, "mask_hidden")
    if getattr(hidden, "dtype", None) != bool or hidden.ndim != 4 or any(h not in (1, s) for h, s in zip(hidden.shape, images.shape)):
        raise ValueError(f"mask_hidden: hidden must be a boolean array (n, H, W, C) that broadcasts to the images' shape "
                         f"{images.shape}, got {getattr(hidden, 'dtype', type(hidden).__name__)} of shape {getattr(hidden, 'shape', None)}")
    return xp.where(hidden, images.dtype.type(fill), images)


def half_box(height, width, side="left"):
    """(rows, columns): the slices of the ``side`` ("left" or "right") half of a height × width image (an odd
    width gives the middle column to the right half)."""
    if side not in HALF_SIDES:
        raise ValueError(f"half_box: side must be one of {HALF_SIDES}, got {side!r}")
    middle = width // 2
    return slice(0, height), (slice(0, middle) if side == "left" else slice(middle, width))


def mask_half(images, side="left", fill=0.0):
    """(1 − M̂) ⊙ x + M̂ · fill with M̂ the ``side`` half of each image: a copy of ``images`` (n, H, W, C)."""
    _check_images(images, "mask_half")
    return _box_set_to(images, half_box(images.shape[1], images.shape[2], side), _check_fill(fill, "mask_half"))


def random_hidden(count, height, width, fraction=RANDOM_FRACTION, seed=0):
    """A NumPy boolean mask (count, height, width, 1): in each image exactly round(fraction · height · width)
    pixels hidden (True), a different random set per image, the same for the same seed.

    Each image's pixels are ranked by a uniform draw and the lowest-ranked are hidden: every set of that
    size is equally likely, and no loop runs over the images.
    """
    if not (isinstance(fraction, (int, float)) and not isinstance(fraction, bool) and 0.0 <= fraction <= 1.0):
        raise ValueError(f"random_hidden: fraction must be a number in [0, 1], got {fraction!r}")
    pixels = height * width
    draws = numpy.random.default_rng(seed).random((count, pixels))
    ranks = draws.argsort(axis=1).argsort(axis=1)                       # (count, pixels): each pixel's place in its image
    return (ranks < round(fraction * pixels)).reshape(count, height, width, 1)


def mask_random(images, fraction=RANDOM_FRACTION, seed=0, fill=0.0):
    """``images`` (n, H, W, C) with ``random_hidden(n, H, W, fraction, seed)`` set to ``fill`` (every channel of a
    hidden pixel)."""
    xp = _check_images(images, "mask_random")
    n, h, w, _ = images.shape
    return mask_hidden(images, xp.asarray(random_hidden(n, h, w, fraction, seed)), fill)


# ----- the data sets --------------------------------------------------------------------------------
def paired_edges(images):
    """pix2pix's paired task: (edge_map(images), images), example i of one the input of example i of the other."""
    return edge_map(images), images


class UnpairedSplit(NamedTuple):
    """CycleGAN's two domains, made from two disjoint halves of one set of images.

    ``thin`` = thin(images[thin_rows]), ``thick`` = thicken(images[thick_rows]); the row sets are
    disjoint, so no thin image has its thick partner in the data.
    """

    thin: object
    thick: object
    thin_rows: numpy.ndarray
    thick_rows: numpy.ndarray


def unpaired_thin_thick(images, seed):
    """Split ``images`` by a seeded permutation into two disjoint halves; thin the first, thicken the second.

    With n images the halves have ⌊n/2⌋ rows each (an odd image out is dropped); the same seed gives
    the same split.
    """
    _check_images(images, "unpaired_thin_thick")
    if len(images) < 2:
        raise ValueError(f"unpaired_thin_thick: need at least 2 images to split in two, got {len(images)}")
    order = numpy.random.default_rng(seed).permutation(len(images))
    half = len(images) // 2
    thin_rows, thick_rows = numpy.sort(order[:half]), numpy.sort(order[half : 2 * half])
    xp = array_module(images)
    return UnpairedSplit(thin(images[xp.asarray(thin_rows)]), thicken(images[xp.asarray(thick_rows)]), thin_rows, thick_rows)


__all__ = ["CROSS", "SQUARE_2", "EDGE_THRESHOLD", "BICUBIC_A", "erode", "dilate", "edge_map", "thin", "thicken", "negative",
           "downsample", "cubic_kernel", "bicubic_matrix", "bicubic_upsample", "paired_edges", "UnpairedSplit",
           "unpaired_thin_thick", "CENTRE_HOLE", "centre_box", "mask_centre", "centre_of", "paste_centre", "square_holes", "random_square_holes",
           "mask_holes",
           "HALF_SIDES", "RANDOM_FRACTION", "mask_hidden", "half_box", "mask_half", "random_hidden", "mask_random"]
