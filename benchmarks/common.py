"""The harness shared by ``bench_ops.py`` and ``bench_training.py``.

What it provides, in the order a script uses it:

1. ``apply_threads(sys.argv)`` — must run *before* NumPy or PyTorch is imported: BLAS libraries read
   their thread count from the environment once, when they load. It pre-parses ``--threads N`` (default 1,
   the most stable setting on a shared machine) and sets OPENBLAS_NUM_THREADS, OMP_NUM_THREADS,
   MKL_NUM_THREADS and VECLIB_MAXIMUM_THREADS. This module therefore imports neither at its top.
   ``apply_tf32(sys.argv)`` likewise, before CuPy is imported: ``--tf32 off|on`` (default off) sets
   ``CUPY_TF32`` for CuPy and, once PyTorch is imported (``import_torch``), ``allow_tf32`` for its cuBLAS
   and cuDNN, so both frameworks run float32 GEMMs and convolutions the same way on a GPU (PyTorch's own
   default lets cuDNN convolutions use TF32 while CuPy computes in full FP32). The setting is recorded.
2. ``make_parser`` — the common flags (``--threads --repeats --warmup --backend --json --tiny --no-torch --tf32``),
   validated by argparse with messages that name the flag.
3. Clocks and ``run_alternating`` — warm-up calls, then R timed repeats of each contestant, alternating
   between contestants (and flipping their order every repeat) so that drift on a noisy machine hits all
   of them alike. The CPU clock is ``time.perf_counter``; on the GPU a repeat is bracketed by CUDA events
   (``cupy.cuda.Event`` / ``torch.cuda.Event``) after a synchronise, so queued work is neither missed
   nor counted twice.
4. ``summarize`` — median (the figure to quote), min (the best the machine could do), the quartiles and
   the spread (p75 − p25) / median, which says how noisy the repeats were.
5. ``describe_machine``, ``markdown_table``, ``write_json`` (atomic, via ``minigan.tools.io.atomic_write``).
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS_DIR = os.path.join(REPO_ROOT, "tests")
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
DEFAULT_THREADS = 1


# ----- 1. threads, before any BLAS is loaded ------------------------------------------------------
def preparse_threads(argv):
    """The value of ``--threads N`` / ``--threads=N`` in ``argv``, or DEFAULT_THREADS.

    A malformed value is left for argparse to reject with a proper message; here it falls back to the
    default so that the environment is still set before the import that argparse's error follows.
    """
    value = None
    for i, arg in enumerate(argv):
        if arg == "--threads" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--threads="):
            value = arg.split("=", 1)[1]
    try:
        threads = int(value) if value is not None else DEFAULT_THREADS
    except ValueError:
        return DEFAULT_THREADS
    return threads if threads >= 1 else DEFAULT_THREADS


def apply_threads(argv):
    """Set every BLAS/OpenMP thread variable to ``--threads`` (default 1); returns the count.

    Raises RuntimeError if NumPy is already imported: the setting would then silently not apply.
    """
    if "numpy" in sys.modules:
        raise RuntimeError("benchmarks.common.apply_threads must run before numpy is imported; "
                           "call it at the very top of the script")
    threads = preparse_threads(argv)
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    return threads


TF32_CHOICES = ("off", "on")
DEFAULT_TF32 = "off"


def preparse_tf32(argv):
    """The value of ``--tf32 off|on`` in ``argv`` (default off); a bad value is left for argparse to reject."""
    value = DEFAULT_TF32
    for i, arg in enumerate(argv):
        if arg == "--tf32" and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith("--tf32="):
            value = arg.split("=", 1)[1]
    return value if value in TF32_CHOICES else DEFAULT_TF32


def apply_tf32(argv):
    """Set ``CUPY_TF32`` from ``--tf32`` before CuPy is imported (CuPy reads it when it first multiplies
    float32 matrices); returns "off" or "on". PyTorch's flags are set in ``import_torch``."""
    setting = preparse_tf32(argv)
    os.environ["CUPY_TF32"] = "1" if setting == "on" else "0"
    return setting


