#!/usr/bin/env python3
"""Whole training iterations of minigan's two MNIST GANs, beside the same GANs in PyTorch.

    python3 benchmarks/bench_training.py [--threads 1] [--repeats 15] [--warmup 2] [--backend numpy|cupy|all]
                                         [--json [PATH]] [--tiny] [--no-torch] [--tf32 off|on]
    python3 benchmarks/bench_training.py --count-calls [--json [PATH]]

What is timed: one ``gan.train_iteration`` of Algorithm 1 (a D step on a real minibatch and as many fresh
fakes, then a G step through the frozen D) of ``minigan.gans.models.build_gan("dcgan")`` at batch 64 and of
``build_gan("mlp")`` at batch 100, on one fixed random "real" minibatch (the data loader is not part of
the step). Where PyTorch imports, the same architectures and the same step (``torch_mirror`` below) are
timed in the same process, repeats alternating with minigan's, and the ratio minigan ÷ PyTorch of the
medians is reported (> 1: minigan is slower).

GEMM share: for each minigan iteration, ``minigan.engine.ops.linalg.gemm_observer`` is set to a function that
times every matrix product of the dense and conv layers and counts its FLOPs (2·M·N·K); summed over a step
and divided by that same step's time, it is the fraction of the step spent inside BLAS. On the CPU each GEMM
is timed with perf_counter. On CuPy each GEMM is bracketed by two CUDA events and nothing is synchronised
until the step ends (a synchronise around every GEMM would measure sync latency, not the GEMM); the event
pairs are summed afterwards. The counted FLOPs are checked against the formula in ``gemm_flops_per_iteration``.

Counting mode (``--count-calls``): no timing. Each GAN runs one warm-up iteration and one counted iteration
on the strict device double of the tests (``tests/device_double.py``), which counts every call into the
array module (a function, method or operator: a stand-in for a kernel launch) and every device→host sync.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import apply_tf32, apply_threads  # noqa: E402  (must run before numpy is imported)

THREADS = apply_threads(sys.argv)
TF32 = apply_tf32(sys.argv)

import importlib  # noqa: E402
import itertools  # noqa: E402
import time  # noqa: E402

import numpy  # noqa: E402

from benchmarks import common  # noqa: E402
from minigan import backend  # noqa: E402
from minigan.gans import models
from minigan.engine.autograd import Tensor  # noqa: E402

NAME = "bench_training"
BATCH = {"dcgan": 64, "mlp": 100}
TINY_BATCH = 4
LR, BETAS = 2e-4, (0.5, 0.999)


# ----- counted FLOPs ----------------------------------------------------------------------------------
def gemm_layers(model, batch):
    """[(network, layer, flops of its forward GEMM)] in order; a GEMM of (M×K)·(K×N) counts 2·M·N·K.

    DCGAN (B = batch, width 64, channels-last):
        G dense 100→6272:       M = B,       K = 100,        N = 6272
        G convT 128→64 (7→14):  M = B·7·7,   K = 128,        N = 4·4·64      (X · W_flat, then col2im)
        G convT 64→1 (14→28):   M = B·14·14, K = 64,         N = 4·4·1
        D conv 1→64 (28→14):    M = B·14·14, K = 4·4·1,      N = 64          (im2col · W_flatᵀ)
        D conv 64→128 (14→7):   M = B·7·7,   K = 4·4·64,     N = 128
        D dense 6272→1:         M = B,       K = 6272,       N = 1
    MLP GAN (B = batch): G 100→1200→1200→784; D maxout 784→240×5 = 1200, maxout 240→1200, dense 240→1.
    """
    if model == "dcgan":
        g = [("G", "dense", 2 * batch * 100 * 6272), ("G", "convT1", 2 * (batch * 49) * 128 * (16 * 64)),
             ("G", "convT2", 2 * (batch * 196) * 64 * (16 * 1))]
        d = [("D", "conv1", 2 * (batch * 196) * (16 * 1) * 64), ("D", "conv2", 2 * (batch * 49) * (16 * 64) * 128),
             ("D", "dense", 2 * batch * 6272 * 1)]
    else:
        g = [("G", "dense1", 2 * batch * 100 * 1200), ("G", "dense2", 2 * batch * 1200 * 1200), ("G", "dense3", 2 * batch * 1200 * 784)]
        d = [("D", "maxout1", 2 * batch * 784 * 1200), ("D", "maxout2", 2 * batch * 240 * 1200), ("D", "dense", 2 * batch * 240 * 1)]
    return g, d


def gemm_flops_per_iteration(model, batch):
    """GEMM FLOPs of one ``train_iteration`` (k = 1), from the layer counts f of ``gemm_layers``.

    Every layer's backward is one GEMM of the forward's size per gradient it computes: dX (if its input
    needs a gradient) and dW (if its weight does). With ΣG, ΣD the forward sums, g₁ G's first layer (its
    input z needs no gradient) and d₁ D's first layer (its input is data in D's step):

        D step: G forward under no_grad              ΣG
                D forward on real and on fakes        2ΣD
                D backward ×2: dW everywhere, dX but d₁'s     2(2ΣD − d₁)
        G step: G forward (fresh noise, with graph)   ΣG
                D forward                             ΣD
                D backward, frozen: dX only           ΣD
                G backward: dW everywhere, dX but g₁'s        2ΣG − g₁
        total = 4ΣG + 8ΣD − 2d₁ − g₁

    For DCGAN at batch 64 that is 10.37 GFLOP. A step that reuses the D step's fakes for the G step, as
    PyTorch's DCGAN example does, would count one G forward less (ΣG = 0.93 GFLOP); ``gan.generator_step``
    draws fresh noise and runs G again, as Algorithm 1 says.
    """
    g, d = gemm_layers(model, batch)
    sum_g, sum_d = sum(f for *_, f in g), sum(f for *_, f in d)
    return 4 * sum_g + 8 * sum_d - 2 * d[0][2] - g[0][2]


# ----- minigan ----------------------------------------------------------------------------------------
def real_batch(model, batch, seed=0):
    """A fixed random minibatch in the model's image range, (B, 28, 28, 1) float32."""
    rng = numpy.random.default_rng(seed)
    low = -1.0 if models.IMAGE_RANGE[model] == "tanh" else 0.0
    return rng.uniform(low, 1.0, size=(batch, 28, 28, 1)).astype(numpy.float32)


