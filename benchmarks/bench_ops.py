#!/usr/bin/env python3
"""Per-op timings of minigan at the shapes of its two MNIST GANs, forward and backward separately.

    python3 benchmarks/bench_ops.py [--threads 1] [--repeats 20] [--warmup 3] [--backend numpy|cupy|all]
                                    [--json [PATH]] [--tiny] [--no-torch]

For every available minigan backend (NumPy; CuPy when a GPU is present) and each op below, the forward
and the backward are timed on their own. With PyTorch importable, the same op in PyTorch (NCHW on its
side) is timed in the same process, alternating repeats with minigan, and the ratio minigan ÷ PyTorch of
the medians is reported (> 1: minigan is slower).

* forward: the public op (``ops.linear``, ``ops.conv2d``, …) on inputs that require gradients, so it
  records its graph exactly as in training.
* backward: only the op's ``Function.backward`` (what the engine calls for that node, under ``no_grad``
  as in a first-order ``backward()``), given a fixed dL/dy; before each repeat an untimed forward builds a fresh node, so an op may consume what it saved.
  Every input requires a gradient, so a conv's backward computes both dL/dx and dL/dW (in training the
  first D conv skips dL/dx in D's step). PyTorch's row is ``y.backward(dy)`` into leaves whose ``.grad``
  is reset to None before each repeat (so it assigns rather than adds, as after ``zero_grad``).
* bare GEMM: ``linalg.gemm(a, b)`` on contiguous operands at a conv layer's GEMM shape, beside
  ``torch.mm``: the BLAS alone (OpenBLAS vs PyTorch's), so a conv row's gap splits into BLAS and the rest.
* Adam: one ``step()`` over all parameters of a generator, gradients fixed; there is no backward.

GFLOP/s uses counted FLOPs: a GEMM of (M×K)·(K×N) is 2·M·N·K multiply-adds-as-two. The count of each op
is written next to its definition below (``flops``); batch norm and Adam do no GEMM and get none.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import apply_tf32, apply_threads  # noqa: E402  (must run before numpy is imported)

THREADS = apply_threads(sys.argv)
TF32 = apply_tf32(sys.argv)

import numpy  # noqa: E402

from benchmarks import common  # noqa: E402
from minigan import backend, ops, optim  # noqa: E402
from minigan.gans import models
from minigan.engine.autograd import Tensor, no_grad  # noqa: E402
from minigan.engine.ops import linalg  # noqa: E402

NAME = "bench_ops"
LR, BETAS = 2e-4, (0.5, 0.999)


# ----- the cases --------------------------------------------------------------------------------------
# Each case: kind, label, parameters, and its FLOP counts (forward, backward) from the GEMM shapes.
def linear_case(label, n, fan_in, fan_out, bias):
    # Y = X Wᵀ: (n × in)·(in × out)           forward 2·n·in·out
    # dX = dY W and dW = dYᵀ X: one each      backward 2 · 2·n·in·out
    f = 2 * n * fan_in * fan_out
    return dict(kind="linear", label=label, shape=f"x ({n}, {fan_in}) · W ({fan_out}, {fan_in})" + (" + b" if bias else ""),
                n=n, fan_in=fan_in, fan_out=fan_out, bias=bias, flops=(f, 2 * f))


def conv2d_case(label, n, size, c_in, c_out, bias, k=4, stride=2, padding=1):
    # im2col X (M = n·oh·ow, K = k·k·c_in), Y = X W_flatᵀ with W_flat (c_out, K)     forward 2·M·K·c_out
    # dX = col2im(dY W_flat) and dW = dYᵀ X: the same GEMM size each                 backward 2 · 2·M·K·c_out
    out = (size + 2 * padding - k) // stride + 1
    f = 2 * (n * out * out) * (k * k * c_in) * c_out
    return dict(kind="conv2d", label=label, shape=f"x ({n}, {size}, {size}, {c_in}) → ({n}, {out}, {out}, {c_out})",
                n=n, size=size, c_in=c_in, c_out=c_out, bias=bias, k=k, stride=stride, padding=padding, flops=(f, 2 * f))


def conv_transpose2d_case(label, n, size, c_in, c_out, bias, k=4, stride=2, padding=1):
    # X (M = n·H·W, c_in) · W_flat (c_in, k·k·c_out), then col2im                      forward 2·M·c_in·k·k·c_out
    # dX = im2col(dY) W_flatᵀ and dW = Xᵀ im2col(dY): the same GEMM size each           backward 2 · 2·M·c_in·k·k·c_out
    out = (size - 1) * stride - 2 * padding + k
    f = 2 * (n * size * size) * c_in * (k * k * c_out)
    return dict(kind="conv_transpose2d", label=label, shape=f"x ({n}, {size}, {size}, {c_in}) → ({n}, {out}, {out}, {c_out})",
                n=n, size=size, c_in=c_in, c_out=c_out, bias=bias, k=k, stride=stride, padding=padding, flops=(f, 2 * f))


def gemm_case(label, m, k, n):
    # the bare BLAS call, no op around it: (m × k)·(k × n), contiguous           forward 2·m·k·n; no backward
    return dict(kind="gemm", label=label, shape=f"({m}, {k}) · ({k}, {n})", m=m, k=k, n=n, flops=(2 * m * k * n, None))


def batch_norm_case(label, shape):
    # no GEMM: column sums are matrix-vector products, the rest elementwise passes — no FLOP count
    return dict(kind="batch_norm", label=label, shape=f"x {tuple(shape)}, training", dims=tuple(shape), flops=(None, None))


def adam_case(label, model):
    return dict(kind="adam", label=label, model=model, shape="", flops=(None, None))


def cases(tiny):
    b, bm = (2, 2) if tiny else (64, 100)  # DCGAN and MLP GAN minibatch sizes
    return [
        linear_case("G dense 100→6272 (DCGAN)", b, 100, 6272, bias=False),
        linear_case("D dense 6272→1 (DCGAN)", b, 6272, 1, bias=True),
        linear_case("G dense 1200→1200 (MLP)", bm, 1200, 1200, bias=True),
        conv2d_case("D conv 1→64 k4 s2 p1", b, 28, 1, 64, bias=True),
        conv2d_case("D conv 64→128 k4 s2 p1", b, 14, 64, 128, bias=False),
        conv_transpose2d_case("G convT 128→64 k4 s2 p1", b, 7, 128, 64, bias=False),
        conv_transpose2d_case("G convT 64→1 k4 s2 p1", b, 14, 64, 1, bias=True),
        gemm_case("bare GEMM of D conv 64→128", b * 49, 16 * 64, 128),
        gemm_case("bare GEMM of G convT 128→64", b * 49, 128, 16 * 64),
        batch_norm_case("batch norm (D conv2 / G convT1 out)", (b, 14, 14, 64)),
        batch_norm_case("batch norm (G dense out / D conv2 out)", (b, 7, 7, 128)),
        adam_case("Adam step, DCGAN G parameters", "dcgan"),
        adam_case("Adam step, MLP G parameters", "mlp"),
    ]


# ----- inputs, shared by both frameworks (NumPy arrays, channels-last) ---------------------------------
def host_inputs(case, rng):
    f32 = numpy.float32
    kind = case["kind"]
    if kind == "linear":
        arrays = {"x": rng.standard_normal((case["n"], case["fan_in"]), dtype=f32),
                  "w": rng.standard_normal((case["fan_out"], case["fan_in"]), dtype=f32) * f32(0.02)}
        if case["bias"]:
            arrays["b"] = rng.standard_normal(case["fan_out"], dtype=f32) * f32(0.02)
        return arrays
    if kind in ("conv2d", "conv_transpose2d"):
        n, s, ci, co, k = case["n"], case["size"], case["c_in"], case["c_out"], case["k"]
        w_shape = (co, k, k, ci) if kind == "conv2d" else (ci, k, k, co)  # conv2d: (O, kh, kw, C); convT: (Ci, kh, kw, Co)
        arrays = {"x": rng.standard_normal((n, s, s, ci), dtype=f32),
                  "w": rng.standard_normal(w_shape, dtype=f32) * f32(0.02)}
        if case["bias"]:
            arrays["b"] = rng.standard_normal(co, dtype=f32) * f32(0.02)
        return arrays
    if kind == "gemm":
        return {"a": rng.standard_normal((case["m"], case["k"]), dtype=f32), "b": rng.standard_normal((case["k"], case["n"]), dtype=f32)}
    if kind == "batch_norm":
        c = case["dims"][-1]
        return {"x": rng.standard_normal(case["dims"], dtype=f32),
                "gamma": f32(1) + rng.standard_normal(c, dtype=f32) * f32(0.02), "beta": numpy.zeros(c, f32)}
    return {}


def nchw(array):
    """(N, H, W, C) -> (N, C, H, W), contiguous."""
    return numpy.ascontiguousarray(array.transpose(0, 3, 1, 2))


def weight_to_torch(w):
    """conv2d (O, kh, kw, C) -> PyTorch (O, C, kh, kw); convT (Ci, kh, kw, Co) -> PyTorch (Ci, Co, kh, kw)."""
    return numpy.ascontiguousarray(w.transpose(0, 3, 1, 2))


# ----- minigan ----------------------------------------------------------------------------------------
def minigan_op(case, arrays, be):
    """(forward, parameters): forward() returns the op's output Tensor; for Adam forward() is one step."""
    leaf = {name: Tensor(be.asarray(a), requires_grad=True) for name, a in arrays.items()}
    kind = case["kind"]
    if kind == "gemm":  # the raw arrays through linalg.gemm, as the layers call it
        a, b = leaf["a"].data, leaf["b"].data
        return lambda: Tensor(linalg.gemm(a, b))
    if kind == "linear":
        return lambda: ops.linear(leaf["x"], leaf["w"], leaf.get("b"))
    if kind == "conv2d":
        return lambda: ops.conv2d(leaf["x"], leaf["w"], leaf.get("b"), stride=case["stride"], padding=case["padding"])
    if kind == "conv_transpose2d":
        return lambda: ops.conv_transpose2d(leaf["x"], leaf["w"], leaf.get("b"), stride=case["stride"], padding=case["padding"])
    if kind == "batch_norm":
        c = case["dims"][-1]
        running_mean, running_var = be.xp.zeros(c, be.dtype), be.xp.ones(c, be.dtype)
        return lambda: ops.batch_norm(leaf["x"], leaf["gamma"], leaf["beta"], running_mean, running_var, training=True)
    if kind == "adam":
        generator = models.dcgan_generator() if case["model"] == "dcgan" else models.mlp_generator()
        optimizer = optim.Adam(generator.parameters(), lr=LR, betas=BETAS)
        optimizer.grad[...] = be.rng(1).standard_normal(optimizer.grad.shape, dtype=be.dtype) * be.dtype.type(1e-3)
        case["parameters"] = int(optimizer.data.size)
        return optimizer.step
    raise ValueError(f"bench_ops: unknown op kind {kind!r}")


