"""Smoke test of the benchmark scripts: they run, print a markdown table and write valid JSON.

Tiny sizes, one repeat, no warm-up: this checks that the scripts work, never how fast anything is.
"""

import json
import os
import platform
import subprocess
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE_HEADERS = {
    "bench_ops": "| op | shape | backend | pass | minigan median ms |",
    "bench_training": "| model | batch | backend | minigan median ms |",
}


def run_script(name, *args, cwd):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    return subprocess.run([sys.executable, os.path.join(REPO_ROOT, "benchmarks", f"{name}.py"), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", ["bench_ops", "bench_training"])
def test_script_runs_and_writes_json(name, tmp_path):
    path = tmp_path / "out" / f"{name}.json"
    result = run_script(name, "--tiny", "--repeats", "1", "--warmup", "0", "--backend", "numpy", "--json", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert TABLE_HEADERS[name] in result.stdout
    assert "|---|" in result.stdout
    with open(path, encoding="utf-8") as handle:
        payload = json.load(handle)
    assert payload["script"] == name
    assert payload["settings"]["tiny"] is True and payload["settings"]["threads"] == 1
    assert payload["machine"]["thread_environment"]["OPENBLAS_NUM_THREADS"] == "1"
    assert payload["results"] and all(row["backend"] == "numpy" for row in payload["results"])
    if name == "bench_training":  # the observer's FLOP count agrees with the written formula
        for row in payload["results"]:
            assert row["gemm"]["flops_per_iteration"] == [row["gemm"]["flops_formula"]]


def test_the_choices_script_checks_each_pair_agrees_and_writes_json(tmp_path):
    """bench_choices: every case's two contestants agree (checked before timing) and each row has a ratio."""
    path = tmp_path / "choices.json"
    result = run_script("bench_choices", "--tiny", "--repeats", "1", "--warmup", "0", "--json", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| choice | in the code | shape | chosen median (min) ms |" in result.stdout
    with open(path, encoding="utf-8") as handle:
        payload = json.load(handle)
    assert payload["script"] == "bench_choices" and payload["settings"]["tiny"] is True
    assert payload["machine"]["thread_environment"]["OPENBLAS_NUM_THREADS"] == "1"
    assert len(payload["results"]) >= 10 and all(row["ratio"] > 0 for row in payload["results"])


@pytest.mark.parametrize("args, message", [
    (["--repeats", "0"], "--repeats"),
    (["--warmup", "-1"], "--warmup"),
    (["--threads", "two"], "--threads"),
    (["--backend", "tpu"], "--backend"),
])
def test_bad_flags_are_refused_by_name(args, message, tmp_path):
    result = run_script("bench_training", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr


def _numpy_uses_openblas():
    import numpy

    try:
        return "openblas" in numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]["name"].lower()
    except Exception:
        return False


@pytest.mark.skipif(not _numpy_uses_openblas(), reason="NumPy's BLAS is not OpenBLAS")
@pytest.mark.parametrize("forced", [None, pytest.param("Haswell", marks=pytest.mark.skipif(
    platform.machine().lower() not in ("x86_64", "amd64"), reason="OpenBLAS's Haswell kernels exist only on x86-64"))])
def test_the_machine_description_names_the_openblas_kernels_in_use(forced, tmp_path):
    """The kernels OpenBLAS loaded are recorded, and OPENBLAS_CORETYPE (read at load time) is honoured."""
    env = dict(os.environ, PYTHONPATH=REPO_ROOT)
    env.pop("OPENBLAS_CORETYPE", None)
    if forced:
        env["OPENBLAS_CORETYPE"] = forced
    code = ("import json, numpy; from benchmarks import common; m = common.describe_machine(1); "
            "print(json.dumps([m['openblas_core'], m['openblas_coretype_environment']]))")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    core, environment = json.loads(result.stdout)
    assert isinstance(core, str) and core
    assert environment == forced
    if forced:
        assert core == forced
