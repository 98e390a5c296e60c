"""Before anything is trained: a folder (or file) that can take a run's outputs without losing an earlier
run, memory and disk for what it will write, and data that make at least one training step.

    check_output_folder(...)   --out is a folder we can write into, holding no earlier run unless --resume
                               continues it or --overwrite replaces it; returns an ``OutputFolder`` whose
                               ``clear()`` removes the earlier run's files when training is about to start
    prepare_output_file(...)   the same for a script that writes one file (train_classifier.py)
    check_sample_budget(...)   a --samples (or --pool) that fits in memory and on the disk
    check_trainable(...)       the data, the batch size and k make at least one generator step, and batch
                               norm gets the two examples it needs

Each refusal is a ``RunError``: one line naming the flag, the value found and the value expected.
"""

import contextlib
import fnmatch
import os
import shutil
import tempfile

from minigan.engine import nn
from minigan.tools.io import is_temporary, remove_stale_temporaries


class RunError(Exception):
    """A problem with what the user asked for (reported as one line, not a traceback)."""


# ----- outputs: checked before anything is trained ---------------------------------------------------
class OutputFolder:
    """A checked --out (``check_output_folder``): ``path``, and ``old``, the earlier run's files that
    ``clear()`` removes (with --overwrite), together with the temporary files of killed writes."""

    def __init__(self, path, old, log=print):
        self.path, self.old, self.log = path, old, log

    def clear(self):
        for name in self.old:
            os.remove(os.path.join(self.path, name))
        if self.old:
            self.log(f"--overwrite: removed {len(self.old)} file(s) of the earlier run in {self.path}")
        self.old = []
        stale = remove_stale_temporaries(self.path)
        if stale:
            self.log(f"removed {len(stale)} temporary file(s) left in {self.path} by a write killed midway ({', '.join(stale[:3])})")
        return self.path


def check_output_folder(out, overwrite=False, outputs=(), continuing=False, resumable=False, flag="--out", log=print):
    """Check, before anything is trained, that ``out`` can take a run's outputs without losing an earlier one.

    * ``out`` must be a folder or not exist yet (it is created): not a file, ``/dev/null``, or a path
      under a file; and we must be able to create files in it (tried with a temporary file).
    * It must hold nothing yet, so that no earlier result is lost, unless ``continuing`` (the run resumes
      the checkpoint in this very folder) or ``overwrite``: then the files matching ``outputs`` (this
      script's own, as glob patterns) are to be removed first, so that none of the old run's mixes with
      the new one's; other files are left alone. ``resumable``: the refusal suggests ``--resume``.
    * Temporary files of atomic writes killed midway (``io.remove_stale_temporaries``) do not count as
      earlier results; ``clear()`` removes them too.

    Returns an ``OutputFolder``; nothing is removed until its ``clear()``, which the scripts call when
    every other check has passed and training is about to start.
    """
    out = os.fspath(out)
    if os.path.lexists(out) and not os.path.isdir(out):
        raise RunError(f"{flag} {out!r} exists and is not a folder; expected a folder to write into (it is created if missing)")
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as error:
        raise RunError(f"{flag} {out!r}: cannot create the folder ({error.strerror})") from None
    check_writable_folder(out, flag)
    held = sorted(name for name in os.listdir(out) if not is_temporary(name))
    old = []
    if held and not continuing:
        if not overwrite:
            checkpoint = os.path.join(out, "checkpoint.npz")
            resume = (f"continue it with --resume {checkpoint}, " if resumable and os.path.exists(checkpoint) else "")
            shown = ", ".join(held[:3]) + (f" and {len(held) - 3} more" if len(held) > 3 else "")
            raise RunError(f"{flag} {out!r} already holds an earlier run's files ({shown}), which this run would "
                           f"overwrite; {resume}pass --overwrite to replace them, or choose a new {flag}")
        old = [name for name in held if any(fnmatch.fnmatch(name, pattern) for pattern in outputs)]
    return OutputFolder(out, old, log)


def prepare_output_folder(out, overwrite=False, outputs=(), flag="--out", log=print):
    """``check_output_folder(...)`` and at once ``clear()``, for a script with nothing else to check; returns the path."""
    return check_output_folder(out, overwrite, outputs, flag=flag, log=log).clear()