# ----- PyTorch, the same op (NCHW) --------------------------------------------------------------------
def torch_op(case, arrays, torch, device):
    """(forward, leaves): forward() returns the output tensor (or runs one Adam step)."""
    import torch.nn.functional as F

    kind = case["kind"]
    host = dict(arrays)
    if kind in ("conv2d", "conv_transpose2d"):
        host["x"], host["w"] = nchw(host["x"]), weight_to_torch(host["w"])
    elif kind == "batch_norm":
        host["x"] = nchw(host["x"])
    leaves = {name: torch.from_numpy(a).to(device).requires_grad_(True) for name, a in host.items()}
    if kind == "gemm":
        a, b = leaves["a"].detach(), leaves["b"].detach()
        return (lambda: torch.mm(a, b)), {}
    if kind == "linear":
        return (lambda: F.linear(leaves["x"], leaves["w"], leaves.get("b"))), leaves
    if kind == "conv2d":
        return (lambda: F.conv2d(leaves["x"], leaves["w"], leaves.get("b"), stride=case["stride"], padding=case["padding"])), leaves
    if kind == "conv_transpose2d":
        return (lambda: F.conv_transpose2d(leaves["x"], leaves["w"], leaves.get("b"), stride=case["stride"], padding=case["padding"])), leaves
    if kind == "batch_norm":
        c = case["dims"][-1]
        running_mean, running_var = torch.zeros(c, device=device), torch.ones(c, device=device)
        return (lambda: F.batch_norm(leaves["x"], running_mean, running_var, leaves["gamma"], leaves["beta"],
                                     training=True, momentum=0.1, eps=1e-5)), leaves
    if kind == "adam":
        shapes = [p.shape for p in (models.dcgan_generator() if case["model"] == "dcgan" else models.mlp_generator()).parameters()]
        generator = torch.Generator().manual_seed(1)
        params = [torch.zeros(tuple(s), device=device, requires_grad=True) for s in shapes]
        for p in params:
            p.grad = (torch.randn(p.shape, generator=generator) * 1e-3).to(device)
        optimizer = torch.optim.Adam(params, lr=LR, betas=BETAS)
        return optimizer.step, {}
    raise ValueError(f"bench_ops: unknown op kind {kind!r}")


