"""The one-command GPU check (benchmarks/gpu_check.py), as far as it can be checked without a GPU: its flags,
its one-line refusal on a machine without one, the steps it plans, and the report it writes."""

import datetime
import os
import subprocess
import sys

import pytest

from conftest import CUPY, ROOT, assert_usage_error

sys.path.insert(0, ROOT)
from benchmarks import gpu_check  # noqa: E402

pytestmark = pytest.mark.numpy_only("the GPU check runs its own processes on its own backend; nothing here touches arrays")


@pytest.mark.skipif(CUPY, reason="a GPU is present: the check would run for real")
def test_without_a_gpu_it_says_so_in_one_line_and_exits_non_zero(tmp_path):
    report = tmp_path / "report.md"
    done = subprocess.run([sys.executable, "-m", "benchmarks.gpu_check", "--out", str(report)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env=dict(os.environ, PYTHONPATH=ROOT))
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpu_check: no usable GPU here, nothing was run: ")
    assert not report.exists() and os.listdir(tmp_path) == []


@pytest.mark.parametrize("flags, message", [
    (["--only", "suite,lint"], "--only: expected a comma-separated list of suite, ops, training, dcgan, got 'suite,lint'"),
    (["--only", ""], "--only: expected a comma-separated list"),
    (["--tf32", "maybe"], "--tf32: invalid choice: 'maybe'"),
])
def test_bad_flags_are_refused_by_name(flags, message, capsys):
    assert_usage_error(gpu_check.parse_args, flags, message, capsys)


def test_an_existing_report_or_a_missing_directory_is_refused(tmp_path, capsys):
    existing = tmp_path / "old.md"
    existing.write_text("an earlier check")
    assert_usage_error(gpu_check.parse_args, ["--out", str(existing)], "exists; choose a new file", capsys)
    assert existing.read_text() == "an earlier check"
    assert_usage_error(gpu_check.parse_args, ["--out", str(tmp_path / "no" / "such.md")], "does not exist", capsys)


def test_the_default_report_is_a_new_dated_file_in_benchmarks_results():
    args = gpu_check.parse_args([])
    assert os.path.dirname(args.out) == os.path.join(ROOT, "benchmarks", "results")
    assert os.path.basename(args.out).startswith("gpu-check-") and not os.path.exists(args.out)
    assert args.only == list(gpu_check.STEP_NAMES) and args.tf32 == "off"


def test_the_plan_runs_each_step_on_cupy_within_about_five_minutes(tmp_path):
    args = gpu_check.parse_args(["--out", str(tmp_path / "r.md"), "--tf32", "on"])
    steps = {step.name: step for step in gpu_check.plan(args, str(tmp_path))}
    assert list(steps) == ["suite", "ops", "training", "dcgan"]
    assert steps["suite"].environment["MINIGAN_TEST_BACKEND"] == "cupy"
    assert steps["suite"].environment["CUPY_TF32"] == "0"  # correctness in full FP32, whatever --tf32 says
    for name in ("ops", "training"):
        assert steps[name].command[1:4] == [f"benchmarks/bench_{name}.py", "--backend", "cupy"]
        assert steps[name].command[-2:] == ["--tf32", "on"]
    assert "examples/mnist_gan.py" in steps["dcgan"].command and "--epochs" in steps["dcgan"].command
    assert "--no-evaluate" not in steps["dcgan"].command  # with the evaluator
    assert sum(step.limit for step in steps.values()) <= 6 * 60
    only = gpu_check.parse_args(["--out", str(tmp_path / "s.md"), "--only", "dcgan,suite"])
    assert [step.name for step in gpu_check.plan(only, str(tmp_path))] == ["dcgan", "suite"]


def fake_results():
    python = sys.executable
    return [
        gpu_check.StepResult("suite", [python, "-m", "pytest", "-q"], 0, 101.2, 150, "423 passed in 100.0s\n"),
        gpu_check.StepResult("ops", [python, "benchmarks/bench_ops.py", "--backend", "cupy"], 1, 12.0, 45,
                             "| op | shape |\n|---|---|\nTraceback: something broke\n"),
        gpu_check.StepResult("dcgan", [python, "examples/mnist_gan.py", "--epochs", "1"], None, 120.0, 120, "epoch 1/1  step 700/781\n"),
    ]


def test_the_report_has_the_machine_a_summary_and_every_steps_output(tmp_path):
    machine = {"gpu": "Some GPU", "cupy": "13.6.0", "tf32": "off"}
    started = datetime.datetime(2026, 12, 1, 9, 30, tzinfo=datetime.timezone.utc)
    text = gpu_check.render_report(machine, fake_results(), started, str(tmp_path / "run"))
    assert text.startswith("# GPU check, 2026-12-01 09:30 UTC")
    assert "- gpu: Some GPU" in text and "TF32 for float32 GEMMs and convolutions: **off**" in text
    assert "| suite | the test suite on CuPy | passed | 101 | 150 |" in text
    assert "| ops | op benchmarks (CuPy, and PyTorch CUDA where installed) | failed (exit status 1) | 12 | 45 |" in text
    assert "| dcgan | one epoch of DCGAN on CuPy, with the evaluation of its samples | timed out after 120 s | 120 | 120 |" in text
    assert "1 of 3 passed" in text
    assert "`python -m pytest -q` — passed" in text and "`python examples/mnist_gan.py --epochs 1` — timed out after 120 s" in text
    for output in ("423 passed in 100.0s", "Traceback: something broke", "epoch 1/1  step 700/781"):
        assert output in text
    path = tmp_path / "report.md"
    gpu_check.write_report(str(path), text)
    assert path.read_text(encoding="utf-8") == text
    assert sorted(os.listdir(tmp_path)) == ["report.md"]  # written atomically: no temporary file left
    with pytest.raises(FileExistsError, match="never replaced"):
        gpu_check.write_report(str(path), "another check")
    assert path.read_text(encoding="utf-8") == text


def test_a_step_that_runs_out_of_time_keeps_what_it_printed(tmp_path):
    code = "import sys, time; print('started', flush=True); time.sleep(30)"
    step = gpu_check.Step("dcgan", [sys.executable, "-c", code], {}, 2)
    result = gpu_check.run_step(step, str(tmp_path / "dcgan.log"))
    assert result.returncode is None and result.status == "timed out after 2 s"
    assert result.output == "started\n" and result.seconds < 20
    done = gpu_check.run_step(gpu_check.Step("ops", [sys.executable, "-c", "print('table')"], {}, 30), str(tmp_path / "ops.log"))
    assert done.status == "passed" and done.output == "table\n"
