"""Before anything is trained: a folder (or file) that can take a run's outputs without losing an earlier
run, memory and disk for what it will write, and data that make at least one training step.

    check_output_folder(...)   --out is a folder we can write into, holding no earlier run unless --resume
                               continues it or --overwrite replaces it; returns an ``OutputFolder`` whose
                               ``clear()`` removes the earlier run's files when training is about to start
    prepare_output_file(...)   the same for a script that writes one file (train_classifier.py)
    check_sample_budget(...)   a --samples (or --pool) that fits in memory and on the disk
    check_free_space(...)      room on the disk for the checkpoint, history and pictures, before training
    check_trainable(...)       the data, the batch size and k make at least one generator step, and batch
                               norm gets the two examples it needs

Each refusal is a ``RunError``: one line naming the flag, the value found and the value expected.
"""

import contextlib
import fnmatch
import json
import os
import shutil
import tempfile
import time

from minigan.engine import nn
from minigan.tools.io import atomic_write, is_temporary, remove_stale_temporaries

try:
    import fcntl
except ImportError:  # Windows: folders are not locked
    fcntl = None


class RunError(Exception):
    """A problem with what the user asked for (reported as one line, not a traceback)."""


# ----- one run owns its folder ----------------------------------------------------------------------
LOCK = ".minigan-run.lock"        # held while a run writes into the folder; it holds the run's PID
MANIFEST = ".minigan-run.json"    # the script that wrote the folder's run, and every file of that run
_HELD = {}                        # real path -> _Held: the folders this process runs in
_SCRIPT = {"name": None}          # the script running now (``run_script`` sets it): whose runs the manifests record


class _Held:
    def __init__(self, handle, created):
        self.handle, self.created, self.owned = handle, created, False


def lock_folder(folder, flag="--out", created=False):
    """Hold ``folder``'s lock while this process runs there, or refuse with the PID of the run that holds it.

    The lock is ``flock`` on ``LOCK``: the operating system drops it when the process ends, however it
    ends (kill -9 too), so no stale lock is ever left to clear by hand. Two runs started at once into one
    folder cannot both pass: the second finds the lock taken before it looks at the folder's files.
    ``release_folders`` lets go (``run_script`` calls it when the script ends). Where ``fcntl`` does not
    exist (Windows) folders are not locked. Returns the folder's record in ``_HELD``.
    """
    key = os.path.realpath(folder)
    if key in _HELD:
        return _HELD[key]
    handle = open(os.path.join(folder, LOCK), "a+")
    if fcntl is not None:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = ""
            for _ in range(20):  # the other run may have taken the lock a moment ago and not yet written its PID
                handle.seek(0)
                holder = handle.read().strip()
                if holder:
                    break
                time.sleep(0.05)
            handle.close()
            holder = holder or "unknown"
            raise RunError(f"{flag} {folder!r} is in use by another run (PID {holder}), which writes into it now; wait for it "
                           f"to end, or choose another {flag}") from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    _HELD[key] = _Held(handle, created)
    return _HELD[key]


def begin_script(script):
    """Name the script whose runs the folders it checks record (``run_script`` calls it first)."""
    _SCRIPT["name"] = script


def release_folders():
    """When the script ends, however it ends: record each folder's run in its manifest (if the folder was
    checked and passed), remove a folder this run created and left empty, and let go of the locks."""
    for key, held in list(_HELD.items()):
        with contextlib.suppress(OSError):
            files = run_files(key)
            if held.owned and files and _SCRIPT["name"]:
                write_manifest(key, _SCRIPT["name"])
            elif held.created and not files:  # nothing but the lock, and perhaps empty sub-folders
                shutil.rmtree(key)
        held.handle.close()  # closing the file drops the flock
        del _HELD[key]
    _SCRIPT["name"] = None


def run_files(folder):
    """The files a run left in ``folder`` and its sub-folders, as sorted relative paths, without the lock,
    the manifest and the temporary files of killed writes."""
    found = []
    for root, folders, files in os.walk(folder):
        folders.sort()
        for name in files:
            if name not in (LOCK, MANIFEST) and not is_temporary(name):
                found.append(os.path.relpath(os.path.join(root, name), folder))
    return sorted(found)


