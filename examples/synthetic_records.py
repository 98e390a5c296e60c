"""Synthetic number-plate camera records: CTGAN (Xu et al. 2019) on a simulated town, measured as users of
synthetic data measure it, against the baseline of independent marginals.

    python examples/synthetic_records.py                               # 300 epochs of CTGAN on 10,000 records
    python examples/synthetic_records.py --epochs 2 --out runs/quick_records             # a quick look
    python examples/synthetic_records.py --checkpoint runs/synthetic_records --out runs/records_again   # measure a trained one
    python examples/synthetic_records.py --resume runs/synthetic_records --epochs 400    # train it on

The records (``minigan/tools/data/camera_records.py``): camera, vehicle, plate region, day, time of day and
speed, drawn so that the columns depend on each other (lorries at night on the ring roads, queues at the
weekday peaks). --records of them train CTGAN (``minigan/gans/ctgan.py``, rows encoded by
``minigan/tools/data/tabular.py``); --test-records more, never seen in training, are the held-out real table.

After training, --synthetic records are drawn (each from a condition drawn by the data's own frequencies,
as CTGAN's sampling does) and measured (``minigan/tools/table_metrics.py``) beside the baseline, each column
resampled alone from its training marginal, and beside the held-out real table itself (the noise floor):

    marginal     mean over the columns of the distance to the training table's marginal (TV or KS)
    association  mean |Cramér's V − the training table's| over the pairs of columns
    TSTR         a small MLP predicting the vehicle from the other columns, trained on that table, tested on
                 the held-out real records: accuracy and macro F1 (train on real: the real row)
    DCR          each record's distance to the closest training record (median, 5th percentile) and the
                 number of exact copies (distance < 1e-6)
    honoured     the fraction of synthetic records whose conditioned column has the asked category

Then conditioning at work: records drawn for the one condition vehicle = lorry, G(z | lorry), against the
real lorries and the baseline's: how many pass at night, how many come from far or abroad.

Writes into --out (default runs/synthetic_records): columns.png after every epoch (the latest: the time of
day and the speed, real against G), checkpoint.npz, training.png, history.npz; at the end
synthetic_records.png (every column's marginal, and the association matrices), lorries.png,
synthetic.npz (the synthetic table) and measurements.json, whose table is printed. The run itself (--out, --resume, Ctrl-C,
errors) is minigan/tools/runs/harness.py's.
"""

import argparse
import os
import sys
import time

import numpy

import minigan
from minigan.gans.ctgan import ADVERSARIAL_LOSSES, ConditionSampler, TrainingBySampling, build_ctgan
from minigan.tools import runs
from minigan.tools import table_metrics as metrics
from minigan.tools.cli import positive_float, positive_int
from minigan.tools.data.camera_records import REGIONS, SCHEMA, VEHICLES, simulate_records
from minigan.tools.data.tabular import ENCODINGS, TableEncoder
from minigan.tools.io import atomic_write
from minigan.tools.runs.checkpoints import load_gan_state, read_resume, resume_flags
from minigan.tools.runs.harness import SIDE_STREAM_BASE

SCRIPT, MODEL = "synthetic_records.py", "ctgan"
OUTPUTS = ("columns.png", "synthetic_records.png", "lorries.png", "synthetic.npz", "measurements.json")
SETTINGS = ("records", "batch_size", "lr", "seed", "modes", "pac", "encoding", "adversarial")  # kept on --resume and --checkpoint
ENCODING_STREAM, SAMPLING_STREAM, BASELINE_STREAM, FIGURE_STREAM, LORRY_STREAM = 0, 1, 2, 3, 4   # separate seeded streams
TARGET = "vehicle"  # what the TSTR classifier predicts
CATEGORICAL = [column for column in SCHEMA if column.kind == "categorical"]