def minigan_iteration(model, batch, be):
    """(gan, step): step() runs one ``gan.train_iteration`` on the fixed minibatch."""
    gan = models.build_gan(model, seed=0)
    real = Tensor(be.asarray(real_batch(model, batch)))
    batches = itertools.repeat(real)
    return gan, lambda: gan.train_iteration(batches)


def gemm_share(step, be, warmup, repeats):
    """Time ``step`` with every GEMM timed by ``gemm_observer``; per-iteration GEMM time, step time, FLOPs."""
    linalg = importlib.import_module("minigan.engine.ops.linalg")
    sync = be.synchronize
    acc = {"time": 0.0, "flops": 0, "calls": 0}
    observer, gemm_seconds = cuda_event_observer(be.xp, linalg, acc) if be.name == "cupy" else host_observer(linalg, acc)
    previous, linalg.gemm_observer = linalg.gemm_observer, observer
    try:
        for _ in range(warmup):
            step()
            gemm_seconds()
        gemm_times, step_times, flops, calls = [], [], set(), set()
        for _ in range(repeats):
            acc.update(time=0.0, flops=0, calls=0)
            sync()
            start = time.perf_counter()
            step()
            sync()
            step_times.append(time.perf_counter() - start)
            gemm_times.append(gemm_seconds())
            flops.add(acc["flops"])
            calls.add(acc["calls"])
    finally:
        linalg.gemm_observer = previous
    shares = [g / s for g, s in zip(gemm_times, step_times)]
    return {
        "share_of_total": sum(gemm_times) / sum(step_times),
        "share_median": common.summarize(shares)["median"],
        "gemm": common.summarize(gemm_times),
        "step_with_observer": common.summarize(step_times),
        "flops_per_iteration": sorted(flops),
        "gemm_calls_per_iteration": sorted(calls),
        "gemm_gflops_per_s": max(flops) / (sum(gemm_times) / len(gemm_times)) / 1e9,
    }


def host_observer(linalg, acc):
    """(observer, gemm_seconds) on the CPU: each GEMM timed with perf_counter; the step's sum so far."""

    def observer(a, b):
        start = time.perf_counter()
        product = linalg.matrix_product(a, b)
        acc["time"] += time.perf_counter() - start
        acc["flops"] += 2 * product.size * a.shape[-1]  # 2·M·N·K, times B for a stack of b
        acc["calls"] += 1
        return product

    return observer, lambda: acc["time"]