def write_manifest(folder, script):
    """Record in ``folder/MANIFEST`` that ``script`` wrote every file now in ``folder`` (atomic)."""
    with atomic_write(os.path.join(folder, MANIFEST), "w") as handle:
        json.dump({"script": script, "files": run_files(folder)}, handle, indent=1)


def read_manifest(folder):
    """``{"script": ..., "files": [...]}`` of the run in ``folder``, or None (none, or not one minigan wrote)."""
    with contextlib.suppress(OSError, ValueError):
        with open(os.path.join(folder, MANIFEST)) as handle:
            manifest = json.load(handle)
        if isinstance(manifest, dict) and isinstance(manifest.get("script"), str) and isinstance(manifest.get("files"), list):
            return manifest
    return None


# ----- outputs: checked before anything is trained ---------------------------------------------------
class OutputFolder:
    """A checked --out (``check_output_folder``): ``path``, and ``old``, the earlier run's files that
    ``clear()`` removes (with --overwrite), together with the temporary files of killed writes."""

    def __init__(self, path, old, log=print):
        self.path, self.old, self.log = path, old, log

    def clear(self):
        for name in self.old:
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(self.path, name))
        for folder in sorted({os.path.dirname(name) for name in self.old if os.path.dirname(name)}, reverse=True):
            with contextlib.suppress(OSError):  # a sub-folder the earlier run made, now empty
                os.removedirs(os.path.join(self.path, folder))
        if self.old:
            self.log(f"--overwrite: removed {len(self.old)} file(s) of the earlier run in {self.path}")
        self.old = []
        for root, _, _ in os.walk(self.path):
            stale = remove_stale_temporaries(root)
            if stale:
                self.log(f"removed {len(stale)} temporary file(s) left in {root} by a write killed midway ({', '.join(stale[:3])})")
        return self.path


def check_output_folder(out, overwrite=False, outputs=(), continuing=False, resumable=False, flag="--out", log=print,
                        script=None, keep=()):
    """Check, before anything is trained, that ``out`` can take a run's outputs without losing an earlier one.

    * ``out`` must be a folder or not exist yet (it is created): not a file, ``/dev/null``, or a path
      under a file; and we must be able to create files in it (tried with a temporary file).
    * No other run may be writing into it (``lock_folder``: the lock is taken here and kept).
    * It must hold nothing yet, so that no earlier result is lost, unless ``continuing`` (the run resumes
      the checkpoint in this very folder) or ``overwrite``. Then exactly the earlier run's files are to be
      removed first, so that none of them mixes with the new run's: those its manifest lists (``MANIFEST``,
      which the harness keeps) and those matching ``outputs`` (this script's own, as glob patterns). A
      folder written by another script, or holding files no run of ``script`` wrote (beyond ``keep``, such
      as the checkpoint being resumed), is refused: --overwrite replaces a run, never someone's files.
      ``resumable``: the refusal suggests ``--resume``.
    * Temporary files of atomic writes killed midway (``io.remove_stale_temporaries``) do not count as
      earlier results; ``clear()`` removes them too.

    Returns an ``OutputFolder``; nothing is removed until its ``clear()``, which the scripts call when
    every other check has passed and training is about to start.
    """
    out = os.fspath(out)
    if not out:
        raise RunError(f"{flag} '': expected the path of a folder to write into")
    if os.path.lexists(out) and not os.path.isdir(out):
        raise RunError(f"{flag} {out!r} exists and is not a folder; expected a folder to write into (it is created if missing)")
    created = not os.path.lexists(out)
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as error:
        raise RunError(f"{flag} {out!r}: cannot create the folder ({error.strerror})") from None
    check_writable_folder(out, flag)
    held_lock = lock_folder(out, flag, created)
    script = script or _SCRIPT["name"]
    kept = {os.path.relpath(os.path.abspath(path), os.path.abspath(out)) for path in keep}
    held = [name for name in run_files(out) if name not in kept]
    old = []
    if held and not continuing:
        if not overwrite:
            checkpoint = os.path.join(out, "checkpoint.npz")
            resume = (f"continue it with --resume {checkpoint}, " if resumable and os.path.exists(checkpoint) else "")
            raise RunError(f"{flag} {out!r} already holds an earlier run's files ({_listed(held)}), which this run would "
                           f"overwrite; {resume}pass --overwrite to replace them, or choose a new {flag}")
        manifest = read_manifest(out)
        if manifest is not None and script is not None and manifest["script"] != script:
            raise RunError(f"{flag} {out!r} holds a run of {manifest['script']}, and --overwrite replaces only an earlier run of "
                           f"{script}; choose a new {flag}, or empty it yourself")
        listed = set(manifest["files"]) if manifest is not None else set()
        old = [name for name in held if name in listed or any(fnmatch.fnmatch(name, pattern) for pattern in outputs)]
        strangers = [name for name in held if name not in old]
        if strangers:
            raise RunError(f"{flag} {out!r} holds files that no run of {script or 'this script'} wrote ({_listed(strangers)}); "
                           f"--overwrite removes only an earlier run's files: move those, or choose a new {flag}")
    held_lock.owned = True
    return OutputFolder(out, old, log)