# ----- 2. command line ----------------------------------------------------------------------------




def make_parser(name, description, repeats, warmup):
    """The flags both scripts share; ``name`` is the script's name (for the default ``--json`` file)."""
    from minigan.tools.cli import non_negative_int, positive_int  # here, not at the top: after apply_threads

    parser = argparse.ArgumentParser(prog=f"{name}.py", description=description)
    parser.add_argument("--threads", type=positive_int, default=DEFAULT_THREADS,
                        help="BLAS/OpenMP threads for NumPy and PyTorch (default %(default)s; applied before either is imported)")
    parser.add_argument("--repeats", type=positive_int, default=repeats,
                        help="timed repeats per measurement (default %(default)s); the median is reported")
    parser.add_argument("--warmup", type=non_negative_int, default=warmup,
                        help="untimed calls before the repeats (default %(default)s)")
    parser.add_argument("--backend", choices=("numpy", "cupy", "all"), default="all",
                        help="minigan backend(s) to measure (default %(default)s: NumPy, and CuPy when a GPU is present)")
    parser.add_argument("--json", nargs="?", const=f"{name}.json", default=None, metavar="PATH",
                        help=f"also write the results as JSON to PATH (bare --json: ./{name}.json)")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes: a smoke test of the script, not a measurement")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch reference rows")
    parser.add_argument("--tf32", choices=TF32_CHOICES, default=DEFAULT_TF32,
                        help="TF32 for float32 GEMMs and convolutions on a GPU, the same for CuPy (CUPY_TF32) and "
                             "PyTorch (allow_tf32) (default %(default)s: full FP32 on both); recorded with the results")
    return parser


def select_backends(choice):
    """[(name, reason_or_None)] for ``--backend``: reason is why that backend is skipped (None: usable)."""
    from minigan import backend

    names = ["numpy", "cupy"] if choice == "all" else [choice]
    selected = []
    for name in names:
        if name == "numpy":
            selected.append((name, None))
            continue
        try:
            backend._load_cupy()
        except backend.BackendError as error:
            selected.append((name, str(error)))
        else:
            selected.append((name, None))
    return selected


def run_backends(name, args, bench_backend, torch, torch_reason):
    """``bench_backend(backend, args, torch, torch_reason)`` for each backend ``--backend`` selects.

    Returns (rows, skipped): the rows of every usable backend, and {"backend", "reason"} for each one that
    was skipped (the reason is also printed, so a missing CuPy is said, never silent).
    """
    rows, skipped = [], []
    for backend_name, reason in select_backends(args.backend):
        if reason is not None:
            print(f"[{name}] backend {backend_name} skipped: {reason}")
            skipped.append({"backend": backend_name, "reason": reason})
            continue
        rows.extend(bench_backend(backend_name, args, torch, torch_reason))
    return rows, skipped


def import_torch(args):
    """(torch, None) with its thread count set, or (None, why the PyTorch rows are skipped)."""
    if args.no_torch:
        return None, "--no-torch was given"
    try:
        import torch
    except ImportError as error:
        return None, f"PyTorch is not installed ({error}); it is an optional reference, not a dependency"
    torch.set_num_threads(args.threads)
    tf32 = getattr(args, "tf32", DEFAULT_TF32) == "on"
    torch.backends.cuda.matmul.allow_tf32 = tf32  # cuBLAS GEMMs
    torch.backends.cudnn.allow_tf32 = tf32        # cuDNN convolutions (PyTorch's default: True)
    try:
        torch.set_num_interop_threads(args.threads)
    except RuntimeError:  # already set, or parallel work already started: the intra-op count is what matters
        pass
    return torch, None


# ----- 3. clocks and the alternating runner -------------------------------------------------------
class ProcessClock:
    """CPU time of this process during a call, ``time.process_time`` (seconds): all its threads' work,
    without the waits for a core that a busy machine adds to the wall clock."""

    name = "process_time"

    def time(self, fn):
        start = time.process_time()
        fn()
        return time.process_time() - start