def to_channels_last(torch_output, kind):
    array = torch_output.detach().cpu().numpy()
    return array.transpose(0, 2, 3, 1) if kind in ("conv2d", "conv_transpose2d", "batch_norm") else array


# ----- one backend ------------------------------------------------------------------------------------
def bench_backend(name, args, torch, torch_reason):
    be = backend.set_backend(name)
    backend.seed(0)
    clock = common.clock_for(name)
    torch_device, torch_reason = common.torch_device_for(name, torch, torch_reason)
    if torch_device is None:
        print(f"[{NAME}] {name}: PyTorch reference rows skipped: {torch_reason}")
    results = []
    for case in cases(args.tiny):
        rng = numpy.random.default_rng(0)
        arrays = host_inputs(case, rng)
        forward = minigan_op(case, arrays, be)
        t_forward = t_leaves = None
        if torch_device is not None:
            t_forward, t_leaves = torch_op(case, arrays, torch, torch_device)
        row = {"op": case["kind"], "label": case["label"], "shape": case["shape"], "backend": name,
               "flops_forward": case["flops"][0], "flops_backward": case["flops"][1]}
        if "parameters" in case:
            row["parameters"] = case["parameters"]
            row["shape"] = f"{case['parameters']:,} parameters"
        if t_forward is not None and case["kind"] != "adam":  # same inputs, same op: say how close the outputs are
            mine = backend.to_numpy(forward().data)
            theirs = to_channels_last(t_forward(), case["kind"])
            row["max_abs_diff_vs_torch"] = float(numpy.max(numpy.abs(mine - theirs)))
        # forward
        contestants = [common.Contestant("minigan", forward, clock)]
        if t_forward is not None:
            contestants.append(common.Contestant("torch", t_forward, common.clock_for(torch_device, torch)))
        samples = common.run_alternating(contestants, args.warmup, args.repeats)
        row["forward"] = {k: common.summarize(v) for k, v in samples.items()}
        # backward (not for Adam or a bare GEMM)
        if case["kind"] not in ("adam", "gemm"):
            state = {}
            probe = forward()
            dy = Tensor(be.asarray(numpy.random.default_rng(2).standard_normal(probe.shape, dtype=numpy.float32)))

            def mine_setup():
                state["y"] = forward()

            def mine_backward():
                with no_grad():  # what Tensor.backward() does for each node when create_graph=False
                    return state["y"]._ctx.backward(dy)

            contestants = [common.Contestant("minigan", mine_backward, clock, setup=mine_setup)]
            if t_forward is not None:
                t_dy = torch.from_numpy(numpy.random.default_rng(2).standard_normal(tuple(t_forward().shape), dtype=numpy.float32)).to(torch_device)

                def torch_setup():
                    for leaf in t_leaves.values():
                        leaf.grad = None
                    state["t"] = t_forward()

                contestants.append(common.Contestant("torch", lambda: state["t"].backward(t_dy), common.clock_for(torch_device, torch),
                                                     setup=torch_setup))
            samples = common.run_alternating(contestants, args.warmup, args.repeats)
            row["backward"] = {k: common.summarize(v) for k, v in samples.items()}
        results.append(row)
        print(f"[{NAME}] {name}: {case['label']} done", file=sys.stderr)
    return results


