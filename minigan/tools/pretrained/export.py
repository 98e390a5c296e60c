"""Turn a finished training run into a shipped model: ``weights/NAME.npz`` with its record, and its sha256.

    python -m minigan.tools.pretrained.export runs/pretrained/dcgan --name dcgan --commit 55309e6
    python -m minigan.tools.pretrained.export runs/pretrained/dcgan --name dcgan --commit 55309e6 --into my_weights

RUN_FOLDER is the example's --out (for pix2pix, cyclegan and srgan the run folder, whose variant sub-folder
holds the checkpoint). The run is expected to have been started as

    /usr/bin/time -v python examples/SCRIPT.py FLAGS --out RUN_FOLDER > RUN_FOLDER.log 2>&1

so that RUN_FOLDER.log (``--log``) holds what the run printed and, at its end, ``/usr/bin/time -v``'s
report: the command and the CPU seconds come from there. The exporter

    1. reads the checkpoint (``io.load_checkpoint``) and checks it is the model NAME (its config), finished;
    2. keeps the networks NAME needs, float32 arrays of at least ``HALF_FROM`` values as float16 (the
       weight matrices: half the bytes; the small vectors, biases and batch-norm statistics, stay float32),
       and the run's history;
    3. builds the model from those stored (rounded) weights and scores it (``scores.py``): the record's
       scores and the test sample's;
    4. writes NAME.npz (``io.save_checkpoint``: arrays and JSON, atomic) and its line of SHA256SUMS (atomic),
       then loads it back by name, as a user would.

The record (``model.record``): command, commit, date (when the log was last written: the run's end),
machine (/proc/cpuinfo), cpu_seconds (user + system), wall_seconds, max_rss_kb, settings (the
checkpoint's config), iterations, data, backend, software, run_scores (the numbers the run printed, and
those lines), scores and test_sample (``scores.py``), stored (the dtypes), exported_with.
"""

import argparse
import datetime
import json
import os
import platform
import re
import sys

import numpy

from minigan.tools.io import FileFormatError, atomic_write, load_checkpoint, save_checkpoint
from . import FORMAT, SUMS, VERSION, WEIGHTS, Pretrained, PretrainedError, file_sha256, load, names, recorded_sums
from .catalogue import CATALOGUE
from . import scores

HALF_FROM = 4096  # float32 arrays with at least this many values are stored as float16
CHECKPOINT = "checkpoint.npz"


def stored_arrays(state):
    """The state dict as stored: float32 arrays of ≥ HALF_FROM values as float16, the rest as they are.

    float16 holds magnitudes up to 65504 with 11 significant bits (a relative rounding of at most 2⁻¹¹ ≈
    0.05%); a weight beyond that range is refused rather than stored as inf.
    """
    stored = {}
    for key, array in state.items():
        array = numpy.asarray(array)
        if array.dtype == numpy.float32 and array.size >= HALF_FROM:
            if numpy.abs(array).max() > numpy.finfo(numpy.float16).max:
                raise PretrainedError(f"export: {key} holds a value of magnitude {numpy.abs(array).max():g}, beyond float16's "
                                      f"{numpy.finfo(numpy.float16).max:g}")
            array = array.astype(numpy.float16)
        stored[key] = array
    return stored


# ----- what the run's log says ------------------------------------------------------------------------
TIME_FIELDS = {"command": r'Command being timed: "(.*)"', "user": r"User time \(seconds\): ([\d.]+)",
               "system": r"System time \(seconds\): ([\d.]+)", "wall": r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)",
               "max_rss_kb": r"Maximum resident set size \(kbytes\): (\d+)", "exit_status": r"Exit status: (\d+)"}

# What the examples print at their end: (key or keys, pattern); the last match of each is kept.
PRINTED = (
    (("histogram",), r"^  count ((?:\s+\d+){10})\s*$"),
    (("modes",), r"digit classes present \(each with >= 1% of the samples\): (\d+) of 10"),
    (("kl_uniform",), r"KL\(label histogram \|\| uniform\): ([\d.]+) nats"),
    (("frechet",), r"Frechet distance, classifier features, samples vs the 10,000 test images: ([\d.]+)"),
    (("parzen_mean", "parzen_stderr"), r"Parzen window log-likelihood of the 10,000 test images: (-?[\d.]+) ± ([\d.]+)"),
    (("read_as_asked_percent", "samples"), r"^  all digits: ([\d.]+)% of (\d+) samples"),
    (("c1_error_percent", "test_images"), r"c₁ → digit error: ([\d.]+)% of (\d+) test digits"),
    (("test_error_percent", "test_errors", "test_images", "averaged_test_error_percent", "averaged_test_errors"),
     r"^test error: ([\d.]+)% \((\d+) of (\d+)\).*D's weight average: ([\d.]+)%, (\d+) of"),
)


