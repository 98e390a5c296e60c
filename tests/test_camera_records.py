"""The camera-records simulator and the table encoding (CTGAN §4.2): documented columns and ranges, the
documented dependencies, determinism; EM recovering a known mixture; encode → decode giving the table back.

Everything here is NumPy on the host (the data are made before any device sees them), so these tests
run the same under every backend."""

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigan.tools.data import camera_records
from minigan.tools.data.camera_records import SCHEMA, simulate_records
from minigan.tools.data.tabular import GaussianMixture, ModeSpecificNormaliser, TableEncoder


@pytest.fixture(scope="module")
def records():
    return simulate_records(20000, seed=0)


# ----- the simulator ----------------------------------------------------------------------------------
@given(n=st.integers(1, 300), seed=st.integers(0, 2**32))
@settings(max_examples=20, deadline=None)
def test_every_column_has_its_documented_kind_and_range(n, seed):
    table = simulate_records(n, seed)
    assert list(table) == [column.name for column in SCHEMA]
    for column in SCHEMA:
        values = table[column.name]
        assert values.shape == (n,)
        if column.kind == "categorical":
            assert values.dtype == numpy.int64
            assert values.min() >= 0 and values.max() < len(column.categories)
        else:
            assert values.dtype == numpy.float32
            assert values.min() >= column.low
            assert values.max() < column.high if column.high_open else values.max() <= column.high


def test_the_same_seed_gives_the_same_records_and_another_seed_others():
    a, b, c = simulate_records(500, 3), simulate_records(500, 3), simulate_records(500, 4)
    for name in a:
        numpy.testing.assert_array_equal(a[name], b[name])
    assert any((a[name] != c[name]).any() for name in a)


def test_the_documented_dependencies_are_in_the_records(records):
    camera, vehicle, hour, speed, day, region = (records[k] for k in ("camera", "vehicle", "hour", "speed", "day", "region"))
    lorry, bus = camera_records.VEHICLES.index("lorry"), camera_records.VEHICLES.index("bus")
    night = (hour < 6) | (hour >= 22)
    ring = camera < 2
    assert (vehicle[ring & night] == lorry).mean() > 2.5 * (vehicle[ring & ~night] == lorry).mean()   # lorries at night
    motorway, school = camera_records.CAMERAS.index("motorway-link"), camera_records.CAMERAS.index("school-lane")
    assert numpy.median(speed[camera == motorway]) > 3 * numpy.median(speed[camera == school])        # each road its limit
    weekday = day < 5
    peak = numpy.abs(hour - 8) < 1
    assert (hour[weekday] < 10).mean() > (hour[~weekday] < 10).mean() + 0.1                           # the morning peak
    assert numpy.median(speed[weekday & peak & ring]) < 0.6 * numpy.median(speed[~weekday & ring])   # queues at the peak
    assert (region[vehicle == lorry] >= 2).mean() > 3 * (region[vehicle != lorry] >= 2).mean()       # lorries from afar
    school_run = ((hour >= 7) & (hour < 9)) | ((hour >= 14.5) & (hour < 16))
    at_school = camera == school
    assert (vehicle[at_school & school_run] == bus).mean() > 2 * (vehicle[at_school & ~school_run] == bus).mean()  # school buses


def test_bad_arguments_are_refused_in_one_line():
    with pytest.raises(ValueError, match="n must be a positive int"):
        simulate_records(0)
    with pytest.raises(ValueError, match="seed must be an int"):
        simulate_records(10, seed=-1)


# ----- the Gaussian mixture and mode-specific normalisation ------------------------------------------------
def test_em_recovers_a_known_mixture():
    rng = numpy.random.default_rng(0)
    weights, means, stds = numpy.array([0.2, 0.5, 0.3]), numpy.array([-5.0, 0.0, 6.0]), numpy.array([0.5, 1.0, 0.8])
    mode = rng.choice(3, size=20000, p=weights)
    values = means[mode] + stds[mode] * rng.standard_normal(20000)
    mixture = GaussianMixture(modes=3).fit(values)
    order = numpy.argsort(mixture.means)
    numpy.testing.assert_allclose(mixture.weights[order], weights, atol=0.02)
    numpy.testing.assert_allclose(mixture.means[order], means, atol=0.05)
    numpy.testing.assert_allclose(mixture.stds[order], stds, rtol=0.05)


