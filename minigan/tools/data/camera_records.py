"""A town's number-plate camera records, simulated: the mixed table a tabular GAN must learn.

Each record is one vehicle passing one camera. The six columns, their kinds and their ranges (``SCHEMA``)::

    camera    categorical  ring-north, ring-south, motorway-link, high-street, school-lane, industrial
    vehicle   categorical  car, van, lorry, motorbike, bus
    region    categorical  local, neighbouring, far, foreign          (where the plate was issued)
    day       categorical  Mon, Tue, Wed, Thu, Fri, Sat, Sun
    hour      continuous   [0, 24)     time of day in hours (13.5 is half past one in the afternoon)
    speed     continuous   [0, 160]    km/h

A record is drawn column after column, each given the ones before it (ancestral sampling), so that the
table has structure to learn beyond its marginals:

    day      ~ DAY_WEIGHTS                       fewer journeys at the weekend
    camera   ~ CAMERA_SHARE[weekday or weekend]  the school lane is quiet at the weekend
    hour     | day        weekdays: the morning peak N(8, 0.8²) and the evening peak N(17.5, 1.2²), a
                          daytime N(13, 3²) and a flat night; weekends: one broad N(13.5, 3²) and a flat part
                          (wrapped into [0, 24)): two or three modes, the case for mode-specific normalisation
    vehicle  | camera, hour      each camera's own mix (VEHICLE_MIX); at night (hour < 6 or ≥ 22) the lorries'
                          weight in it is multiplied by NIGHT_LORRY_FACTOR on the ring roads, the motorway link
                          and the industrial estate, and the buses' by SCHOOL_BUS_FACTOR at the school lane at
                          7–9 and 14.5–16 (then the mix is rescaled to sum to 1)
    region   | vehicle    mostly local (REGION_MIX); lorries come from far away and from abroad
    speed    | camera, vehicle, hour, day
                          congested at a weekday peak on the ring roads and the high street (probability
                          CONGESTION within 1 h of 8:00 or 17:30): N(0.3·limit, (0.1·limit)²); otherwise free
                          flow N(limit·VEHICLE_PACE, (0.08·limit)²) with lorries and buses capped at 90 km/h;
                          clipped to [0, 160]. Each camera's limit is SPEED_LIMIT (km/h).

Everything is NumPy and seeded: ``simulate_records(n, seed)`` returns the same records for the same
(n, seed). The records are a dict of columns: categorical columns as int64 codes into the column's
``categories``, continuous columns as float32.

    simulate_records(n, seed)   -> {name: (n,) array}, in SCHEMA's order
    SCHEMA                      the Column of each column: name, kind, categories or (low, high)
"""

from typing import NamedTuple

import numpy

from minigan.engine.backend import SEED_LIMIT


class Column(NamedTuple):
    """One column of a table: ``kind`` "categorical" (``categories``, codes 0 … len − 1) or "continuous"
    (values in ``low`` ≤ v ≤ ``high``; ``high`` excluded where ``high_open``)."""

    name: str
    kind: str
    categories: tuple = ()
    low: float = 0.0
    high: float = 0.0
    high_open: bool = False


CAMERAS = ("ring-north", "ring-south", "motorway-link", "high-street", "school-lane", "industrial")
VEHICLES = ("car", "van", "lorry", "motorbike", "bus")
REGIONS = ("local", "neighbouring", "far", "foreign")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_SPEED = 160.0

SCHEMA = (
    Column("camera", "categorical", CAMERAS),
    Column("vehicle", "categorical", VEHICLES),
    Column("region", "categorical", REGIONS),
    Column("day", "categorical", DAYS),
    Column("hour", "continuous", low=0.0, high=24.0, high_open=True),
    Column("speed", "continuous", low=0.0, high=MAX_SPEED),
)

DAY_WEIGHTS = numpy.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.7, 0.5])
CAMERA_SHARE = {  # over CAMERAS
    "weekday": numpy.array([0.22, 0.22, 0.18, 0.16, 0.10, 0.12]),
    "weekend": numpy.array([0.24, 0.24, 0.20, 0.24, 0.02, 0.06]),
}
SPEED_LIMIT = numpy.array([80.0, 80.0, 110.0, 30.0, 20.0, 50.0])  # km/h, over CAMERAS
VEHICLE_MIX = numpy.array([  # rows: CAMERAS, columns: VEHICLES (car, van, lorry, motorbike, bus)
    [0.70, 0.15, 0.08, 0.04, 0.03],
    [0.70, 0.15, 0.08, 0.04, 0.03],
    [0.62, 0.14, 0.20, 0.03, 0.01],
    [0.78, 0.10, 0.01, 0.05, 0.06],
    [0.86, 0.06, 0.00, 0.03, 0.05],
    [0.35, 0.35, 0.27, 0.02, 0.01],
])
NIGHT_LORRY_FACTOR = 6.0
NIGHT_LORRY_CAMERAS = (0, 1, 2, 5)  # ring-north, ring-south, motorway-link, industrial
SCHOOL_BUS_FACTOR = 6.0
REGION_MIX = numpy.array([  # rows: VEHICLES, columns: REGIONS (local, neighbouring, far, foreign)
    [0.72, 0.20, 0.07, 0.01],
    [0.65, 0.25, 0.09, 0.01],
    [0.20, 0.25, 0.35, 0.20],
    [0.80, 0.15, 0.05, 0.00],
    [0.90, 0.08, 0.02, 0.00],
])
VEHICLE_PACE = numpy.array([1.02, 0.98, 0.85, 1.08, 0.85])  # free-flow speed as a fraction of the limit
CONGESTED_CAMERAS = (0, 1, 3)  # ring-north, ring-south, high-street
CONGESTION = 0.7  # probability that a weekday peak-hour record on those cameras is in a queue
HEAVY_CAP = 90.0  # km/h: lorries and buses are limited