def read_log(path):
    """(the /usr/bin/time -v fields, the printed numbers with their lines) of the run's log ``path``."""
    if not os.path.isfile(path):
        raise PretrainedError(f"export: --log {path!r}: no such file; expected the run's stdout and stderr with "
                              f"/usr/bin/time -v's report at its end")
    with open(path, encoding="utf-8", errors="replace") as handle:
        text = handle.read()
    timed = {}
    for key, pattern in TIME_FIELDS.items():
        found = re.findall(pattern, text)
        timed[key] = found[-1] if found else None
    missing = [key for key in ("command", "user", "system") if timed[key] is None]
    if missing:
        raise PretrainedError(f"export: --log {path!r} has no /usr/bin/time -v report ({', '.join(missing)} not found); run the "
                              f"example under `/usr/bin/time -v` with its output into that file")
    printed, lines = {}, []
    for keys, pattern in PRINTED:
        found = list(re.finditer(pattern, text, flags=re.MULTILINE))
        if not found:
            continue
        match = found[-1]
        lines.append(match.group(0).strip())
        for key, value in zip(keys, match.groups()):
            printed[key] = [int(v) for v in value.split()] if key == "histogram" else _number(value)
    printed["lines"] = lines
    return timed, printed


def _number(text):
    return int(text) if re.fullmatch(r"\d+", text) else float(text)


def wall_seconds(text):
    """/usr/bin/time's "h:mm:ss" or "m:ss.ss" as seconds."""
    if text is None:
        return None
    seconds = 0.0
    for part in text.split(":"):
        seconds = seconds * 60 + float(part)
    return round(seconds, 2)


def machine():
    """The CPU model and count from /proc/cpuinfo (where there is one), and the architecture."""
    models = []
    if os.path.isfile("/proc/cpuinfo"):
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            models = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
    cpu = f"{models[0]}, {len(models)} logical CPUs" if models else platform.processor() or "unknown CPU"
    return f"{cpu}; {platform.system()} {platform.machine()}"


