"""The measures of a synthetic table against their definitions, and examples/synthetic_records.py: its outputs, a
resume that continues the run exactly, --checkpoint measuring what training measured, and one-line errors."""

import json
import os

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigan.tools import table_metrics as metrics
from minigan.tools.data.camera_records import SCHEMA, Column, simulate_records

from conftest import PNG_SIGNATURE, ROOT, assert_resume_matches_one_run, interrupt_while_training, load_example

example = load_example("synthetic_records")
QUICK = ["--records", "400", "--test-records", "200", "--synthetic", "200", "--batch-size", "100", "--log-every", "100"]


# ----- the measures ------------------------------------------------------------------------------------
def test_total_variation_and_kolmogorov_smirnov_against_hand_computed_values():
    schema = (Column("c", "categorical", ("a", "b", "c")), Column("x", "continuous", low=0, high=10))
    real = {"c": numpy.array([0, 0, 1, 2]), "x": numpy.array([1.0, 2.0, 3.0, 4.0])}
    fake = {"c": numpy.array([0, 1, 1, 1]), "x": numpy.array([3.5, 4.5, 5.0, 6.0])}
    distances = metrics.marginal_distances(real, fake, schema)
    assert distances["c"] == pytest.approx(0.5 * (abs(0.5 - 0.25) + abs(0.25 - 0.75) + abs(0.25 - 0)))
    assert distances["x"] == pytest.approx(0.75)   # at v = 4: F_real = 1, F_fake = 0.25


@given(seed=st.integers(0, 100))
@settings(max_examples=10, deadline=None)
def test_cramers_v_is_one_for_a_copy_and_near_zero_for_independent_columns(seed):
    rng = numpy.random.default_rng(seed)
    a = rng.integers(4, size=5000)
    assert metrics.cramers_v(a, 4, a, 4) == pytest.approx(1.0)
    assert metrics.cramers_v(a, 4, (a + 1) % 4, 4) == pytest.approx(1.0)       # any relabelling
    assert metrics.cramers_v(a, 4, rng.integers(3, size=5000), 3) < 0.06


def test_the_baseline_keeps_each_marginal_and_loses_the_associations():
    table = simulate_records(5000, seed=0)
    baseline = metrics.independent_marginals(table, SCHEMA, 5000, numpy.random.default_rng(0))
    assert max(metrics.marginal_distances(table, baseline, SCHEMA).values()) < 0.05
    edges = metrics.decile_edges(table, SCHEMA)
    real, independent = metrics.association_matrix(table, SCHEMA, edges), metrics.association_matrix(baseline, SCHEMA, edges)
    camera, speed = 0, 5
    assert real[camera, speed] > 0.5 and independent[camera, speed] < 0.1     # each camera its own speeds, gone