def cuda_event_observer(cupy, linalg, acc):
    """(observer, gemm_seconds) for CuPy: each GEMM between two CUDA events, nothing synchronised.

    ``gemm_seconds()`` waits once for the last event and sums the event pairs of the step (seconds).
    UNTESTED: written for a GPU, which this project's machine and CI do not have. What it measures: the
    device time from the first event to the second; if the GPU sits idle waiting for the host to queue the
    GEMM, that wait is counted too, so on a launch-bound step this is an upper bound.
    """
    pairs = []

    def observer(a, b):
        start, end = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        product = linalg.matrix_product(a, b)
        end.record()
        pairs.append((start, end))
        acc["flops"] += 2 * product.size * a.shape[-1]  # 2·M·N·K, times B for a stack of b
        acc["calls"] += 1
        return product

    def gemm_seconds():
        if pairs:
            pairs[-1][1].synchronize()
        total = sum(cupy.cuda.get_elapsed_time(start, end) for start, end in pairs) / 1e3  # ms -> s
        pairs.clear()
        return total

    return observer, gemm_seconds


# ----- counting mode: calls and syncs on the strict device double ------------------------------------------
def count_calls(tiny=False):
    """[row] per model: array-module calls and device→host syncs of one ``train_iteration`` (after one warm-up)."""
    device_double = common.load_device_double()
    be = backend.set_backend("strict")
    backend.seed(0)
    rows = []
    for model in ("dcgan", "mlp"):
        batch = TINY_BATCH if tiny else BATCH[model]
        _, step = minigan_iteration(model, batch, be)
        step()  # the first iteration allocates the optimisers' moments; count a steady one
        with device_double.counting() as counts:
            step()
        rows.append({"model": model, "batch": batch, "backend": "strict", "calls": counts.calls, "syncs": counts.syncs,
                     "sync_names": dict(counts.sync_names), "calls_by_name": dict(counts.names.most_common())})
    return rows


def count_table(rows):
    headers = ["model", "batch", "array-module calls / iteration", "device→host syncs / iteration", "most frequent calls"]
    body = [[row["model"], row["batch"], row["calls"], row["syncs"],
             ", ".join(f"{name} {n}" for name, n in list(row["calls_by_name"].items())[:6])] for row in rows]
    return common.markdown_table(headers, body)


# ----- PyTorch: the same GANs and the same step --------------------------------------------------------
def torch_networks(torch, model):
    """(G, D) in PyTorch with minigan's layer sizes (NCHW images); DCGAN initialised as ``nn.init.normal_weights_``."""
    nn = torch.nn

    class Maxout(nn.Module):
        """max over ``pieces`` affine maps: Linear to out·pieces, view (N, out, pieces), max over pieces."""

        def __init__(self, fan_in, out, pieces):
            super().__init__()
            self.out, self.pieces = out, pieces
            self.linear = nn.Linear(fan_in, out * pieces)

        def forward(self, x):
            return self.linear(x).view(x.shape[0], self.out, self.pieces).max(dim=2).values

    if model == "dcgan":
        generator = nn.Sequential(
            nn.Linear(100, 7 * 7 * 128, bias=False), nn.Unflatten(1, (128, 7, 7)),
            nn.BatchNorm2d(128), nn.ReLU(),
            nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
            nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1), nn.Tanh(),
        )
        discriminator = nn.Sequential(
            nn.Conv2d(1, 64, 4, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(64, 128, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
            nn.Flatten(), nn.Linear(7 * 7 * 128, 1),
        )
        for net in (generator, discriminator):
            for module in net.modules():
                if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d)):
                    nn.init.normal_(module.weight, mean=1.0 if isinstance(module, nn.BatchNorm2d) else 0.0, std=0.02)
                    if module.bias is not None:
                        nn.init.zeros_(module.bias)
    else:  # models.mlp_generator(): batch norm after each hidden layer, whose bias it makes redundant
        generator = nn.Sequential(
            nn.Linear(100, 1200, bias=False), nn.BatchNorm1d(1200), nn.ReLU(),
            nn.Linear(1200, 1200, bias=False), nn.BatchNorm1d(1200), nn.ReLU(),
            nn.Linear(1200, 784), nn.Sigmoid(),
            nn.Unflatten(1, (1, 28, 28)),
        )
        discriminator = nn.Sequential(
            nn.Flatten(), nn.Dropout(0.2), Maxout(784, 240, 5), nn.Dropout(0.5), Maxout(240, 240, 5), nn.Dropout(0.5),
            nn.Linear(240, 1),
        )
    return generator, discriminator