def parser():
    parser = runs.training_parser("Train CTGAN (Xu et al. 2019) on simulated number-plate camera records and measure "
                                  "the synthetic table against independent marginals.")
    runs.add_run_flags(parser, os.path.join("runs", "synthetic_records"), epochs=300, settings=SETTINGS,
                       epochs_help="passes over the --records training records (CTGAN's default: 300)",
                       seed_help="fixes the simulated records, the initial weights, the noise and the conditions")
    data = next(action for action in parser._actions if action.dest == "data")
    data.help = argparse.SUPPRESS  # the records are simulated: there is no data file to read
    parser.add_argument("--records", type=positive_int, default=10000, help="simulated training records")
    parser.add_argument("--test-records", type=positive_int, default=5000, help="simulated held-out real records")
    parser.add_argument("--synthetic", type=positive_int, default=5000, help="synthetic records drawn and measured at the end")
    parser.add_argument("--batch-size", type=positive_int, default=500, help="minibatch size m (a multiple of --pac)")
    parser.add_argument("--lr", type=positive_float, default=2e-4, help="Adam learning rate of G and of the critic")
    parser.add_argument("--modes", type=positive_int, default=10, help="Gaussian modes fitted per continuous column (§4.2)")
    parser.add_argument("--pac", type=positive_int, default=10, help="rows per pack of the critic (PacGAN)")
    parser.add_argument("--encoding", choices=ENCODINGS, default="mode-specific",
                        help="of the continuous columns: CTGAN's mode-specific normalisation (§4.2), or min-max to [−1, 1] "
                             "(what the paper's §4.2 argues against)")
    parser.add_argument("--adversarial", choices=ADVERSARIAL_LOSSES, default="wgan-gp",
                        help="the game: the paper's WGAN-GP critic on packs, or the standard GAN's D on packs")
    parser.add_argument("--checkpoint", metavar="CHECKPOINT", default=None,
                        help="a checkpoint.npz of this script (or its folder) to measure without training; its settings are used")
    return parser


def parse_args(argv=None):
    flags = parser()
    args = runs.parse_flags(flags, argv)
    if "data" in args.given:
        flags.error("--data: this script simulates its records (--records, --seed) and reads no data file")
    if args.records < args.modes:
        flags.error(f"argument --records: expected at least --modes ({args.modes}) records, for the Gaussian mixture "
                    f"fitted to each continuous column (§4.2), got {args.records}")
    if args.batch_size > args.records:
        flags.error(f"argument --batch-size: expected at most --records ({args.records}), the simulated training records "
                    f"a minibatch is drawn from, got {args.batch_size}")
    return args


# ----- the data, the model ------------------------------------------------------------------------------
def simulated(args):
    """(train, test) tables, the fitted encoder, the training rows and the condition sampler, all from --seed."""
    train_table = simulate_records(args.records, seed=args.seed)
    test_table = simulate_records(args.test_records, seed=(args.seed + 1) % 2**64)   # other records of the same town
    encoder = TableEncoder(SCHEMA, modes=args.modes, continuous=args.encoding).fit(train_table)
    rows = encoder.encode(train_table, numpy.random.default_rng([args.seed, ENCODING_STREAM]))  # host data: a NumPy stream
    sampler = ConditionSampler({column.name: train_table[column.name] for column in CATEGORICAL},
                               [len(column.categories) for column in CATEGORICAL])
    return train_table, test_table, encoder, rows, sampler


def check_batch(args):
    if args.batch_size % args.pac:
        raise runs.RunError(f"--batch-size {args.batch_size} is not a multiple of --pac {args.pac}: the critic scores packs "
                            f"of {args.pac} records; use --batch-size {max(args.pac, args.batch_size // args.pac * args.pac)}")


def draw(gan, encoder, sampler, n, rng, batch=1000):
    """n synthetic records, each drawn by G for a condition drawn by the data's frequencies; returns the table
    and the fraction of records whose conditioned column holds the category asked for."""
    parts, honoured = [], 0
    for start in range(0, n, batch):
        m = min(batch, n - start)
        conditions, column, category = sampler.sample_original(m, rng)
        table = encoder.decode(gan.generate(gan.sample_noise(m, rng=rng), conditions).numpy())
        asked = numpy.stack([table[sampler.columns[j]] for j in range(len(sampler.columns))], axis=1)   # (m, columns)
        honoured += int((asked[numpy.arange(m), column] == category).sum())
        parts.append(table)
    return {name: numpy.concatenate([part[name] for part in parts]) for name in parts[0]}, honoured / n


