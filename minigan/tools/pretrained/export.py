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
def export(run_folder, name, commit, log=None, into=None, unfinished=False, say=print):
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
        "command": timed["command"], "commit": commit,
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


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m minigan.tools.pretrained.export",
                                     description="Export a finished training run as a shipped pretrained model (weights, record, sha256).")
    parser.add_argument("run_folder", metavar="RUN_FOLDER", help="the example's --out")
    parser.add_argument("--name", required=True, choices=names(), help="which shipped model the run is")
    parser.add_argument("--commit", required=True, help="the commit of minigan that trained it (git rev-parse --short HEAD there)")
    parser.add_argument("--log", default=None, help="the run's output with /usr/bin/time -v's report (default: RUN_FOLDER.log)")
    parser.add_argument("--into", default=None, help="write into this folder instead of the shipped weights/ (load(name, weights=FOLDER))")
    parser.add_argument("--unfinished", action="store_true", help="export a run that stopped before its last epoch")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        export(args.run_folder, args.name, args.commit, log=args.log, into=args.into, unfinished=args.unfinished)
    except PretrainedError as error:
        print(f"export: {error}".replace("export: export: ", "export: "), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
