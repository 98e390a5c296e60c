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


@pytest.mark.numpy_only("the scripts choose their backend themselves (--backend), in a subprocess; one run covers them")
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


@pytest.mark.numpy_only("the script runs NumPy alternatives in a subprocess; one run covers it")
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


@pytest.mark.numpy_only("the script picks its own backend (the strict double) in a subprocess; one run covers it")
def test_counting_mode_reports_calls_and_syncs_per_iteration(tmp_path):
    path = tmp_path / "counts.json"
    result = run_script("bench_training", "--count-calls", "--tiny", "--json", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "| model | batch | array-module calls / iteration | device→host syncs / iteration |" in result.stdout
    with open(path, encoding="utf-8") as handle:
        rows = json.load(handle)["results"]
    assert [row["model"] for row in rows] == ["dcgan", "mlp"] and all(row["backend"] == "strict" for row in rows)
    for row in rows:
        assert row["calls"] == sum(row["calls_by_name"].values()) > 0
        assert row["syncs"] == sum(row["sync_names"].values())


@pytest.mark.numpy_only("it checks the recorded environment of a NumPy run in a subprocess")
@pytest.mark.parametrize("setting, cupy_value", [("off", "0"), ("on", "1")])
def test_tf32_is_set_before_the_libraries_load_and_recorded(setting, cupy_value, tmp_path):
    path = tmp_path / "tf32.json"
    result = run_script("bench_training", "--tiny", "--repeats", "1", "--warmup", "0", "--backend", "numpy", "--no-torch",
                        "--tf32", setting, "--json", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"CUPY_TF32 {cupy_value}" in result.stdout
    with open(path, encoding="utf-8") as handle:
        assert json.load(handle)["machine"]["tf32"]["CUPY_TF32"] == cupy_value


def test_the_pytorch_mirrors_have_minigans_layers_and_parameter_counts():
    """Like for like: the same parameters, layer by layer, batch norm included (the MLP generator has it)."""
    torch = pytest.importorskip("torch", reason="PyTorch is an optional reference, not installed here")
    sys.path.insert(0, REPO_ROOT)
    from benchmarks import bench_training
    from minigan.gans import models

    builders = {"dcgan": (models.dcgan_generator, models.dcgan_discriminator), "mlp": (models.mlp_generator, models.mlp_discriminator)}
    for model, (make_g, make_d) in builders.items():
        for mine, theirs in zip((make_g(), make_d()), bench_training.torch_networks(torch, model)):
            assert sum(p.size for p in mine.parameters()) == sum(p.numel() for p in theirs.parameters())
            norms = sum(isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)) for m in theirs.modules())
            assert norms == sum(type(m).__name__.startswith("BatchNorm") for m in mine.modules())


@pytest.mark.parametrize("args, message", [
    (["--repeats", "0"], "--repeats"),
    (["--warmup", "-1"], "--warmup"),
    (["--threads", "two"], "--threads"),
    (["--backend", "tpu"], "--backend"),
    (["--tf32", "maybe"], "--tf32"),
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


def test_ab_script_times_another_tree_against_this_one(tmp_path):
    """The A/B script loads a second copy of minigan under another name and times both in turns
    (here the tree against itself, at tiny size: the format, not a measurement)."""
    result = run_script("ab_training", REPO_ROOT, "--tiny", "--pairs", "2", "--warmup", "0", "--clock", "cpu", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dcgan batch 4, 2 pairs, 1 BLAS thread(s), process_time: baseline median" in result.stdout
    assert "paired ratios median" in result.stdout
    refused = run_script("ab_training", str(tmp_path), "--tiny", cwd=tmp_path)
    assert refused.returncode != 0 and "has no minigan/__init__.py" in refused.stderr


def test_the_family_script_times_each_gan_in_turns(tmp_path):
    """benchmarks/bench_family.py --tiny prints its table (a smoke test: it never asserts a speed)."""
    result = run_script("bench_family", "--tiny", "--turns", "1", "--warmup", "0", "--clock", "cpu", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "| dcgan | " in result.stdout and "| lsgan | " in result.stdout and "clock process_time" in result.stdout


@pytest.mark.numpy_only("the script builds its own labs on NumPy, in a subprocess")
def test_the_lab_script_times_each_preset_and_plays_it(tmp_path):
    """benchmarks/bench_lab.py --tiny prints both tables (a smoke test: it never asserts a speed)."""
    result = run_script("bench_lab", "--tiny", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for preset in ("balanced", "strong-d", "wgan-gp"):
        assert result.stdout.count(f"{preset:>10} ") == 2, result.stdout  # a cost row and a live row each