class HostClock:
    """Wall time of a CPU call, ``time.perf_counter`` (seconds)."""

    name = "perf_counter"

    def time(self, fn):
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start


def make_turns_parser(description, turns_flag="--turns", turns=9, tiny_help="a smoke test of the script"):
    """The flags of a benchmark that runs its contestants in turns (``run_alternating``) on one clock:
    how many timed turns and warm-ups, the BLAS threads, ``--clock wall|cpu`` and ``--tiny``."""
    from minigan.tools.cli import non_negative_int, positive_int  # here, not at the top: after apply_threads
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(turns_flag, type=positive_int, default=turns, help="timed turns of every contestant")
    parser.add_argument("--warmup", type=non_negative_int, default=2)
    parser.add_argument("--threads", type=positive_int, default=DEFAULT_THREADS, help="BLAS threads (set before NumPy loads)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="wall: perf_counter; cpu: process_time, the work done without the waits for a core")
    parser.add_argument("--tiny", action="store_true", help=tiny_help)
    return parser


def turn_clock(args):
    """The clock that ``--clock`` of ``make_turns_parser`` names."""
    return ProcessClock() if args.clock == "cpu" else HostClock()


class CupyClock:
    """Device time between two CUDA events on CuPy's current stream, after a synchronise (seconds).

    The end event is recorded when the host has queued the whole call, so host-side overhead (Python,
    kernel launches) that keeps the GPU waiting is counted, as it should be.
    """

    name = "cupy.cuda.Event"

    def __init__(self):
        import cupy

        self.cupy = cupy

    def time(self, fn):
        cuda = self.cupy.cuda
        cuda.get_current_stream().synchronize()
        start, end = cuda.Event(), cuda.Event()
        start.record()
        fn()
        end.record()
        end.synchronize()
        return cuda.get_elapsed_time(start, end) / 1e3


class TorchCudaClock:
    """Device time between two ``torch.cuda.Event`` s, after a synchronise (seconds)."""

    name = "torch.cuda.Event"

    def __init__(self, torch):
        self.torch = torch

    def time(self, fn):
        cuda = self.torch.cuda
        cuda.synchronize()
        start, end = cuda.Event(enable_timing=True), cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3


def clock_for(device, torch=None):
    """The clock for ``device``: "cpu"/"numpy" → HostClock, "cupy" → CupyClock, "cuda" → TorchCudaClock."""
    if device in ("cpu", "numpy"):
        return HostClock()
    if device == "cupy":
        return CupyClock()
    if device == "cuda":
        return TorchCudaClock(torch)
    raise ValueError(f"clock_for: unknown device {device!r}; expected 'cpu', 'numpy', 'cupy' or 'cuda'")


def torch_device_for(backend_name, torch, torch_reason):
    """The PyTorch device to compare a minigan backend with, and why there is none when there is none.

    NumPy is compared with PyTorch on the CPU and CuPy with PyTorch on CUDA. Returns (device, reason):
    device is "cpu", "cuda" or None; reason is None, or says why the PyTorch rows are skipped.
    """
    if torch is None:
        return None, torch_reason
    if backend_name == "numpy":
        return "cpu", None
    if torch.cuda.is_available():
        return "cuda", None
    return None, "torch.cuda is not available, so there is no GPU reference for the CuPy rows"


class Contestant:
    """One thing to time: ``fn()`` is timed by ``clock``; ``setup()`` (untimed) runs before every call."""

    def __init__(self, name, fn, clock, setup=None):
        self.name, self.fn, self.clock, self.setup = name, fn, clock, setup

    def once(self):
        if self.setup is not None:
            self.setup()
        return self.clock.time(self.fn)


def run_alternating(contestants, warmup, repeats):
    """{name: [seconds] × repeats}: every contestant warmed up ``warmup`` times, then timed in turns.

    Repeat r times A then B, repeat r + 1 times B then A, …: a slow spell of the machine lands on both,
    and neither always runs right after the other (caches, allocator, turbo).
    """
    for contestant in contestants:
        for _ in range(warmup):
            if contestant.setup is not None:
                contestant.setup()
            contestant.fn()
    samples = {c.name: [] for c in contestants}
    for r in range(repeats):
        order = contestants if r % 2 == 0 else contestants[::-1]
        for contestant in order:
            samples[contestant.name].append(contestant.once())
    return samples


# ----- 4. statistics ------------------------------------------------------------------------------
def summarize(samples):
    """Seconds → {"median", "min", "p25", "p75", "mean", "spread", "n", "samples"}; times in seconds.

    ``spread`` = (p75 − p25) / median: 0.05 means the middle half of the repeats lay within ±2.5%.
    """
    ordered = sorted(samples)
    n = len(ordered)
    median = statistics.median(ordered)
    if n >= 2:
        p25, _, p75 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        p25 = p75 = ordered[0]
    return {"median": median, "min": ordered[0], "p25": p25, "p75": p75, "mean": statistics.fmean(ordered),
            "spread": (p75 - p25) / median if median > 0 else 0.0, "n": n, "samples": list(samples)}


def ms(seconds):
    """Seconds as a millisecond string with three significant figures (≥ 100 ms: no decimals)."""
    value = seconds * 1e3
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def gflops(flops, seconds):
    """Counted FLOPs over seconds, as GFLOP/s with one decimal; "—" when there is no count."""
    if not flops or not seconds:
        return "—"
    return f"{flops / seconds / 1e9:.1f}"


# ----- 5. machine, tables, files ------------------------------------------------------------------
def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _numpy_blas():
    import numpy

    try:
        config = numpy.show_config(mode="dicts")  # NumPy ≥ 1.25
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip() + (
            f" ({blas['openblas configuration']})" if blas.get("openblas configuration") else "")
    except Exception:  # older NumPy prints instead of returning: say so rather than guess
        return "unknown (numpy.show_config(mode='dicts') unavailable)"


def _openblas_core():
    """The kernel family OpenBLAS chose at load time (e.g. "SkylakeX", "Haswell"), or None if NumPy's BLAS
    is not OpenBLAS. It can be forced with OPENBLAS_CORETYPE before NumPy is imported; on this project's
    AMD Zen 4 machine OpenBLAS picks SkylakeX (AVX-512) and Haswell (AVX2) ran its GEMMs faster."""
    import ctypes

    try:
        with open("/proc/self/maps", encoding="utf-8") as handle:
            paths = {line.split()[-1] for line in handle if "openblas" in line.lower() and ".so" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename64_", "openblas_get_corename"):
            function = getattr(library, symbol, None)
            if function is not None:
                function.restype = ctypes.c_char_p
                return function().decode()
    return None


def _torch_blas(torch):
    text = torch.__config__.show()
    for field in text.replace(",", "\n").splitlines():
        if "BLAS_INFO=" in field:
            return field.split("=", 1)[1].strip()
    return "unknown"


def describe_machine(threads, torch=None, torch_reason=None):
    """A dict describing where the numbers were taken: CPU, cores, load, versions, BLAS and threads."""
    import numpy

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    machine = {
        "cpu": _cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numpy_blas": _numpy_blas(),
        "openblas_core": _openblas_core(),
        "openblas_coretype_environment": os.environ.get("OPENBLAS_CORETYPE"),
        "threads": threads,
        "thread_environment": {name: os.environ.get(name) for name in THREAD_VARIABLES},
        "minigan_keep_freed_memory": os.environ.get("MINIGAN_KEEP_FREED_MEMORY", "1"),
        "tf32": {"CUPY_TF32": os.environ.get("CUPY_TF32"), "NVIDIA_TF32_OVERRIDE": os.environ.get("NVIDIA_TF32_OVERRIDE")},
    }
    try:
        import minigan

        machine["minigan"] = minigan.__version__
    except ImportError:
        pass
    if torch is not None:
        machine["torch"] = torch.__version__
        machine["torch_blas"] = _torch_blas(torch)
        machine["torch_threads"] = torch.get_num_threads()
        machine["torch_mkldnn"] = bool(torch.backends.mkldnn.is_available())
        machine["torch_cuda"] = bool(torch.cuda.is_available())
        machine["tf32"]["torch_matmul_allow_tf32"] = bool(torch.backends.cuda.matmul.allow_tf32)
        machine["tf32"]["torch_cudnn_allow_tf32"] = bool(torch.backends.cudnn.allow_tf32)
    else:
        machine["torch"] = None
        machine["torch_skipped_because"] = torch_reason
    return machine


def finish_machine(machine):
    """Add what is known only after the run: the load average at the end and the CuPy device, if used."""
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None
    if "cupy" in sys.modules and "cupy" not in machine:
        cupy = sys.modules["cupy"]
        machine["cupy"] = cupy.__version__
        try:
            machine["gpu"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
        except Exception as error:  # no device: record why
            machine["gpu"] = f"unavailable ({error})"
    return machine


def machine_lines(machine):
    """The machine description as a few markdown lines."""
    lines = [
        f"- CPU: {machine['cpu']}, {machine['usable_cpus']} usable of {machine['logical_cpus']} logical CPUs; "
        f"load average (1, 5, 15 min) at start {machine['load_average_at_start']}, at end {machine.get('load_average_at_end')}",
        f"- Python {machine['python']}, NumPy {machine['numpy']} with {machine['numpy_blas']}",
        (f"- OpenBLAS kernels in use: {machine['openblas_core']} "
         + (f"(forced: OPENBLAS_CORETYPE={machine['openblas_coretype_environment']})" if machine.get("openblas_coretype_environment")
            else "(OpenBLAS's own choice; OPENBLAS_CORETYPE unset)")
         if machine.get("openblas_core") else "- OpenBLAS kernels in use: unknown (no OpenBLAS library with a corename function found)"),
        f"- threads: {machine['threads']} (BLAS/OpenMP environment and torch.set_num_threads)",
        "- TF32 (GPU float32 GEMMs and convolutions): " + ", ".join(f"{k} {v}" for k, v in machine.get("tf32", {}).items()),
    ]
    if machine.get("torch"):
        lines.append(f"- PyTorch {machine['torch']} (BLAS {machine['torch_blas']}, oneDNN {machine['torch_mkldnn']}, "
                     f"{machine['torch_threads']} threads, CUDA {machine['torch_cuda']})")
    else:
        lines.append(f"- PyTorch: not used ({machine.get('torch_skipped_because')})")
    if machine.get("cupy"):
        lines.append(f"- CuPy {machine['cupy']} on {machine.get('gpu')}")
    return lines


def markdown_table(headers, rows):
    """A GitHub markdown table; every cell is str()-ed."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def save_results(name, args, machine, rows, skipped):
    """With ``--json``: write the machine, the settings, every row and the skipped backends, and say where."""
    if not args.json:
        return
    settings = {k: getattr(args, k) for k in ("threads", "repeats", "warmup", "backend", "tiny", "no_torch")}
    write_json(args.json, {"script": name, "machine": machine, "settings": settings, "results": rows,
                           "skipped": skipped, "units": "seconds; FLOPs counted as 2·M·N·K per GEMM"})
    print(f"\n[{name}] wrote {args.json}")


def write_json(path, payload):
    """Write ``payload`` as indented JSON to ``path`` atomically (creating its directory if needed)."""
    from minigan.tools.io import atomic_write

    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with atomic_write(path, mode="w") as handle:
        json.dump(payload, handle, indent=2, sort_keys=False)
        handle.write("\n")


def load_device_double():
    """The strict device double of the tests (``tests/device_double.py``), registered as the backend "strict"."""
    if TESTS_DIR not in sys.path:
        sys.path.insert(0, TESTS_DIR)
    import device_double

    device_double.install()
    return device_double
