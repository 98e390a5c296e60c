#!/usr/bin/env python3
"""The choices that minigan's code comments give a reason for, each timed against its alternative.

    python3 benchmarks/bench_choices.py [--threads 1] [--repeats 61] [--warmup 3] [--json [PATH]] [--tiny]

A comment such as "a stride-2 slice is contiguous only C floats at a time" explains *why* a kernel is
written the way it is; this script measures *how much* it matters, so that the numbers live here and
in ``benchmarks/README.md`` instead of in the code. Each case is one choice and the alternative it
was preferred to (for the fast kernels: their slow twin in ``minigan.engine.ops.reference``), at the
shape of the DCGAN or MLP GAN layer where it matters. Both run in this process on the same arrays,
repeats alternating (``common.run_alternating``); the table gives each median and minimum and the
ratios chosen ÷ alternative of both (below 1: the choice is faster; on a busy machine the ratio of
the minima is the steadier one). Before timing, each case checks that the two compute the same values.

NumPy only: these are facts about NumPy's loops and OpenBLAS on the CPU. One choice is not timed here,
because it needs two processes: ``backend.keep_freed_memory``; compare
``MINIGAN_KEEP_FREED_MEMORY=0 python3 benchmarks/bench_training.py --no-torch`` with the same command
without the variable.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import apply_threads  # noqa: E402  (must run before numpy is imported)

THREADS = apply_threads(sys.argv)

import argparse  # noqa: E402

import numpy  # noqa: E402

from benchmarks import common  # noqa: E402
from minigan import Tensor, backend, no_grad  # noqa: E402
from minigan.engine.ops import conv, im2col, reference  # noqa: E402
from minigan.engine.ops.batchnorm import BatchNorm  # noqa: E402
from minigan.tools.cli import non_negative_int, positive_int  # noqa: E402

NAME = "bench_choices"
F32 = numpy.float32


def _random(shape, seed):
    return numpy.random.default_rng(seed).standard_normal(shape).astype(F32)


# ----- the cases: (label, where in the code, shape, chosen, alternative) --------------------------------
# Each maker returns the two callables; both are checked to agree before they are timed.


def relu_case(shape):
    x = _random(shape, 0)

    def array_of_zeros():  # ops.activations.ReLU.forward
        y = numpy.zeros_like(x)
        numpy.maximum(x, y, out=y)
        return y

    return array_of_zeros, lambda: numpy.maximum(x, 0)


def leaky_forward_case(shape, slope=0.2):
    x = _random(shape, 1)
    return (lambda: numpy.maximum(x, x * F32(slope)),              # ops.activations.LeakyReLU.forward
            lambda: numpy.where(x > 0, x, x * F32(slope)))


def leaky_backward_case(shape, slope=0.2):
    x, dy = _random(shape, 2), _random(shape, 3)

    def five_passes():  # ops.activations.LeakyReLU.backward
        scale = (x > 0).astype(F32)
        scale *= F32(1.0 - slope)
        scale += F32(slope)
        scale *= dy
        return scale

    def masked_copy():
        out = dy * F32(slope)
        numpy.copyto(out, dy, where=x > 0)
        return out

    return five_passes, masked_copy


def im2col_case(n, size, channels, kernel=4, stride=2, padding=1):
    x_padded = im2col.pad2d(_random((n, size, size, channels), 4), (padding, padding))
    out = conv.conv_output_size(size, kernel, stride, padding)
    geometry = ((kernel, kernel), (out, out), (stride, stride), (1, 1))
    return lambda: im2col.im2col(x_padded, *geometry), lambda: reference.im2col(x_padded, *geometry)


def col2im_case(n, size, channels, kernel=4, stride=2, padding=1):
    """col2im onto an (n, size, size, channels) image from the (kernel², n, out, out, channels) columns
    of a stride-2 conv's dL/dx (or, the same shapes, a stride-2 transposed conv's forward)."""
    out = conv.conv_output_size(size, kernel, stride, padding)
    cols = _random((kernel * kernel, n, out, out, channels), 5)
    args = ((n, size, size, channels), (kernel, kernel), (out, out), (stride, stride), (1, 1), (padding, padding))
    return lambda: im2col.col2im(cols, *args), lambda: reference.col2im(cols, *args)


def column_sums_case(rows, columns):
    a = _random((rows, columns), 6)
    return lambda: conv.column_sums(a), lambda: reference.column_sums(a)


def tiled_broadcast_case(shape):
    """One elementwise pass of batch norm, x − μ: on x viewed (N, R·C) with μ tiled R times (the
    choice) against the (m, C) view with μ broadcast over m rows of C values."""
    x = _random(shape, 7)
    channels, n = shape[-1], shape[0]
    tile = x.size // (n * channels)
    mean = x.reshape(-1, channels).mean(axis=0)
    wide, rows = x.reshape(n, tile * channels), x.reshape(-1, channels)
    return (lambda: (wide - numpy.tile(mean, tile)).reshape(shape),
            lambda: (rows - mean).reshape(shape))


def batch_norm_case(shape):
    """Batch norm forward + backward in training mode: the fused op against the twins (Algorithm 1, §3)."""
    x, dy = _random(shape, 8), _random(shape, 9)
    gamma, beta = _random(shape[-1:], 10), _random(shape[-1:], 11)

    def fused():
        function = BatchNorm()
        function.needs_input_grad = (True, True, True)
        y = function.forward(x, gamma, beta, True, None, None, 0.1, 1e-5)
        with no_grad():  # as the engine runs a first-order backward: the fused kernel, on a Tensor
            gradients = function.backward(Tensor(dy))
        return (y, *(g.data for g in gradients))

    def twins():
        y = reference.batch_norm_forward(x, gamma, beta)
        return (y, *reference.batch_norm_backward(dy, x, gamma))

    return fused, twins


def maxout_case(n, units, pieces):
    """The same maxout units laid out pieces-major (the choice: (N, pieces, out), max over the middle
    axis) and units-major ((N, out, pieces), max over a last axis of ``pieces`` values)."""
    z = _random((n, pieces * units), 12)                                      # pieces-major columns
    z_units_major = z.reshape(n, pieces, units).transpose(0, 2, 1).copy()     # (N, pieces, out) -> (N, out, pieces)
    return (lambda: z.reshape(n, pieces, units).max(axis=1),                 # nn.Maxout.forward
            lambda: z_units_major.max(axis=2))


def outer_product_case(rows, columns):
    a, b = _random((rows, 1), 13), _random((1, columns), 14)
    return lambda: a * b, lambda: a @ b                    # ops.linalg.matrix_product


def weight_norm_case(n, fan_in, fan_out):
    """A weight-normalised dense layer, forward and backward through the engine (the choice: W = g·v/‖v‖ composed
    of ops, so that the engine derives its gradients), against a plain ``Linear`` given that same W: what weight
    norm costs, at the semi-supervised GAN's first D layer (labelled, unlabelled and fake minibatches in one call)."""
    from minigan import nn

    backend.seed(0)
    normalised = nn.WeightNormLinear(fan_in, fan_out)
    plain = nn.Linear(fan_in, fan_out)
    plain.weight.data[...] = normalised.effective_weight().data
    x_values, dy = _random((n, fan_in), 15), _random((n, fan_out), 16)

    def forward_backward(layer):
        def run():
            x = Tensor(x_values, requires_grad=True)
            y = layer(x)
            y.backward(dy)
            return y.data, x.grad
        return run

    return forward_backward(normalised), forward_backward(plain)