def test_em_reaches_the_likelihood_of_the_true_mixture_and_drops_empty_modes():
    rng = numpy.random.default_rng(1)
    values = numpy.concatenate([rng.normal(0, 1, 3000), rng.normal(10, 1, 3000)])
    true = numpy.log(0.5 * numpy.exp(-0.5 * values ** 2) + 0.5 * numpy.exp(-0.5 * (values - 10) ** 2)) - 0.5 * numpy.log(2 * numpy.pi)
    one, two = GaussianMixture(modes=1).fit(values), GaussianMixture(modes=2).fit(values)
    assert abs(two.log_likelihood(values) - true.mean()) < 0.01     # the maximum likelihood fit is at least as good as the truth
    assert two.log_likelihood(values) >= true.mean() - 1e-9
    assert one.log_likelihood(values) < true.mean() - 0.5            # one Gaussian over two bumps is far worse
    wide = GaussianMixture(modes=10).fit(values)
    assert (wide.weights >= 0.005).all() and abs(wide.weights.sum() - 1) < 1e-9
    assert wide.log_likelihood(values) >= two.log_likelihood(values) - 0.01


def test_em_asked_for_more_modes_than_the_threshold_allows_keeps_the_heaviest():
    """With 400 modes every weight starts at 1/400 < MIN_WEIGHT: the drop must not leave an empty mixture."""
    values = numpy.random.default_rng(2).uniform(0, 1, 400)
    mixture = GaussianMixture(modes=400, iterations=5).fit(values)
    assert len(mixture.weights) >= 1 and abs(mixture.weights.sum() - 1) < 1e-9
    assert numpy.isfinite(mixture.log_likelihood(values))


@given(seed=st.integers(0, 1000))
@settings(max_examples=10, deadline=None)
def test_mode_specific_normalisation_round_trips_values_near_their_modes(seed):
    rng = numpy.random.default_rng(seed)
    values = numpy.concatenate([rng.normal(8, 0.8, 400), rng.normal(17.5, 1.2, 400)])
    normaliser = ModeSpecificNormaliser(modes=2).fit(values)
    alpha, mode = normaliser.encode(values, numpy.random.default_rng(seed + 1))
    assert (numpy.abs(alpha) <= 0.99).all()
    inside = numpy.abs(alpha) < 0.99                                       # not clipped: within 3.96 σ of the sampled mode
    assert inside.mean() > 0.95
    numpy.testing.assert_allclose(normaliser.decode(alpha, mode)[inside], values[inside], rtol=1e-9, atol=1e-9)


def test_the_table_encoder_lays_out_spans_and_decodes_what_it_encoded(records):
    encoder = TableEncoder(SCHEMA, modes=5).fit(records)
    rows = encoder.encode(records, numpy.random.default_rng(0))
    assert rows.dtype == numpy.float32 and rows.shape == (20000, encoder.width)
    assert [span.stop for span in encoder.spans][-1] == encoder.width
    for span in encoder.spans:
        block = rows[:, span.start:span.stop]
        if span.activation == "softmax":
            numpy.testing.assert_array_equal(block.sum(axis=1), 1.0)             # one-hot
        else:
            assert numpy.abs(block).max() <= 0.99
    back = encoder.decode(rows)
    for column in SCHEMA:
        if column.kind == "categorical":
            numpy.testing.assert_array_equal(back[column.name], records[column.name])
        else:  # exact except where α was clipped (a value beyond 3.96 σ of its mode)
            close = numpy.isclose(back[column.name], records[column.name], rtol=1e-5, atol=1e-4)
            assert close.mean() > 0.99


def test_decoding_rows_of_the_wrong_width_is_refused(records):
    encoder = TableEncoder(SCHEMA, modes=3).fit(records)
    with pytest.raises(ValueError, match=f"expected rows of shape \\(n, {encoder.width}\\)"):
        encoder.decode(numpy.zeros((2, encoder.width + 1)))


def test_min_max_encoding_is_one_tanh_per_continuous_column_and_round_trips(records):
    encoder = TableEncoder(SCHEMA, continuous="min-max").fit(records)
    assert [span.activation for span in encoder.spans if span.column in ("hour", "speed")] == ["tanh", "tanh"]
    rows = encoder.encode(records, numpy.random.default_rng(0))
    assert numpy.abs(rows).max() <= 1
    back = encoder.decode(rows)
    for name in ("hour", "speed"):
        numpy.testing.assert_allclose(back[name], records[name], atol=1e-4)
    with pytest.raises(ValueError, match="continuous must be one of"):
        TableEncoder(SCHEMA, continuous="minmax")