def torch_mirror(torch, model, batch, device):
    """step(): minigan/gans/gan.py's ``train_iteration`` (k = 1) written in PyTorch, line for line."""
    torch.manual_seed(0)
    generator, discriminator = (net.to(device).train() for net in torch_networks(torch, model))
    g_optimizer = torch.optim.Adam(generator.parameters(), lr=LR, betas=BETAS)
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=LR, betas=BETAS)
    bce = torch.nn.BCEWithLogitsLoss()
    real = torch.from_numpy(real_batch(model, batch).transpose(0, 3, 1, 2).copy()).to(device)  # (B, 1, 28, 28)
    real_label = 1.0 if model == "dcgan" else 0.9  # build_gan: one-sided label smoothing for the MLP GAN
    real_target = torch.full((batch, 1), real_label, device=device)
    zeros, ones = torch.zeros(batch, 1, device=device), torch.ones(batch, 1, device=device)

    def noise():
        if model == "dcgan":
            return torch.randn(batch, 100, device=device)
        return torch.rand(batch, 100, device=device) * 2 - 1  # U(−1, 1)

    def mean_probability(logits):  # left on the device, as minigan's statistics are: no sync per step
        return torch.sigmoid(logits.detach()).mean()

    def step():
        # D step: ascend log D(x) + log(1 − D(G(z))); G runs without a graph
        with torch.no_grad():
            fake = generator(noise())
        real_logits = discriminator(real)
        fake_logits = discriminator(fake)
        loss = bce(real_logits, real_target) + bce(fake_logits, zeros)
        d_optimizer.zero_grad()
        loss.backward()
        d_optimizer.step()
        stats = {"d_loss": loss.detach(), "d_real": mean_probability(real_logits), "d_fake": mean_probability(fake_logits)}
        # G step through a frozen D: non-saturating loss −log D(G(z)) on fresh noise
        discriminator.requires_grad_(False)
        try:
            fake_logits = discriminator(generator(noise()))
            loss = bce(fake_logits, ones)
            g_optimizer.zero_grad()
            loss.backward()
            g_optimizer.step()
        finally:
            discriminator.requires_grad_(True)
        stats.update(g_loss=loss.detach(), d_fake_after=mean_probability(fake_logits))
        return stats

    return step


# ----- one backend ------------------------------------------------------------------------------------
def bench_backend(name, args, torch, torch_reason):
    be = backend.set_backend(name)
    backend.seed(0)
    torch_device, torch_reason = common.torch_device_for(name, torch, torch_reason)
    rows = []
    for model in ("dcgan", "mlp"):
        batch = TINY_BATCH if args.tiny else BATCH[model]
        _, step = minigan_iteration(model, batch, be)
        contestants = [common.Contestant("minigan", step, common.clock_for(name))]
        if torch_device is not None:
            contestants.append(common.Contestant("torch", torch_mirror(torch, model, batch, torch_device),
                                                 common.clock_for(torch_device, torch)))
        else:
            print(f"[{NAME}] {model} on {name}: PyTorch row skipped: {torch_reason}")
        print(f"[{NAME}] {model} on {name}: timing {args.repeats} alternating repeats …", file=sys.stderr)
        samples = common.run_alternating(contestants, args.warmup, args.repeats)
        row = {"model": model, "batch": batch, "backend": name, "torch_device": torch_device,
               "torch_skipped_because": None if torch_device else torch_reason,
               "iteration": {k: common.summarize(v) for k, v in samples.items()}}
        if "torch" in row["iteration"]:
            row["ratio_minigan_over_torch"] = row["iteration"]["minigan"]["median"] / row["iteration"]["torch"]["median"]
        # the GEMM share, on a fresh GAN so the timed run above is untouched by the observer
        print(f"[{NAME}] {model} on {name}: GEMM share over {args.repeats} repeats …", file=sys.stderr)
        _, step = minigan_iteration(model, batch, be)
        row["gemm"] = gemm_share(step, be, args.warmup, args.repeats)
        row["gemm"]["flops_formula"] = gemm_flops_per_iteration(model, batch)
        rows.append(row)
    return rows