def cases(tiny):
    """(label, where, shape text, maker) for every case; ``tiny`` shrinks every shape."""
    n, mlp_n = (2, 4) if tiny else (64, 100)
    d_conv2 = (n, 14, 14, 64)   # D's 64→128 conv input, and G's first transposed conv's output
    return [
        ("ReLU: maximum against an array of zeros vs against the scalar 0", "ops.activations.ReLU.forward",
         d_conv2, lambda: relu_case(d_conv2)),
        ("LeakyReLU: maximum(x, a·x) vs where(x > 0, x, a·x)", "ops.activations.LeakyReLU.forward",
         d_conv2, lambda: leaky_forward_case(d_conv2)),
        ("LeakyReLU backward: five-pass factor vs a masked copy (copyto where x > 0)", "ops.activations.LeakyReLU.backward",
         d_conv2, lambda: leaky_backward_case(d_conv2)),
        ("im2col as one strided view and one copy vs its twin (one slice per offset), D conv 64→128 k4 s2 p1", "ops.im2col.im2col",
         d_conv2, lambda: im2col_case(n, 14, 64)),
        ("im2col as one strided view vs its twin, D conv 1→64 k4 s2 p1 (one channel)", "ops.im2col.im2col",
         (n, 28, 28, 1), lambda: im2col_case(n, 28, 1)),
        ("col2im by stride phases, grouped offsets, vs its twin (padded buffer, crop), onto (N, 14, 14, 64), k4 s2 p1", "ops.im2col.col2im",
         d_conv2, lambda: col2im_case(n, 14, 64)),
        ("col2im by stride phases, grouped offsets, vs its twin, onto (N, 28, 28, 1), k4 s2 p1 (G's last layer)", "ops.im2col.col2im",
         (n, 28, 28, 1), lambda: col2im_case(n, 28, 1)),
        ("conv bias gradient: ones @ a vs a.sum(axis=0)", "ops.conv.column_sums",
         (n * 196, 64), lambda: column_sums_case(n * 196, 64)),
        ("batch norm pass x − μ: tiled to (N, R·C) vs broadcast over (m, C)", "ops.batchnorm.BatchNorm.forward",
         d_conv2, lambda: tiled_broadcast_case(d_conv2)),
        ("batch norm forward + backward, training: fused vs its twins", "ops.batchnorm.BatchNorm",
         d_conv2, lambda: batch_norm_case(d_conv2)),
        ("maxout max: over the middle axis (pieces-major) vs over a last axis of 5", "nn.maxout.Maxout",
         (mlp_n, 5, 240), lambda: maxout_case(mlp_n, 240, 5)),
        ("outer product (inner dimension 1): broadcasting vs BLAS", "ops.linalg.matrix_product",
         (n, 1, 6272), lambda: outer_product_case(n, 6272)),
        ("weight norm composed of ops vs a plain Linear (forward + backward), semi-supervised D 784→1000", "nn.weight_norm.weight_norm",
         (6, 8, 4) if tiny else (3 * mlp_n, 784, 1000), lambda: weight_norm_case(*((6, 8, 4) if tiny else (3 * mlp_n, 784, 1000)))),
    ]