def _listed(names, shown=3):
    return ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")


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


def check_memory(flag, value, needed, what, largest):
    """Refuse a ``flag`` ``value`` for which ``what`` would need ``needed`` bytes of memory, more than there is;
    ``largest(available_bytes)`` is the largest value that would fit, for the message."""
    limit = available_memory()
    if limit is not None and needed > limit:
        raise RunError(f"{flag} {value}: {what} would need at least {_size(needed)} of memory, and {_size(limit)} are available; "
                       f"use at most {flag} {largest(limit)}")


def check_free_space(folder, needed, what, flag="--out"):
    """Refuse, before training, a ``folder`` whose disk cannot take ``needed`` bytes for ``what``: found
    after an hour of training, a full disk would cost the run."""
    free = shutil.disk_usage(folder).free
    if needed > free:
        raise RunError(f"{flag} {folder!r}: {what} need about {_size(needed)} on its disk, which has {_size(free)} free; "
                       f"free some space, or choose another {flag}")


def state_bytes(state):
    """The bytes of every array in a (nested) state dict: about what its checkpoint takes on the disk."""
    if isinstance(state, dict):
        return sum(state_bytes(value) for value in state.values())
    return int(getattr(state, "nbytes", 0))


def _size(nbytes):
    return f"{nbytes / 2**30:.1f} GiB" if nbytes >= 2**30 else f"{nbytes / 2**20:.1f} MiB" if nbytes >= 2**20 else f"{nbytes / 2**10:.0f} KiB"


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


def first_n(args, flag, what, *arrays, log=print):
    """The first ``args.<flag>`` rows of each of ``arrays``. Typing more than there are is an error, not a
    silent shortfall; the default, when a smaller --data has fewer, takes them all and says so."""
    dest = flag.lstrip("-").replace("-", "_")
    count, available, data = getattr(args, dest), len(arrays[0]), args.data or "the shipped MNIST"
    if count > available:
        if dest in args.given:
            raise RunError(f"{flag} {count}: {data} has {available} {what}; use at most {flag} {available}")
        log(f"note: {data} has {available} {what}, fewer than the default {flag} {count}: using them all")
    return tuple(array[:count] for array in arrays) if len(arrays) > 1 else arrays[0][:count]


def check_trainable(gan, examples, batch_size, data="the training data"):
    """Refuse, with the numbers, a GAN run that would make no generator step (``check_trainable_batches``
    with the GAN's k) or fail at its first one: batch norm of dense features (``BatchNorm1d``) estimates
    a variance across the minibatch, which needs m ≥ 2."""
    check_trainable_batches(examples, batch_size, gan.discriminator_steps, data)
    if batch_size < 2 and any(isinstance(module, nn.BatchNorm1d) for net in (gan.generator, gan.discriminator)
                              for module in net.modules()):
        raise RunError(f"--batch-size {batch_size}: this model's batch norm (BatchNorm1d) estimates each feature's "
                       f"variance across the minibatch, which needs at least 2 examples; use --batch-size 2 or more")