def tables(rows):
    headers = ["model", "batch", "backend", "minigan median ms", "min ms", "spread",
               "PyTorch median ms", "min ms", "spread", "minigan ÷ PyTorch"]
    body = []
    for row in rows:
        mine, theirs = row["iteration"]["minigan"], row["iteration"].get("torch")
        body.append([row["model"], row["batch"], row["backend"], common.ms(mine["median"]), common.ms(mine["min"]),
                     f"{mine['spread']:.0%}",
                     common.ms(theirs["median"]) if theirs else "skipped", common.ms(theirs["min"]) if theirs else "—",
                     f"{theirs['spread']:.0%}" if theirs else "—",
                     f"{row['ratio_minigan_over_torch']:.2f}" if theirs else "—"])
    first = common.markdown_table(headers, body)
    headers = ["model", "backend", "step median ms (observed)", "GEMM median ms", "GEMM share",
               "GEMM calls", "counted GFLOP/iter", "formula GFLOP/iter", "GEMM GFLOP/s"]
    body = []
    for row in rows:
        g = row["gemm"]
        body.append([row["model"], row["backend"], common.ms(g["step_with_observer"]["median"]), common.ms(g["gemm"]["median"]),
                     f"{g['share_of_total']:.1%}", "/".join(map(str, g["gemm_calls_per_iteration"])),
                     "/".join(f"{f / 1e9:.3f}" for f in g["flops_per_iteration"]), f"{g['flops_formula'] / 1e9:.3f}",
                     f"{g['gemm_gflops_per_s']:.1f}"])
    return first, common.markdown_table(headers, body)


def flop_note(rows):
    """One line per row comparing the counted FLOPs with the formula (and, for DCGAN, what reusing the fakes would save)."""
    lines = []
    for row in rows:
        g = row["gemm"]
        counted = g["flops_per_iteration"]
        match = "matches" if counted == [g["flops_formula"]] else f"DIFFERS from (counted {counted})"
        lines.append(f"- {row['model']} ({row['backend']}, batch {row['batch']}): counted GEMM FLOPs {match} the formula "
                     f"{g['flops_formula'] / 1e9:.3f} GFLOP per iteration.")
        if row["model"] == "dcgan" and row["batch"] == BATCH["dcgan"]:
            g_forward = sum(f for *_, f in gemm_layers("dcgan", row["batch"])[0])
            lines.append(f"  A step reusing the D step's fakes for the G step would do one G forward less "
                         f"({g_forward / 1e9:.2f} GFLOP); minigan's G step draws fresh noise and runs G again.")
    return "\n".join(lines)


def main(argv=None):
    parser = common.make_parser(NAME, __doc__.splitlines()[0], repeats=15, warmup=2)
    parser.add_argument("--count-calls", action="store_true",
                        help="count array-module calls and device->host syncs per iteration on the strict device double; no timing")
    args = parser.parse_args(argv)
    if args.count_calls:
        rows = count_calls(args.tiny)
        print(f"## {NAME}: array-module calls and device→host syncs of one training iteration, on the strict device double"
              f"{' — TINY sizes' if args.tiny else ''}\n")
        print(count_table(rows))
        common.save_results(NAME, args, common.describe_machine(args.threads), rows, [])
        return 0
    torch, torch_reason = common.import_torch(args)
    if torch is None:
        print(f"[{NAME}] PyTorch rows skipped: {torch_reason}")
    machine = common.describe_machine(args.threads, torch, torch_reason)
    rows, skipped = common.run_backends(NAME, args, bench_backend, torch, torch_reason)
    common.finish_machine(machine)
    iterations, gemm = tables(rows)
    tiny = " — TINY sizes, not a measurement" if args.tiny else ""
    print(f"## {NAME}: one training iteration, medians over {args.repeats} alternating repeats ({args.warmup} warm-up){tiny}\n")
    print("\n".join(common.machine_lines(machine)) + "\n")
    print(iterations)
    print(f"\n### Share of the minigan step inside GEMM (gemm_observer, same run){tiny}\n")
    print(gemm)
    print()
    print(flop_note(rows))
    common.save_results(NAME, args, machine, rows, skipped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