# ----- running them ---------------------------------------------------------------------------------
def check_agree(label, chosen, alternative):
    """Both sides compute the same values (float32: to float32 rounding), or the case is not a fair race."""
    a, b = chosen(), alternative()
    for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
        numpy.testing.assert_allclose(numpy.asarray(x), numpy.asarray(y), rtol=1e-4, atol=1e-4, err_msg=label)


def run(args):
    clock = common.HostClock()
    rows = []
    for label, where, shape, make in cases(args.tiny):
        chosen, alternative = make()
        check_agree(label, chosen, alternative)
        samples = common.run_alternating([common.Contestant("chosen", chosen, clock),
                                          common.Contestant("alternative", alternative, clock)],
                                         args.warmup, args.repeats)
        chosen_stats, alternative_stats = common.summarize(samples["chosen"]), common.summarize(samples["alternative"])
        rows.append({"choice": label, "where": where, "shape": list(shape), "backend": "numpy",
                     "chosen": chosen_stats, "alternative": alternative_stats,
                     "ratio": chosen_stats["median"] / alternative_stats["median"]})
        print(f"[{NAME}] {label}: {common.ms(chosen_stats['median'])} ms vs {common.ms(alternative_stats['median'])} ms", flush=True)
    return rows


def table(rows):
    headers = ["choice", "in the code", "shape", "chosen median (min) ms", "alternative median (min) ms",
               "chosen ÷ alternative, medians (mins)", "spreads"]
    body = []
    for row in rows:
        chosen, alternative = row["chosen"], row["alternative"]
        body.append([row["choice"], f"`{row['where']}`", "×".join(map(str, row["shape"])),
                     f"{common.ms(chosen['median'])} ({common.ms(chosen['min'])})",
                     f"{common.ms(alternative['median'])} ({common.ms(alternative['min'])})",
                     f"**{row['ratio']:.2f}** ({chosen['min'] / alternative['min']:.2f})",
                     f"{chosen['spread']:.0%} / {alternative['spread']:.0%}"])
    return common.markdown_table(headers, body)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog=f"{NAME}.py", description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=positive_int, default=common.DEFAULT_THREADS,
                        help="BLAS/OpenMP threads (default %(default)s; applied before NumPy is imported)")
    parser.add_argument("--repeats", type=positive_int, default=61, help="timed repeats per contestant (default %(default)s)")
    parser.add_argument("--warmup", type=non_negative_int, default=3, help="untimed calls first (default %(default)s)")
    parser.add_argument("--json", nargs="?", const=f"{NAME}.json", default=None, metavar="PATH",
                        help=f"also write every sample and the machine as JSON to PATH (bare --json: ./{NAME}.json)")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: a smoke test of the script, not a measurement")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    backend.get_backend()  # creating the NumPy backend applies keep_freed_memory, as in training
    machine = common.describe_machine(args.threads, None, "not used: every case is minigan against minigan")
    rows = run(args)
    common.finish_machine(machine)
    tiny = " — TINY sizes, not a measurement" if args.tiny else ""
    print(f"\n## {NAME}: each choice against its alternative, medians over {args.repeats} alternating repeats "
          f"({args.warmup} warm-up){tiny}\n")
    print("\n".join(common.machine_lines(machine)) + "\n")
    print(table(rows))
    if args.json:
        settings = {k: getattr(args, k) for k in ("threads", "repeats", "warmup", "tiny")}
        common.write_json(args.json, {"script": NAME, "machine": machine, "settings": settings, "results": rows,
                                      "units": "seconds; ratio = chosen median / alternative median"})
        print(f"\n[{NAME}] wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
