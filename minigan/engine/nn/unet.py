"""``UNet``: an encoder–decoder whose decoder also sees the encoder's features at each scale (Ronneberger
et al. 2015), as the pix2pix generator (Isola et al. 2017, §3.2.1 and Appendix 6.1.1).

With depth D = len(widths), for x (N, H, W, in_channels), H and W multiples of 2^D::

    e₁ = LReLU(conv(x))            (N, H/2,   W/2,   widths[0])      encoder: conv k4 s2 p1, LeakyReLU 0.2,
    eₖ = LReLU(BN(conv(eₖ₋₁)))     (N, H/2ᵏ,  W/2ᵏ,  widths[k−1])     batch norm from the second layer on
    u_{D−1} = ReLU(drop(BN(up(e_D))))                                 decoder: upsample by 2 (conv-transpose
    uₖ = ReLU(drop(BN(up([uₖ₊₁, eₖ₊₁]))))  k = D−2 … 1              k4 s2 p1), batch norm, ReLU
    y  = tanh(up([u₁, e₁]))         (N, H, W, out_channels)

[a, b] is the concatenation along channels: the *skip connection* that hands the decoder at scale k the
encoder's features at scale k, so detail that the bottleneck e_D cannot hold (where the strokes are)
need not pass through it ("shuttle this information directly across the net", Isola et al. 2017, §3.2.1).
The gradient of the concatenation splits back into both parts (``ops.shape.Concatenate``), so e_k is
trained through the skip as well as through the deeper layers. ``skips=False`` drops the
concatenations: the plain encoder–decoder of the paper's Fig. 5 comparison.

``dropout`` (pix2pix's only source of noise: "dropout, applied on several layers of our generator")
is applied in the decoder layers below the output, in training mode. ``upsample``: "transpose" (the
paper's conv-transpose k4 s2 p1) or "nearest" (nearest-neighbour ×2, then conv k3 s1 p1: the
resize-convolution of Odena et al. 2016, whose output has no checkerboard pattern).
"""

from ..checks import boolean
from ..ops.shape import concatenate
from .activation import LeakyReLU, ReLU, Tanh
from .conv import Conv2d, ConvTranspose2d
from .dropout import Dropout
from .module import Module, Sequential
from .norm import BatchNorm2d
from .resample import Upsample

UPSAMPLING = ("transpose", "nearest")


def _up(in_channels, out_channels, upsample, bias, rng):
    """×2 upsampling from in_channels to out_channels."""
    if upsample == "transpose":
        return [ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1, bias=bias, rng=rng)]
    return [Upsample(2), Conv2d(in_channels, out_channels, 3, padding=1, bias=bias, rng=rng)]


class UNet(Module):
    """x (N, H, W, in_channels) → tanh output (N, H, W, out_channels), with a skip at every scale (see above)."""

    def __init__(self, in_channels, out_channels, widths=(64, 128), dropout=0.5, skips=True, upsample="transpose", rng=None):
        if not (isinstance(widths, (tuple, list)) and widths and all(isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in widths)):
            raise ValueError(f"UNet: widths must be a non-empty tuple or list of positive ints, one per level "
                             f"(e.g. (64, 128)), got {widths!r} (a {type(widths).__name__})")
        skips = boolean("UNet", "skips", skips)  # skips='no' would be true
        if upsample not in UPSAMPLING:
            raise ValueError(f"UNet: upsample must be one of {UPSAMPLING}, got {upsample!r}")
        self.widths, self.skips, self.upsample = tuple(widths), skips, upsample
        depth = len(widths)
        self.encoder = []
        for k, width in enumerate(widths):
            previous = in_channels if k == 0 else widths[k - 1]
            conv = Conv2d(previous, width, 4, stride=2, padding=1, bias=k == 0, rng=rng)
            self.encoder.append(Sequential(conv, LeakyReLU(0.2)) if k == 0 else Sequential(conv, BatchNorm2d(width), LeakyReLU(0.2)))
        self.decoder = []  # decoder[k] produces the scale of encoder[k − 1]'s output (decoder[0] the image)
        for k in range(depth):
            incoming = widths[k] * (2 if self.skips and k < depth - 1 else 1)  # [u_{k+1}, e_{k+1}] or e_D
            if k == 0:
                layers = _up(incoming, out_channels, upsample, True, rng) + [Tanh()]
            else:
                layers = _up(incoming, widths[k - 1], upsample, False, rng) + [BatchNorm2d(widths[k - 1])]
                layers += [Dropout(dropout)] if dropout else []
                layers += [ReLU()]
            self.decoder.append(Sequential(*layers))

    def forward(self, x):
        depth = len(self.widths)
        if x.ndim != 4 or x.shape[1] % 2**depth or x.shape[2] % 2**depth:
            raise ValueError(f"UNet: input must be (N, H, W, C) with H and W multiples of 2^{depth} = {2**depth} "
                             f"(one halving per encoder level), got shape {x.shape}")
        features = []
        for level in self.encoder:
            x = level(x)
            features.append(x)                                  # e₁ … e_D
        y = self.decoder[-1](features[-1])                      # u_{D−1} from the bottleneck e_D
        for k in range(depth - 2, -1, -1):
            if self.skips:
                y = concatenate([y, features[k]], axis=3)       # [u_{k+1}, e_{k+1}]: (N, h, w, 2·widths[k])
            y = self.decoder[k](y)
        return y

    def extra_repr(self):
        return f"widths={self.widths}, skips={self.skips}, upsample={self.upsample!r}"