# ----- training and measuring ----------------------------------------------------------------------------
def train(args):
    if args.checkpoint:
        return measure_checkpoint(args)
    run = runs.Run(SCRIPT, args, parser(), SETTINGS, OUTPUTS, os.path.join("runs", "synthetic_records"), fixed={"model": MODEL})
    check_batch(run.args)
    train_table, test_table, encoder, rows, sampler = simulated(run.args)
    minigan.seed(args.seed)
    gan = build_ctgan(encoder, sampler, lr=args.lr, pac=args.pac, seed=args.seed, adversarial=args.adversarial)
    run.start(gan, rows, loader=lambda: TrainingBySampling(rows, sampler, args.batch_size, args.seed))
    watch = numpy.random.default_rng([args.seed, FIGURE_STREAM])  # a stream training never draws from
    figure_noise, figure_conditions = gan.sample_noise(2000, rng=watch), sampler.sample_original(2000, watch)[0]

    def columns_figure(path):  # after every epoch: the two continuous columns, real against G
        fake = encoder.decode(gan.generate(figure_noise, figure_conditions).numpy())
        save_continuous_figure(path, train_table, fake)

    cpu = time.process_time()
    run.train(columns_figure, "columns.png", title="CTGAN on camera records", critic=args.adversarial == "wgan-gp", names=("D(x|c)", "D(G(z|c)|c)"),
              what="training CTGAN")
    measure(gan, encoder, sampler, train_table, test_table, run.out, args, seconds=time.process_time() - cpu)


def measure_checkpoint(args):
    """--checkpoint: the trained CTGAN of an earlier run, measured into a new --out without training."""
    path = os.path.join(args.checkpoint, "checkpoint.npz") if os.path.isdir(args.checkpoint) else args.checkpoint
    state, metadata, config = read_resume(path, parser(), SETTINGS, SCRIPT, fixed={"model": MODEL}, flag="--checkpoint")
    resume_flags(args, parser(), config, path, log=lambda line: None)  # the settings are printed below, as measured
    out = runs.prepare_output_folder(args.out or os.path.join("runs", "synthetic_records_measured"), overwrite=args.overwrite,
                                     outputs=OUTPUTS)
    train_table, test_table, encoder, rows, sampler = simulated(args)
    gan = build_ctgan(encoder, sampler, lr=args.lr, pac=args.pac, seed=args.seed, adversarial=args.adversarial)
    load_gan_state(gan, state, path, {}, flag="--checkpoint")
    print(f"measuring {path} (generator step {gan.iteration}; " + ", ".join(f"{key} {value}" for key, value in config.items())
          + f"), writing to {out}")
    measure(gan, encoder, sampler, train_table, test_table, out, args, seconds=None)


