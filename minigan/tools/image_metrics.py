"""Measuring image-to-image results: distance to the truth, PSNR, sharpness, stroke width.

Each function takes images in minigan's layout, (n, H, W, C) with values in [0, 1] (NumPy or CuPy; the
result is NumPy), and returns one number per image, so a caller can average, take a median, or compare
two methods image by image.

    mean_absolute_error(x, y)   (1/HWC) Σ |x − y|: pix2pix's L1 (Isola et al. 2017, eq. 3)
    psnr(x, y)                  10 log₁₀(1 / MSE) in dB, peak 1: SRGAN's Table 2 measure (Ledig et al. 2016)
    gradient_energy(x)          (1/HW) Σ (∂ₓf)² + (∂ᵧf)²: how much edge an image has (a blurred digit has less)
    pixel_agreement(x, y)       the share of pixels on the same side of 0.5 in x and in y: CoGAN's Table 1 measure
    stroke_width(x)             2 · ink area / ink boundary length: the mean width of the strokes, in pixels
    slant(x)                    μ₁₁ / μ₀₂ of the ink: how far it leans right per row upwards (a shear)
"""

import numpy

from minigan.engine.backend import to_numpy


def _as_batch(images, op, name="images"):
    images = to_numpy(images) if hasattr(images, "dtype") else numpy.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"{op}: {name} must have shape (n, H, W, C), got shape {images.shape}")
    if images.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be floating point in [0, 1], got dtype {images.dtype}")
    return images.astype(numpy.float64)


def _pair(x, y, op):
    x, y = _as_batch(x, op, "x"), _as_batch(y, op, "y")
    if x.shape != y.shape:
        raise ValueError(f"{op}: x has shape {x.shape} but y has shape {y.shape}; expected the same shape")
    return x, y


def mean_absolute_error(x, y):
    """(n,): the mean |x − y| over each image's pixels."""
    x, y = _pair(x, y, "mean_absolute_error")
    return numpy.abs(x - y).mean(axis=(1, 2, 3))


def psnr(x, y, peak=1.0):
    """(n,): 10·log₁₀(peak² / MSE) in decibels for each pair; +inf where the images are equal.

    Higher is closer. PSNR only sees squared error, so it rewards the pixel-wise mean of the plausible
    answers, blur included: the point Ledig et al. 2016 make against it (§1.1, Fig. 2).
    """
    x, y = _pair(x, y, "psnr")
    mse = ((x - y) ** 2).mean(axis=(1, 2, 3))
    with numpy.errstate(divide="ignore"):
        return 10.0 * numpy.log10(peak * peak / mse)


def gradient_energy(images):
    """(n,): the mean over pixels of the squared forward differences, (f[i, j+1] − f[i, j])² + (f[i+1, j] − f[i, j])².

    A sharp digit (strokes going from 0 to 1 within a pixel) has a large value; blurring spreads each
    step over several pixels, and since (1/k)²·k = 1/k, a step spread over k pixels has 1/k the energy.
    The ratio of a method's mean to the true images' mean is the sharpness figure in the docs.
    """
    f = _as_batch(images, "gradient_energy")
    across = (f[:, :, 1:, :] - f[:, :, :-1, :]) ** 2  # (n, H, W − 1, C)
    down = (f[:, 1:, :, :] - f[:, :-1, :, :]) ** 2    # (n, H − 1, W, C)
    pixels = f.shape[1] * f.shape[2] * f.shape[3]
    return (across.sum(axis=(1, 2, 3)) + down.sum(axis=(1, 2, 3))) / pixels


def pixel_agreement(x, y, threshold=0.5):
    """(n,): the fraction of each pair's pixels that are ink in both or background in both, ink being ≥ ``threshold``.

    Liu & Tuzel 2016 (§4, Table 1) measure how well a CoGAN's pair (g₁(z), g₂(z)) corresponds by the "pixel
    agreement ratio" between g₂(z) and g₁(z) put through the known transform; the paper does not say how
    grey values are compared, and thresholding both at ``threshold`` is the reading used here. 1 for
    identical binary images, and high even for unrelated digits (both mostly background): compare it with
    the same figure on shuffled pairs.
    """
    x, y = _pair(x, y, "pixel_agreement")
    return ((x >= threshold) == (y >= threshold)).mean(axis=(1, 2, 3))


def stroke_width(images, threshold=0.5):
    """(n,): the mean stroke width in pixels, 2A/P, of each image thresholded at ``threshold``.

    A is the number of ink pixels (value ≥ threshold) and P the number of pixel edges between an ink
    pixel and a background pixel (the length of the ink's boundary; the image border counts as
    background). A stroke of width w and length L ≫ w has A = wL and P ≈ 2L, so 2A/P ≈ w; a w × L
    rectangle gives exactly 2wL / (2w + 2L). An image with no ink has no width: NaN.
    """
    f = _as_batch(images, "stroke_width")
    ink = numpy.pad(f >= threshold, ((0, 0), (1, 1), (1, 1), (0, 0)))  # background all round the border
    area = ink.sum(axis=(1, 2, 3))
    boundary = (ink[:, 1:] != ink[:, :-1]).sum(axis=(1, 2, 3)) + (ink[:, :, 1:] != ink[:, :, :-1]).sum(axis=(1, 2, 3))
    with numpy.errstate(invalid="ignore", divide="ignore"):
        return numpy.where(area > 0, 2.0 * area / boundary, numpy.nan)


def slant(images):
    """(n,): the slant of each image's ink, the shear μ₁₁ / μ₀₂ of its second moments: columns moved right per row up.

    With pixel values f as weights, u the column and v = −row (upwards), μ₁₁ = Σ f (u − ū)(v − v̄) / Σ f and
    μ₀₂ = Σ f (v − v̄)² / Σ f. For ink along the line u = s·v (a stroke leaning right by s columns per row),
    μ₁₁ = s μ₀₂, so the slant is s: 0 for an upright stroke, positive when its top leans right. It is the
    shear that deslanting methods undo (x ← x − s·y). An image with no ink, or one row of ink, has no slant: NaN.
    """
    f = _as_batch(images, "slant").sum(axis=3)  # (n, H, W): ink of all channels together
    rows, columns = numpy.indices(f.shape[1:], dtype=numpy.float64)
    v, u = -rows, columns
    mass = f.sum(axis=(1, 2))
    with numpy.errstate(invalid="ignore", divide="ignore"):
        v_mean = (f * v).sum(axis=(1, 2)) / mass
        u_mean = (f * u).sum(axis=(1, 2)) / mass
        dv = v[None] - v_mean[:, None, None]
        du = u[None] - u_mean[:, None, None]
        mu11 = (f * du * dv).sum(axis=(1, 2)) / mass
        mu02 = (f * dv * dv).sum(axis=(1, 2)) / mass
        return numpy.where((mass > 0) & (mu02 > 0), mu11 / mu02, numpy.nan)


__all__ = ["mean_absolute_error", "psnr", "gradient_energy", "pixel_agreement", "stroke_width", "slant"]