@given(n=st.integers(1, 40), big=st.integers(1, 60), d=st.integers(1, 5), seed=st.integers(0, 100))
@settings(max_examples=20, deadline=None)
def test_closest_record_distances_match_the_brute_force_minimum(n, big, d, seed):
    rng = numpy.random.default_rng(seed)
    queries, reference = rng.standard_normal((n, d)), rng.standard_normal((big, d))
    brute = numpy.sqrt(((queries[:, None, :] - reference[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    numpy.testing.assert_allclose(metrics.closest_record_distances(queries, reference, chunk=7), brute, atol=1e-6)
    copies = metrics.closest_record_distances(reference[:3], reference)
    assert (copies < 1e-6).all()                                                # a copied record is at distance 0


def test_train_on_real_beats_train_on_the_baseline():
    train, test = simulate_records(3000, seed=0), simulate_records(1500, seed=1)
    scales = metrics.column_scales(train, SCHEMA)
    baseline = metrics.independent_marginals(train, SCHEMA, 3000, numpy.random.default_rng(0))
    real = metrics.utility(train, test, SCHEMA, "vehicle", scales, epochs=10)
    independent = metrics.utility(baseline, test, SCHEMA, "vehicle", scales, epochs=10)
    assert real["macro_f1"] > independent["macro_f1"] + 0.1                      # the other columns do predict the vehicle



def test_a_table_smaller_than_a_minibatch_still_trains_the_classifier():
    """200 records, minibatches of 256: one step of all 200 each epoch. An untrained net guesses among five
    vehicles (about 20% right); trained, it at least learns that most vehicles are cars (66% of the test)."""
    train, test = simulate_records(200, seed=0), simulate_records(1500, seed=1)
    result = metrics.utility(train, test, SCHEMA, "vehicle", metrics.column_scales(train, SCHEMA), batch_size=256)
    assert result["accuracy"] > 0.6

# ----- the example ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_example_trains_measures_and_measures_the_same_again_from_its_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    assert example.main([*QUICK, "--epochs", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for label in ("real (held out)", "CTGAN", "independent marginals", "TSTR F1", "DCR median"):
        assert label in printed
    assert (out / "synthetic_records.png").read_bytes()[:8] == PNG_SIGNATURE
    assert (out / "columns.png").read_bytes()[:8] == PNG_SIGNATURE
    assert (out / "lorries.png").read_bytes()[:8] == PNG_SIGNATURE
    measured = json.loads((out / "measurements.json").read_text())
    real_lorries = measured["lorries"]["real"]
    assert 0 < real_lorries["night"] < 1 and 0 < real_lorries["far"] < 1
    assert measured["generator_steps"] == 8 and set(measured["rows"]) == {"real (held out)", "CTGAN", "independent marginals"}
    with numpy.load(out / "synthetic.npz") as synthetic:
        assert len(synthetic["speed"]) == 200
    again = tmp_path / "again"
    assert example.main(["--checkpoint", str(out), "--out", str(again), "--synthetic", "200", "--test-records", "200"]) == 0
    remeasured = json.loads((again / "measurements.json").read_text())
    assert (remeasured["rows"], remeasured["lorries"]) == (measured["rows"], measured["lorries"])   # the same model, the same numbers


@pytest.mark.slow
def test_a_resumed_run_continues_exactly(tmp_path):
    assert_resume_matches_one_run(example, [*QUICK, "--synthetic", "100"], tmp_path, steps=6, cut=3)


def test_a_batch_that_does_not_split_into_packs_is_one_line(tmp_path, capsys):
    assert example.main([*QUICK, "--batch-size", "95", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--batch-size 95 is not a multiple of --pac 10" in err


@pytest.mark.parametrize("flags, message", [
    (["--records", "3"], "argument --records: expected at least --modes (10) records"),
    (["--records", "300", "--batch-size", "500"], "argument --batch-size: expected at most --records (300)"),
])
def test_too_few_records_for_the_mixture_or_the_minibatch_are_refused_at_the_flags(capsys, flags, message):
    with pytest.raises(SystemExit) as stopped:
        example.parse_args(flags)
    assert stopped.value.code == 2 and message in capsys.readouterr().err


def test_data_and_a_missing_checkpoint_are_refused_in_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        example.parse_args(["--data", "x.npz"])
    assert stopped.value.code == 2 and "reads no data file" in capsys.readouterr().err
    assert example.main(["--checkpoint", str(tmp_path / "none.npz"), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--checkpoint: no checkpoint at" in err


@pytest.mark.slow
def test_ctrl_c_finishes_the_iteration_writes_the_checkpoint_and_says_how_to_resume(tmp_path):
    out = tmp_path / "run"
    environment = dict(os.environ, PYTHONPATH=ROOT, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    status, stderr = interrupt_while_training("synthetic_records", [*QUICK, "--log-every", "1", "--epochs", "1000", "--out", out],
                                              "epoch 1/1000  step 1/4", environment)
    assert status == 130 and "Traceback" not in stderr, stderr
    assert stderr.strip().splitlines()[-1].endswith(f"continue with --resume {out / 'checkpoint.npz'}")
    with numpy.load(out / "history.npz") as history:
        assert len(history["d_loss"]) >= 1
