#!/usr/bin/env python3
"""The GPU check: everything worth knowing about minigan on a GPU, in one command and one markdown report.

    python -m benchmarks.gpu_check [--out REPORT.md] [--tf32 off|on] [--only suite,ops,training,dcgan]

On a machine with CuPy and a CUDA GPU it runs, each step in its own process and with its own time limit:

    suite     the whole test suite on CuPy (MINIGAN_TEST_BACKEND=cupy, hypothesis profile "ci")
    ops       benchmarks/bench_ops.py on CuPy, beside PyTorch CUDA where PyTorch is installed
    training  benchmarks/bench_training.py on CuPy, likewise (with the GEMM share from CUDA events)
    dcgan     examples/mnist_gan.py: one epoch of DCGAN on CuPy, then the evaluation of its samples

and writes one report (by default benchmarks/results/gpu-check-<UTC time>.md; an existing file is never
replaced): the machine, the TF32 setting used by both frameworks, a summary table, and each step's
command, status, time and output. The limits add up to about five minutes, so that the check fits a short
loan of a GPU; a step that runs out of time is reported as such, with what it printed until then, and the
next step still runs. The exit status is 0 when every step passed, 1 otherwise.

Without a usable GPU it says so in one line and exits with status 2: nothing is run, nothing is written.
"""

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

STEP_NAMES = ("suite", "ops", "training", "dcgan")
LIMITS = {"suite": 150, "ops": 45, "training": 45, "dcgan": 120}  # seconds; about five minutes in all
TITLES = {
    "suite": "the test suite on CuPy",
    "ops": "op benchmarks (CuPy, and PyTorch CUDA where installed)",
    "training": "training-iteration benchmarks (CuPy, and PyTorch CUDA where installed)",
    "dcgan": "one epoch of DCGAN on CuPy, with the evaluation of its samples",
}


class Step(NamedTuple):
    name: str
    command: list
    environment: dict  # added to the environment of the run
    limit: float       # seconds


class StepResult(NamedTuple):
    name: str
    command: list
    returncode: object  # int, or None when the step ran out of time
    seconds: float
    limit: float
    output: str

    @property
    def status(self):
        if self.returncode is None:
            return f"timed out after {self.limit:.0f} s"
        return "passed" if self.returncode == 0 else f"failed (exit status {self.returncode})"


# ----- command line ---------------------------------------------------------------------------------------
def step_list(text):
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in STEP_NAMES]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(STEP_NAMES)}, got {text!r}")
    return names


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__.splitlines()[0])
    parser.add_argument("--out", metavar="REPORT.md", default=None,
                        help="where to write the report (default: benchmarks/results/gpu-check-<UTC time>.md); must not exist yet")
    parser.add_argument("--tf32", choices=("off", "on"), default="off",
                        help="TF32 for float32 GEMMs and convolutions, the same for CuPy and PyTorch (default %(default)s: full FP32)")
    parser.add_argument("--only", type=step_list, default=list(STEP_NAMES), metavar="STEPS",
                        help=f"run only these steps, comma-separated, of {','.join(STEP_NAMES)} (default: all)")
    args = parser.parse_args(argv)
    if args.out is None:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
        args.out = os.path.join(REPO_ROOT, "benchmarks", "results", f"gpu-check-{stamp}.md")
    if os.path.exists(args.out):
        parser.error(f"argument --out: {args.out!r} exists; choose a new file (earlier reports are never replaced)")
    if not os.path.isdir(os.path.dirname(os.path.abspath(args.out))):
        parser.error(f"argument --out: the directory of {args.out!r} does not exist")
    return args


# ----- the steps --------------------------------------------------------------------------------------------
def gpu_problem():
    """None when CuPy sees a CUDA GPU, else one sentence saying why not."""
    from minigan.engine import backend

    try:
        backend.set_backend("cupy")
    except backend.BackendError as error:
        return str(error)
    return None