def table(results):
    headers = ["op", "shape", "backend", "pass", "minigan median ms", "min ms", "spread", "GFLOP/s",
               "PyTorch median ms", "PyTorch GFLOP/s", "minigan ÷ PyTorch"]
    rows = []
    for row in results:
        for direction, flops in (("forward", row["flops_forward"]), ("backward", row["flops_backward"])):
            if direction not in row:
                continue
            mine = row[direction]["minigan"]
            theirs = row[direction].get("torch")
            rows.append([
                row["label"], row["shape"], row["backend"], "step" if row["op"] == "adam" else direction,
                common.ms(mine["median"]), common.ms(mine["min"]), f"{mine['spread']:.0%}", common.gflops(flops, mine["median"]),
                common.ms(theirs["median"]) if theirs else "—", common.gflops(flops, theirs["median"]) if theirs else "—",
                f"{mine['median'] / theirs['median']:.2f}" if theirs else "—",
            ])
    return common.markdown_table(headers, rows)


def main(argv=None):
    parser = common.make_parser(NAME, __doc__.splitlines()[0], repeats=20, warmup=3)
    args = parser.parse_args(argv)
    torch, torch_reason = common.import_torch(args)
    machine = common.describe_machine(args.threads, torch, torch_reason)
    results, skipped = common.run_backends(NAME, args, bench_backend, torch, torch_reason)
    common.finish_machine(machine)
    print(f"## {NAME}: per-op medians over {args.repeats} repeats ({args.warmup} warm-up){' — TINY sizes, not a measurement' if args.tiny else ''}\n")
    print("\n".join(common.machine_lines(machine)) + "\n")
    print(table(results))
    common.save_results(NAME, args, machine, results, skipped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