def measure(gan, encoder, sampler, train_table, test_table, out, args, seconds):
    started = time.process_time()
    # G's Gumbel noise comes from the training stream: seeded here, so that a measurement is the same after
    # training and from --checkpoint
    minigan.seed(int(numpy.random.SeedSequence([args.seed, SIDE_STREAM_BASE + SAMPLING_STREAM]).generate_state(1)[0]))
    synthetic, honoured = draw(gan, encoder, sampler, args.synthetic, numpy.random.default_rng([args.seed, SAMPLING_STREAM]))
    baseline = metrics.independent_marginals(train_table, SCHEMA, args.synthetic, numpy.random.default_rng([args.seed, BASELINE_STREAM]))
    with atomic_write(os.path.join(out, "synthetic.npz")) as handle:
        numpy.savez(handle, **synthetic)
    scales = metrics.column_scales(train_table, SCHEMA)
    edges = metrics.decile_edges(train_table, SCHEMA)
    reference = metrics.association_matrix(train_table, SCHEMA, edges)
    training_vectors = metrics.record_vectors(train_table, SCHEMA, scales)
    tables = {"real (held out)": test_table, "CTGAN": synthetic, "independent marginals": baseline}
    rows, matrices = {}, {"real (training)": reference}
    for name, table in tables.items():
        marginals = metrics.marginal_distances(train_table, table, SCHEMA)
        matrices[name] = metrics.association_matrix(table, SCHEMA, edges)
        usefulness = metrics.utility(train_table if name.startswith("real") else table, test_table, SCHEMA, TARGET, scales, seed=args.seed)
        distances = metrics.closest_record_distances(metrics.record_vectors(table, SCHEMA, scales), training_vectors)
        rows[name] = {"marginal": float(numpy.mean(list(marginals.values()))), **{f"marginal_{k}": v for k, v in marginals.items()},
                      "association": metrics.association_error(reference, matrices[name]),
                      "accuracy": usefulness["accuracy"], "macro_f1": usefulness["macro_f1"],
                      "dcr_median": float(numpy.median(distances)), "dcr_p5": float(numpy.percentile(distances, 5)),
                      "copies": int((distances < 1e-6).sum())}
    rows["CTGAN"]["honoured"] = honoured
    figure = os.path.join(out, "synthetic_records.png")
    save_figure(figure, train_table, synthetic, baseline, matrices)
    columns = [("marginal", ("marginal", ".3f")), ("association", ("association", ".3f")), ("TSTR acc", ("accuracy", ".3f")),
               ("TSTR F1", ("macro_f1", ".3f")), ("DCR median", ("dcr_median", ".3f")), ("DCR 5%", ("dcr_p5", ".3f")),
               ("copies", ("copies", "d")), ("honoured", ("honoured", ".3f"))]
    extra = {"command": "python examples/synthetic_records.py " + " ".join(sys.argv[1:]) if sys.argv[0].endswith(SCRIPT) else None,
             "records": args.records, "test_records": args.test_records, "synthetic": args.synthetic,
             "generator_steps": gan.iteration, "training_cpu_seconds": seconds, "target": TARGET}
    extra["lorries"] = asked = ask_for_lorries(gan, encoder, sampler, train_table, baseline, args, out)
    print(f"{args.synthetic} records of each table against the {args.records} training records "
          f"(TSTR: tested on the {args.test_records} held-out real records; 'real' trains on the training records):")
    runs.write_measurements(rows, columns, out, extra)
    print("asked for lorries, G(z | vehicle = lorry): " + "; ".join(
        f"{name} {shares['night']:.1%} at night, {shares['far']:.1%} from far or abroad" if shares else f"{name} no lorries"
        for name, shares in asked.items()))
    print(f"measured in {time.process_time() - started:.0f} CPU s; wrote {figure}, lorries.png, synthetic.npz and measurements.json")
    return rows


def ask_for_lorries(gan, encoder, sampler, train_table, baseline, args, out, n=2000):
    """Conditioning at work: n records drawn for the one condition vehicle = lorry, against the real lorries and
    the baseline's. Returns {table: {"night": share at 22:00–6:00, "far": share from far or abroad}, or None where
    the table has no lorry} and draws ``out``/lorries.png. Its own seeded streams: the other measures stay as they were."""
    minigan.seed(int(numpy.random.SeedSequence([args.seed, SIDE_STREAM_BASE + LORRY_STREAM]).generate_state(1)[0]))
    lorry = VEHICLES.index("lorry")
    conditions = sampler.vectors(numpy.full(n, sampler.columns.index("vehicle")), numpy.full(n, lorry))
    noise = gan.sample_noise(n, rng=numpy.random.default_rng([args.seed, LORRY_STREAM]))
    drawn = encoder.decode(gan.generate(noise, conditions).numpy())
    tables = {"real": _rows_where(train_table, train_table["vehicle"] == lorry), "CTGAN": drawn,
              "independent marginals": _rows_where(baseline, baseline["vehicle"] == lorry)}
    far = REGIONS.index("far")
    asked = {name: {"night": float(((table["hour"] < 6) | (table["hour"] >= 22)).mean()),
                    "far": float((table["region"] >= far).mean())} if len(table["hour"]) else None   # a small --synthetic may hold none
             for name, table in tables.items()}
    figure = _figure(8, 2.6)
    for axes, name in zip(figure.subplots(1, 3), ("hour", "camera", "region")):
        _column_panel(axes, next(column for column in SCHEMA if column.name == name), tables)
        axes.set_title(f"the {name} of lorries", fontsize=9)
    axes.legend(fontsize=7)
    _save(figure, os.path.join(out, "lorries.png"))
    return asked