def prepare_output_file(path, overwrite=False, flag="--out"):
    """Check, before training, that the file ``path`` can be written and would replace nothing unasked:
    not a folder or a device, its folder creatable and writable, and no file there yet unless ``overwrite``."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise RunError(f"{flag} {path!r} is a folder; expected the path of the file to write")
    if os.path.lexists(path):
        if not os.path.isfile(path):
            raise RunError(f"{flag} {path!r} exists and is not a regular file; expected the path of a file to write")
        if not overwrite:
            raise RunError(f"{flag} {path!r} already exists; pass --overwrite to replace it, or name a new file")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.lexists(folder) and not os.path.isdir(folder):
        raise RunError(f"{flag} {path!r}: {folder!r} is not a folder")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise RunError(f"{flag} {path!r}: cannot create the folder {folder!r} ({error.strerror})") from None
    check_writable_folder(folder, flag, path)
    return path


def check_writable_folder(folder, flag="--out", named=None):
    """Create and remove a temporary file in ``folder`` (as ``atomic_write`` will), or raise a ``RunError``."""
    try:
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".minigan-write-check.", suffix=".tmp")
        os.close(handle)
        os.remove(probe)
    except OSError as error:
        raise RunError(f"{flag} {named or folder!r}: cannot write into {folder!r} ({error.strerror})") from None


def available_memory():
    """Bytes of memory available to a new allocation (Linux: MemAvailable), else the physical total, else None."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return None


def check_sample_budget(flag, count, bytes_each, what, copies=2, folder=None):
    """Refuse a ``flag`` (e.g. ``--samples``) whose ``count`` arrays of ``bytes_each`` bytes would not fit:
    ``copies`` of them in memory at once (the drawn batches and their concatenation), and one on the
    disk holding ``folder`` when they are saved there."""
    memory, limit = count * bytes_each * copies, available_memory()
    if limit is not None and memory > limit:
        raise RunError(f"{flag} {count}: {what} would need about {_size(memory)} of memory ({copies} copies of "
                       f"{bytes_each} bytes each), and {_size(limit)} are available: at most "
                       f"{limit // (copies * bytes_each)} fit")
    if folder is not None:
        free = shutil.disk_usage(folder).free
        if count * bytes_each > free:
            raise RunError(f"{flag} {count}: {what} would take {_size(count * bytes_each)} on the disk of {folder!r}, "
                           f"which has {_size(free)} free: at most {free // bytes_each} fit")


def _size(nbytes):
    return f"{nbytes / 2**30:.1f} GiB" if nbytes >= 2**30 else f"{nbytes / 2**20:.1f} MiB"


# ----- can this run train at all? --------------------------------------------------------------------
def check_trainable_batches(examples, batch_size, k=1, data="the training data"):
    """Refuse, with the numbers, a batch size and k that make no step: ``examples`` training examples in
    minibatches of ``batch_size`` (the last, short one dropped) give examples // batch_size minibatches
    an epoch, and each generator step takes k of them."""
    if batch_size > examples:
        raise RunError(f"--batch-size {batch_size} is larger than the {examples} training images of {data}: no "
                       f"minibatch could be filled; use at most --batch-size {examples}")
    batches = examples // batch_size
    if k > batches:
        raise RunError(f"--k {k}: an epoch of {data} has {batches} minibatches of {batch_size} ({examples} images) and "
                       f"each generator step takes k of them, so no generator step would be made; use at most --k {batches}, "
                       f"or a smaller --batch-size")


def check_trainable(gan, examples, batch_size, data="the training data"):
    """Refuse, with the numbers, a GAN run that would make no generator step (``check_trainable_batches``
    with the GAN's k) or fail at its first one: batch norm of dense features (``BatchNorm1d``) estimates
    a variance across the minibatch, which needs m ≥ 2."""
    check_trainable_batches(examples, batch_size, gan.discriminator_steps, data)
    if batch_size < 2 and any(isinstance(module, nn.BatchNorm1d) for net in (gan.generator, gan.discriminator)
                              for module in net.modules()):
        raise RunError(f"--batch-size {batch_size}: this model's batch norm (BatchNorm1d) estimates each feature's "
                       f"variance across the minibatch, which needs at least 2 examples; use --batch-size 2 or more")