def plan(args, run_directory):
    python, tf32 = sys.executable, ["--tf32", args.tf32]
    steps = {
        "suite": Step("suite", [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE"],
                      {"MINIGAN_TEST_BACKEND": "cupy", "HYPOTHESIS_PROFILE": "ci", "CUPY_TF32": "0"}, LIMITS["suite"]),
        "ops": Step("ops", [python, "benchmarks/bench_ops.py", "--backend", "cupy", "--repeats", "10", "--warmup", "3", *tf32],
                    {}, LIMITS["ops"]),
        "training": Step("training", [python, "benchmarks/bench_training.py", "--backend", "cupy", "--repeats", "10",
                                      "--warmup", "3", *tf32], {}, LIMITS["training"]),
        "dcgan": Step("dcgan", [python, "examples/mnist_gan.py", "--backend", "cupy", "--epochs", "1", "--log-every", "100",
                                "--out", os.path.join(run_directory, "dcgan")],
                      {"CUPY_TF32": "1" if args.tf32 == "on" else "0"}, LIMITS["dcgan"]),
    }
    return [steps[name] for name in args.only]


def run_step(step, log_path):
    """Run one step from the repository root; its output goes to ``log_path`` as it comes (so a step that runs
    out of time still shows what it printed)."""
    environment = dict(os.environ, PYTHONPATH=REPO_ROOT, MPLBACKEND="Agg", **step.environment)
    started = time.perf_counter()
    with open(log_path, "w+", encoding="utf-8") as log:
        try:
            returncode = subprocess.run(step.command, cwd=REPO_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, timeout=step.limit).returncode
        except subprocess.TimeoutExpired:
            returncode = None
        log.seek(0)
        output = log.read()
    return StepResult(step.name, step.command, returncode, time.perf_counter() - started, step.limit, output)


def describe_machine(tf32):
    """GPU, driver and runtime, library versions, and the TF32 setting of both frameworks."""
    import platform

    machine = {"python": platform.python_version(), "platform": platform.platform(), "tf32": tf32}
    import numpy

    machine["numpy"] = numpy.__version__
    try:
        import cupy

        properties = cupy.cuda.runtime.getDeviceProperties(0)
        machine.update(cupy=cupy.__version__, gpu=properties["name"].decode(), gpu_memory_gib=round(properties["totalGlobalMem"] / 2**30, 1),
                       cuda_runtime=cupy.cuda.runtime.runtimeGetVersion(), cuda_driver=cupy.cuda.runtime.driverGetVersion())
    except Exception as error:  # described, not fatal: the steps say the rest
        machine["cupy"] = f"unavailable ({error})"
    try:
        import torch

        machine.update(torch=torch.__version__, torch_cuda=torch.version.cuda, torch_cuda_available=torch.cuda.is_available())
    except ImportError:
        machine["torch"] = "not installed (the PyTorch rows are skipped)"
    return machine


# ----- the report -------------------------------------------------------------------------------------------
def render_report(machine, results, started, run_directory):
    """The markdown report of a check: machine, summary table, then each step's command, status and output."""
    lines = [f"# GPU check, {started:%Y-%m-%d %H:%M} UTC", "",
             "Written by `python -m benchmarks.gpu_check`. Steps run one after another, each in its own process.", ""]
    lines += [f"- {key}: {value}" for key, value in machine.items()]
    lines += [f"- TF32 for float32 GEMMs and convolutions: **{machine.get('tf32')}** for both CuPy (CUPY_TF32) and PyTorch (allow_tf32)",
              f"- files of the run (the DCGAN's samples, grid and checkpoint): `{run_directory}`", "",
              "| step | what | status | seconds | limit |", "|---|---|---|---|---|"]
    lines += [f"| {r.name} | {TITLES.get(r.name, r.name)} | {r.status} | {r.seconds:.0f} | {r.limit:.0f} |" for r in results]
    total = sum(r.seconds for r in results)
    lines += ["", f"All steps: {total:.0f} s; {sum(r.status == 'passed' for r in results)} of {len(results)} passed.", ""]
    for r in results:
        command = " ".join(r.command[1:]) if r.command and r.command[0] == sys.executable else " ".join(r.command)
        lines += [f"## {r.name}: {TITLES.get(r.name, r.name)}", "", f"`python {command}` — {r.status}, {r.seconds:.1f} s", ""]
        lines += ["```text", r.output.rstrip() or "(no output)", "```", ""]
    return "\n".join(lines)


def write_report(path, text):
    """Write the report atomically; an existing file is refused, never replaced."""
    from minigan.tools.io import atomic_write

    if os.path.exists(path):
        raise FileExistsError(f"gpu_check: {path!r} exists; earlier reports are never replaced")
    with atomic_write(path, mode="w") as handle:
        handle.write(text)


def main(argv=None):
    args = parse_args(argv)
    problem = gpu_problem()
    if problem is not None:
        print(f"gpu_check: no usable GPU here, nothing was run: {problem}", file=sys.stderr)
        return 2
    os.environ["CUPY_TF32"] = "1" if args.tf32 == "on" else "0"
    started = datetime.datetime.now(datetime.timezone.utc)
    run_directory = tempfile.mkdtemp(prefix=f"gpu-check-{started:%Y%m%d-%H%M%S}-")  # logs and DCGAN outputs: large, not for the repository
    results = []
    for step in plan(args, run_directory):
        print(f"gpu_check: {step.name}: {TITLES[step.name]} (at most {step.limit:.0f} s) …", flush=True)
        result = run_step(step, os.path.join(run_directory, f"{step.name}.log"))
        print(f"gpu_check: {step.name}: {result.status} in {result.seconds:.0f} s", flush=True)
        results.append(result)
    write_report(args.out, render_report(describe_machine(args.tf32), results, started, run_directory))
    print(f"gpu_check: wrote {args.out}")
    return 0 if all(r.status == "passed" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