# ----- the export ---------------------------------------------------------------------------------------
def export(run_folder, name, commit, log=None, into=None, unfinished=False, environment=None, say=print):
    """Export the run in ``run_folder`` as the model ``name`` into ``into`` (default: the shipped weights);
    returns the path written. See the module docstring."""
    if name not in CATALOGUE:
        raise PretrainedError(f"export: unknown --name {name!r}; the shipped models are {', '.join(names())}")
    entry = CATALOGUE[name]
    run_folder = os.path.normpath(run_folder)
    log = log or run_folder + ".log"
    checkpoint = os.path.join(run_folder, *([entry.variant] if entry.variant else []), CHECKPOINT)
    try:
        state, metadata = load_checkpoint(checkpoint)
    except (FileNotFoundError, FileFormatError) as error:
        raise PretrainedError(f"export: {error}") from None
    config = metadata.get("config", {})
    wrong = {key: config.get(key) for key, value in entry.fixed.items() if config.get(key) != value}
    if wrong:
        raise PretrainedError(f"export: {checkpoint} is not a run of {name}: its config has {wrong}, {name} needs {entry.fixed}")
    if metadata.get("ema") is not None:
        raise PretrainedError(f"export: {checkpoint} was trained with --ema {metadata['ema']}; a shipped model is its example's "
                              f"default run, whose G is not averaged")
    position = metadata.get("position", {})
    if not position.get("finished") and not unfinished:
        raise PretrainedError(f"export: {checkpoint} is a run stopped at iteration {position.get('iteration')} of "
                              f"{position.get('steps_per_epoch')} per epoch, not finished; finish it with --resume, or pass "
                              f"--unfinished to export it as it is")
    timed, printed = read_log(log)
    run_scores = printed
    if entry.variant:  # the image tasks' measurements.json: the variant's row(s)
        measurements = os.path.join(run_folder, "measurements.json")
        if os.path.isfile(measurements):
            with open(measurements, encoding="utf-8") as handle:
                table = json.load(handle)
            run_scores = {key: row for key, row in table["rows"].items() if key == entry.variant or key.startswith(entry.variant + ",")}
            run_scores["test_images"] = table.get("test_images")
    networks = {key: stored_arrays(state["gan"]["generator" if key == "generator" else "discriminator"]) for key in entry.networks}
    history = {key: numpy.asarray(value) for key, value in state.get("history", {}).items()}
    record = {
        "name": name, "summary": entry.summary,
        "command": timed["command"], "environment": environment, "commit": commit,
        "date": datetime.datetime.fromtimestamp(os.path.getmtime(log), datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "cpu_seconds": round(float(timed["user"]) + float(timed["system"]), 1),
        "wall_seconds": wall_seconds(timed["wall"]), "max_rss_kb": int(timed["max_rss_kb"]) if timed["max_rss_kb"] else None,
        "exit_status": int(timed["exit_status"]) if timed["exit_status"] else None,
        "settings": config, "iterations": position.get("iteration"), "finished": bool(position.get("finished")),
        "data": metadata.get("data"), "backend": metadata.get("backend"),
        "software": {"python": platform.python_version(), "numpy": numpy.__version__},
        "run_scores": run_scores,
        "stored": f"float32 arrays of at least {HALF_FROM} values as float16, the rest as trained; loaded as float32",
        "exported_with": f"python -m minigan.tools.pretrained.export {run_folder} --name {name} --commit {commit}",
    }
    say(f"{name}: scoring the stored weights ({scores.describe(False)})")
    model = Pretrained(name, record, networks, history)
    record["scores"] = scores.score(model)
    size = scores.TEST_SIZE
    record["test_sample"] = {"how": scores.describe(True, size), "size": size, "scores": scores.score(model, test=True, n=size)}
    folder = WEIGHTS if into is None else os.fspath(into)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{name}.npz")
    save_checkpoint(path, {"networks": networks, "history": history},
                    metadata={"format": FORMAT, "version": VERSION, "name": name, "record": record})
    sums = recorded_sums(folder)
    sums[os.path.basename(path)] = file_sha256(path)
    with atomic_write(os.path.join(folder, SUMS), "w") as handle:
        handle.writelines(f"{digest}  {file}\n" for file, digest in sorted(sums.items()))
    load(name, weights=folder)  # as a user would: by name, its checksum checked
    say(f"{name}: wrote {path} ({os.path.getsize(path) / 2**20:.2f} MiB) and its sha256 in {SUMS}")
    return path


# ----- the README's table, made from the records -------------------------------------------------------
README = os.path.join(os.path.dirname(os.path.abspath(__file__)), "README.md")
BEGIN, END = "<!-- records: written by `python -m minigan.tools.pretrained.export --readme` -->", "<!-- end of records -->"


def headline(record):
    """The few scores that say what a model does, the stored weights' and the run's own, as one cell each."""
    s, run, name = record["scores"], record["run_scores"], record["name"]
    if name in ("pix2pix", "srgan"):
        row = run.get(name if name == "srgan" else "cgan+l1", {})
        first = (f"PSNR {s['psnr']:.2f} dB" if name == "srgan" else f"L1 {s['l1']:.4f}")
        mine = f"{first}, classifier {s['classifier_right'] / s['test_images']:.2%}, sharpness {s['sharpness']:.3f}"
        theirs = (f"PSNR {row['psnr']:.2f} dB" if name == "srgan" else f"L1 {row.get('l1', float('nan')):.4f}") + \
            f", classifier {row.get('classifier', float('nan')):.2%}, sharpness {row.get('sharpness', float('nan')):.3f}" if row else "—"
        return mine, theirs
    if name == "cyclegan":
        mine = "; ".join(f"{d.replace('_', ' ')}: digit survives {s[d]['classifier_right'] / s['test_images']:.2%}, cycle {s[d]['cycle']:.4f}, "
                         f"no pixel ≥ 0.5 in {s[d]['no_ink']} of {s['test_images']}" for d in ("thin_to_thick", "thick_to_thin"))
        rows = [(run.get(f"cyclegan, {arrow}"), label) for arrow, label in (("X → Y", "thin to thick"), ("Y → X", "thick to thin"))]
        theirs = "; ".join(f"{label}: digit survives {row['classifier']:.2%}, cycle {row['cycle']:.4f}, no ink {row['no_ink']:.1%}"
                           for row, label in rows if row) or "—"
        return mine, theirs
    mine = f"Fréchet {s['frechet']:.2f}, {s['modes']} modes, KL {s['kl_uniform']:.4f}, Parzen {s['parzen_mean']:.1f} ± {s['parzen_stderr']:.1f}"
    theirs = ", ".join(part for part in (
        f"Fréchet {run['frechet']:.3f}" if "frechet" in run else "", f"{run['modes']} modes" if "modes" in run else "",
        f"Parzen {run['parzen_mean']:.1f} ± {run['parzen_stderr']:.1f}" if "parzen_mean" in run else "") if part)
    if name in ("conditional_gan", "acgan"):
        mine = f"read as asked {s['read_as_asked_share']:.2%}; " + mine
        theirs = f"read as asked {run['read_as_asked_percent']:.1f}%" if "read_as_asked_percent" in run else theirs
    if name == "infogan":
        mine += f"; c₁'s 10 values draw {s['digits_covered']} digits, {s['category_agreeing'] / (10 * s['per_category']):.1%} agreeing"
        theirs = (f"c₁ → digit error {run['c1_error_percent']:.2f}% (Q, not shipped)" if "c1_error_percent" in run else "") + (", " + theirs if theirs else "")
    if name == "semi_supervised":
        mine = f"test error {s['test_error']:.2%} ({s['test_errors']} of {s['test_images']}); G: " + mine
        theirs = (f"test error {run['test_error_percent']:.2f}% ({run['test_errors']} of {run['test_images']})"
                  if "test_errors" in run else "—")
    if name == "dcgan":
        mine += f"; D(x) {s['d_real']:.3f}, D(G(z)) {s['d_fake']:.3f}"
    if name == "wgan_gp":
        mine += f"; critic's W estimate {s['wasserstein']:.3f}"
    return mine, theirs or "—"


def readme_section(folder=WEIGHTS):
    """The README's table of the models in ``folder``: one row each, every number from its record."""
    rows = ["| model | command (at commit) | trained | CPU s | values | file | scores of the shipped weights | the run printed |",
            "|---|---|---|---|---|---|---|---|"]
    total, reference = 0, None
    for name in names():
        path = os.path.join(folder, f"{name}.npz")
        if not os.path.isfile(path):
            rows.append(f"| {name} | not exported yet | | | | | | |")
            continue
        model = load(name, weights=folder)
        record, size = model.record, os.path.getsize(path)
        total += size
        reference = record["scores"].get("frechet_reference", reference)
        values = sum(int(numpy.prod(p.shape)) for network in model.networks.values() for p in network.parameters())
        mine, theirs = headline(record)
        command = re.sub(r" --out \S+", "", record["command"])  # the run's folder is the machine's, not the repository's
        rows.append(f"| {name} | `{command}` ({record['commit']}) | {record['date']} | {record['cpu_seconds']:,.0f} | "
                    f"{values / 1e6:.2f} M | {size / 2**20:.2f} MiB | {mine} | {theirs} |")
    rows.append(f"\nAll files together: {total / 2**20:.1f} MiB. \"values\": the networks' trained parameters, in millions. "
                "Each command ran with --out FOLDER (in the record, with its environment)."
                + (f" The Fréchet distance of the 10,000 real validation images to the test images: {reference:.2f}." if reference else ""))
    return "\n".join(rows)


def write_readme(folder=WEIGHTS, path=README):
    """Replace the README's table (between ``BEGIN`` and ``END``) with ``readme_section(folder)``, atomically."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    if BEGIN not in text or END not in text:
        raise PretrainedError(f"export --readme: {path} lacks the lines {BEGIN!r} and {END!r} around its table")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with atomic_write(path, "w") as handle:
        handle.write(f"{head}{BEGIN}\n{readme_section(folder)}\n{END}{tail}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minigan.tools.pretrained.export",
                                     description="Export a finished training run as a shipped pretrained model (weights, record, sha256); "
                                                 "or, with --readme alone, rewrite README.md's table from the records.")
    parser.add_argument("run_folder", metavar="RUN_FOLDER", nargs="?", help="the example's --out")
    parser.add_argument("--name", choices=names(), help="which shipped model the run is")
    parser.add_argument("--commit", help="the commit of minigan that trained it (git rev-parse --short HEAD there)")
    parser.add_argument("--log", default=None, help="the run's output with /usr/bin/time -v's report (default: RUN_FOLDER.log)")
    parser.add_argument("--into", default=None, help="write into this folder instead of the shipped weights/ (load(name, weights=FOLDER))")
    parser.add_argument("--unfinished", action="store_true", help="export a run that stopped before its last epoch")
    parser.add_argument("--environment", default=None, metavar="'NAME=VALUE ...'",
                        help="the environment the command ran in, recorded as given (e.g. 'OPENBLAS_NUM_THREADS=1')")
    parser.add_argument("--readme", action="store_true", help="then rewrite README.md's table from the shipped records")
    args = parser.parse_args(argv)
    if args.run_folder is not None and not (args.name and args.commit):
        parser.error("RUN_FOLDER needs --name and --commit")
    if args.run_folder is None and not args.readme:
        parser.error("give RUN_FOLDER --name NAME --commit COMMIT, or --readme")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.run_folder is not None:
            export(args.run_folder, args.name, args.commit, log=args.log, into=args.into, unfinished=args.unfinished,
                   environment=args.environment)
        if args.readme:
            write_readme()
    except PretrainedError as error:
        print(error, file=sys.stderr)  # one line, naming the file or the flag
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
