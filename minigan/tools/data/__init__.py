"""Data sets: MNIST, shipped with minigan (``mnist.npz``, CC BY-SA 3.0; see README.md here).

* ``load_mnist``   one split, scaled for a tanh or sigmoid generator: (n, 28, 28, 1) float32, int64 labels
* ``read_mnist``   the four stored uint8 arrays, from the shipped file, your .npz or the raw IDX files
* ``DataLoader``   seeded shuffled minibatches, a new order each epoch; ``minibatches`` for one epoch;
                   ``first_of_each_digit`` picks a figure's columns, one digit of each class
* ``DataError``    what every reading problem raises, naming what was expected and what was found
* ``mnist``        the module of the five above: the shipped file, its checksums, IDX reading, batching
* ``synthetic_digits``  a simulator for SimGAN: the digits of matplotlib's fonts, jittered, in MNIST's 20×20 box and frame
* ``ring``         a 2-D ring of 8 Gaussians (Metz et al. 2016) and the VEEGAN mode-coverage diagnostic
* ``camera_records``  a town's number-plate camera records, simulated: a table of categorical and continuous columns
* ``tabular``         a table as a GAN's rows: one-hot categories, mode-specific normalisation (CTGAN §4.2) by EM
* ``transforms``   image-to-image tasks from MNIST: edge maps, thin/thick strokes, negatives, box downsampling,
                   bicubic, the masked centre (mask_centre, centre_of, paste_centre), square holes at random
                   places (square_holes, random_square_holes, mask_holes), a hidden half or random pixels
                   (mask_half, mask_random, mask_hidden)
"""

from .mnist import (
    IDX_FILES, MNIST_SHA256, SHIPPED_PATH, SPLITS, DataError, DataLoader, array_sha256, first_of_each_digit, is_known_mnist,
    load_mnist, minibatches, read_idx, read_mnist, scale_images,
)
from .transforms import (
    BICUBIC_A, CENTRE_HOLE, CROSS, EDGE_THRESHOLD, HALF_SIDES, RANDOM_FRACTION, SQUARE_2, UnpairedSplit, bicubic_matrix,
    bicubic_upsample, centre_box, centre_of, cubic_kernel, dilate, downsample, edge_map, erode, half_box, mask_centre, mask_half,
    mask_hidden, mask_random, negative, paired_edges, paste_centre, random_hidden, thicken, thin, unpaired_thin_thick,
    square_holes, random_square_holes, mask_holes,
)
from .ring import MODES, RADIUS, STD, ModeCoverage, mode_coverage, ring_batches, ring_centres, sample_ring

__all__ = [
    "load_mnist", "read_mnist", "read_idx", "scale_images", "minibatches", "DataLoader", "DataError",
    "array_sha256", "first_of_each_digit", "is_known_mnist", "MNIST_SHA256", "IDX_FILES", "SHIPPED_PATH", "SPLITS",
    "erode", "dilate", "edge_map", "thin", "thicken", "negative", "downsample", "cubic_kernel", "bicubic_matrix", "bicubic_upsample",
    "paired_edges", "unpaired_thin_thick", "UnpairedSplit", "CROSS", "SQUARE_2", "EDGE_THRESHOLD", "BICUBIC_A",
    "CENTRE_HOLE", "centre_box", "mask_centre", "centre_of", "paste_centre", "square_holes", "random_square_holes", "mask_holes",
    "HALF_SIDES", "RANDOM_FRACTION", "half_box", "mask_half", "mask_hidden", "random_hidden", "mask_random",
    "sample_ring", "ring_batches", "ring_centres", "mode_coverage", "ModeCoverage", "MODES", "RADIUS", "STD",
]