def _rows_where(table, keep):
    return {name: values[keep] for name, values in table.items()}


# ----- the pictures -------------------------------------------------------------------------------------
def _figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=80)
    FigureCanvasAgg(figure)  # headless: render to memory, as minigan.tools.plots does
    return figure


def _save(figure, path):
    figure.tight_layout()
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png")


def _column_panel(axes, column, tables):
    """One column's marginal in each of ``tables`` ({label: table}): bars for categories, histograms otherwise.
    A table with no records (a baseline holding no lorry) is left out of the panel: it has no distribution."""
    tables = {label: table for label, table in tables.items() if len(table[column.name])}
    if column.kind == "categorical":
        k, width = len(column.categories), 0.8 / len(tables)
        for i, (label, table) in enumerate(tables.items()):
            axes.bar(numpy.arange(k) + i * width, numpy.bincount(table[column.name], minlength=k) / len(table[column.name]),
                     width, label=label)
        axes.set_xticks(numpy.arange(k) + 0.4 - width / 2)
        axes.set_xticklabels(column.categories, rotation=45, fontsize=7)
    else:
        bins = numpy.linspace(column.low, column.high, 49)
        for label, table in tables.items():
            axes.hist(table[column.name], bins=bins, density=True, histtype="step", label=label)
    axes.set_title(column.name, fontsize=9)


def save_continuous_figure(path, real, fake):
    figure = _figure(8, 2.6)
    for axes, column in zip(figure.subplots(1, 2), [column for column in SCHEMA if column.kind == "continuous"]):
        _column_panel(axes, column, {"real": real, "CTGAN": fake})
    axes.legend(fontsize=7)
    _save(figure, path)


def save_figure(path, real, synthetic, baseline, matrices):
    """Every column's marginal (real, CTGAN, baseline) and the association matrices (Cramér's V) side by side."""
    figure = _figure(14, 7)
    grid = figure.add_gridspec(2, 12)
    for i, column in enumerate(SCHEMA):
        axes = figure.add_subplot(grid[0, 2 * i:2 * i + 2])
        _column_panel(axes, column, {"real": real, "CTGAN": synthetic, "independent": baseline})
    axes.legend(fontsize=7)
    names = [column.name for column in SCHEMA]
    for i, (label, matrix) in enumerate(matrices.items()):
        axes = figure.add_subplot(grid[1, 3 * i:3 * i + 3])
        axes.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
        for (a, b), value in numpy.ndenumerate(matrix):
            axes.text(b, a, f"{value:.2f}", ha="center", va="center", fontsize=6, color="white" if value < 0.5 else "black")
        axes.set_xticks(range(len(names)))
        axes.set_xticklabels(names, rotation=45, fontsize=7)
        axes.set_yticks(range(len(names)))
        axes.set_yticklabels(names, fontsize=7)
        axes.set_title(f"Cramér's V: {label}", fontsize=9)
    _save(figure, path)


def main(argv=None):
    args = parse_args(argv)
    return runs.run_script(SCRIPT, lambda: train(args))


if __name__ == "__main__":
    sys.exit(main())