def simulate_records(n, seed=0):
    """``n`` records of the town's cameras, as {column name: (n,) array} in ``SCHEMA``'s order (see the module's
    docstring for how each column depends on the others). Categorical columns are int64 codes, continuous
    ones float32. The same (n, seed) gives the same records."""
    if isinstance(n, bool) or not isinstance(n, (int, numpy.integer)) or n < 1:
        raise ValueError(f"simulate_records: n must be a positive int, got {n!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)) or not 0 <= seed < SEED_LIMIT:
        raise ValueError(f"simulate_records: seed must be an int in [0, 2**64), got {seed!r}")
    rng = numpy.random.default_rng(int(seed))
    n = int(n)
    day = rng.choice(len(DAYS), size=n, p=DAY_WEIGHTS / DAY_WEIGHTS.sum())
    weekend = day >= 5
    camera = numpy.where(weekend, _choose(rng, CAMERA_SHARE["weekend"], n), _choose(rng, CAMERA_SHARE["weekday"], n))
    hour = _hours(rng, weekend)
    vehicle = _vehicles(rng, camera, hour)
    region = _choose_rows(rng, REGION_MIX[vehicle])
    speed = _speeds(rng, camera, vehicle, hour, weekend)
    columns = {"camera": camera, "vehicle": vehicle, "region": region, "day": day, "hour": hour, "speed": speed}
    return {column.name: columns[column.name].astype(numpy.int64 if column.kind == "categorical" else numpy.float32)
            for column in SCHEMA}


def _choose(rng, weights, n):
    """n draws from one categorical distribution."""
    return rng.choice(len(weights), size=n, p=weights / weights.sum())


def _choose_rows(rng, probabilities):
    """One draw per row of ``probabilities`` (n, k), each row a distribution (rescaled to sum to 1)."""
    cumulative = numpy.cumsum(probabilities / probabilities.sum(axis=1, keepdims=True), axis=1)  # (n, k)
    u = rng.uniform(size=(len(probabilities), 1))
    return numpy.minimum((u > cumulative).sum(axis=1), probabilities.shape[1] - 1)  # the first k with u ≤ cumulative[k]


def _hours(rng, weekend):
    """Time of day: weekday mixture of the two peaks, daytime and night; weekend of a broad midday and night."""
    n = len(weekend)
    weekday_parts = _choose(rng, numpy.array([0.3, 0.3, 0.3, 0.1]), n)  # morning peak, evening peak, daytime, flat
    weekend_parts = numpy.where(_choose(rng, numpy.array([0.8, 0.2]), n) == 0, 2, 3)  # broad midday, flat
    part = numpy.where(weekend, weekend_parts, weekday_parts)
    means = numpy.array([8.0, 17.5, 13.0, 12.0])
    stds = numpy.array([0.8, 1.2, 3.0, 0.0])
    midday_mean = numpy.where(weekend, 13.5, means[part])
    hour = midday_mean + stds[part] * rng.standard_normal(n)
    hour = numpy.where(part == 3, rng.uniform(0.0, 24.0, size=n), hour)
    hour = numpy.mod(hour, 24.0)  # a time of day wraps round midnight
    return numpy.minimum(hour, numpy.nextafter(numpy.float32(24.0), numpy.float32(0.0)))  # stays below 24 in float32


def _vehicles(rng, camera, hour):
    """Each camera's vehicle mix, with more lorries at night on the through roads and buses at school times."""
    mix = VEHICLE_MIX[camera].copy()  # (n, 5)
    night = (hour < 6.0) | (hour >= 22.0)
    lorry_night = night & numpy.isin(camera, NIGHT_LORRY_CAMERAS)
    mix[lorry_night, 2] *= NIGHT_LORRY_FACTOR
    school_run = (camera == 4) & (((hour >= 7.0) & (hour < 9.0)) | ((hour >= 14.5) & (hour < 16.0)))
    mix[school_run, 4] *= SCHOOL_BUS_FACTOR
    return _choose_rows(rng, mix)


def _speeds(rng, camera, vehicle, hour, weekend):
    """Free flow near each camera's limit (by vehicle), or a queue at a weekday peak on the busy roads."""
    limit = SPEED_LIMIT[camera]
    peak = (numpy.abs(hour - 8.0) < 1.0) | (numpy.abs(hour - 17.5) < 1.0)
    congested = ~weekend & peak & numpy.isin(camera, CONGESTED_CAMERAS) & (rng.uniform(size=len(camera)) < CONGESTION)
    free = limit * VEHICLE_PACE[vehicle] + 0.08 * limit * rng.standard_normal(len(camera))
    free = numpy.where(numpy.isin(vehicle, (2, 4)), numpy.minimum(free, HEAVY_CAP), free)
    queued = 0.3 * limit + 0.1 * limit * rng.standard_normal(len(camera))
    return numpy.clip(numpy.where(congested, queued, free), 0.0, MAX_SPEED)
