"""Safe files: atomic writes, ``.npz`` arrays and training checkpoints, never pickle.

A training run that is killed while it writes a checkpoint must not leave a half-written file where
the last good one was. ``atomic_write`` gives that guarantee for every file minigan writes:

    1. write into a temporary file *in the same directory* (so step 3 never crosses file systems);
    2. flush Python's buffer and ``os.fsync`` the bytes to the disk;
    3. ``os.replace(temporary, path)``: one rename, atomic on POSIX and Windows, so a reader sees
       either the old file or the new one, never a mixture;
    4. if the body raises, delete the temporary file and leave the old file untouched.

A process killed between steps 1 and 3 (``kill -9``, a power cut) cannot run step 4: its temporary
file, ``.NAME.XXXXXXXX.tmp`` beside ``NAME``, stays behind, harmless but in the way.
``remove_stale_temporaries(directory)`` clears them; the example scripts call it before they write into
a folder.

Checkpoints are nested dicts of arrays, e.g. what the MNIST examples save after every epoch and where a run stops
(``minigan/tools/runs/checkpoints.py``)::

    {"gan": {"generator": G.state_dict(), "discriminator": D.state_dict(),
             "generator_optimizer": {"t": array(300), "m": ..., "v": ...}, "discriminator_optimizer": {...},
             "counters": {"iteration": array(300), ...}},          # GAN.state_dict()
     "history": {"d_loss": ..., ...}, "epoch": array(3)}

``save_checkpoint`` stores the arrays of such a tree in one ``.npz`` under "/"-joined keys
(``"gan/generator/0.weight"``) and everything else (the tree's shape, plain Python values such as an
``int`` epoch or a generator's ``bit_generator.state``, your ``metadata``) as JSON in the same file.
Loading uses ``allow_pickle=False``: opening a checkpoint can never run code.
"""

import contextlib
import json
import os
import re
import tempfile
import zipfile
import zlib

import numpy

from minigan.engine.backend import array_module, to_numpy


class FileFormatError(ValueError):
    """A file exists but is not what it should be: not an ``.npz``, damaged, or not a minigan checkpoint."""


# ----- atomic writes --------------------------------------------------------------------------
def _current_umask():
    """The process umask (read by setting it and setting it back: POSIX has no read-only call)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


# The temporary file of ``atomic_write(path)``: ".NAME." + tempfile's 8 random characters + ".tmp".
_TEMPORARY_SUFFIX = ".tmp"
_TEMPORARY_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Open ``path`` for writing so that it is replaced all at once, or not at all.

    Usage::

        with atomic_write("run/losses.txt", mode="w") as f:
            f.write("...")

    Args:
        path: the file to create or replace; its directory must exist.
        mode: ``"wb"`` (bytes, the default) or ``"w"`` (text, UTF-8).

    The new file gets the permissions an ordinary ``open(path, "w")`` would give (0o666 less the
    umask), not the 0o600 of the temporary file. If the body raises, the exception propagates, the
    temporary file is removed and whatever was at ``path`` before is still there, unchanged.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write: mode must be 'wb' or 'w', got {mode!r}")
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"atomic_write: the directory {directory!r} of {path!r} does not exist")
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=_TEMPORARY_SUFFIX)
    try:
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o666 & ~_current_umask())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    _fsync_directory(directory)


def remove_stale_temporaries(directory):
    """Delete the temporary files that ``atomic_write`` calls killed midway left in ``directory``; returns their names.

    Only names of the form ``.NAME.XXXXXXXX.tmp`` (``atomic_write``'s) are touched. A file that another
    process is writing at this very moment has such a name too, so call this only on a folder that no
    other run is writing into (the examples' rule: one run per folder).
    """
    removed = []
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if _TEMPORARY_NAME.match(name) and os.path.isfile(path) and not os.path.islink(path):
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
                removed.append(name)
    return removed


def is_temporary(name):
    """True for a file name of the form ``atomic_write`` gives its temporary files."""
    return bool(_TEMPORARY_NAME.match(name))


def _fsync_directory(directory):
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ----- .npz files -----------------------------------------------------------------------------
def save_npz(path, /, **arrays):
    """Write ``arrays`` (name=array) to the ``.npz`` file ``path``, atomically and uncompressed.

    The file name is used exactly as given (NumPy's own ``savez`` would append ``.npz``). CuPy arrays
    are copied to the host first. Arrays of Python objects are refused: they would need pickle.
    """
    host = {}
    for name, array in arrays.items():
        array = numpy.asarray(to_numpy(array))
        if array.dtype.hasobject:
            raise TypeError(f"save_npz: array {name!r} has dtype object, which can only be stored with pickle; "
                            "expected a numeric, boolean or fixed-width string array")
        host[name] = array
    with atomic_write(path, "wb") as handle:
        numpy.savez(handle, **host)


def load_npz(path):
    """Read every array of the ``.npz`` file ``path`` into a dict {name: NumPy array}.

    Raises ``FileNotFoundError`` if there is no file, and ``FileFormatError`` (naming the file and the
    problem) if it is not a readable ``.npz`` archive or holds pickled objects.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_npz: no file at {path!r}")
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head[:2] != b"PK":
        raise FileFormatError(f"load_npz: {path!r} is not an .npz file: expected a zip archive starting "
                              f"with the bytes b'PK', found {head!r}")
    try:
        with numpy.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as error:
        # BadZipFile: damaged directory; zlib.error / EOFError: damaged or truncated member data;
        # ValueError: a member that is not a valid .npy array, or one holding pickled objects.
        raise FileFormatError(f"load_npz: {path!r} is a damaged or unreadable .npz file "
                              f"({type(error).__name__}: {error})") from error
    for name, value in arrays.items():
        if not isinstance(value, numpy.ndarray):  # a zip member not written by numpy.save comes back as bytes
            raise FileFormatError(f"load_npz: {path!r} is a zip archive but its member {name!r} is not a .npy array")
    return arrays


# ----- checkpoints ----------------------------------------------------------------------------
CHECKPOINT_FORMAT = "minigan-checkpoint"
CHECKPOINT_VERSION = 1
_HEADER_KEY = "__checkpoint__"  # the .npz entry holding the JSON header, as UTF-8 bytes (uint8)
_ARRAY_MARK = "__array__"       # in the JSON tree, {"__array__": key} stands for an array stored under key


def save_checkpoint(path, state, metadata=None):
    """Save a nested dict of arrays and plain values to the single ``.npz`` file ``path``, atomically.

    Args:
        state: a dict whose keys are strings without "/" and whose values are
            * NumPy or CuPy arrays and NumPy scalars: stored as arrays under the "/"-joined key path;
            * nested dicts of the same kind (e.g. a ``Module.state_dict()``);
            * plain JSON values: None, bool, int (any size, e.g. a PCG64 state), float, str, and
              lists or dicts of those. Stored in the JSON header.
            Tuples are refused (JSON would turn them into lists, so they could not round-trip).
        metadata: a JSON-serialisable dict (configuration, backend, notes); returned by
            ``load_checkpoint`` as given.

    ``load_checkpoint(path)`` returns ``(state, metadata)`` equal to what was saved: same keys, same
    array dtypes, shapes and bytes (CuPy arrays come back as NumPy arrays).
    """
    if not isinstance(state, dict):
        raise TypeError(f"save_checkpoint: state must be a dict, got {type(state).__name__}")
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"save_checkpoint: metadata must be a dict or None, got {type(metadata).__name__}")
    if metadata is not None and not _is_plain(metadata):
        raise TypeError("save_checkpoint: metadata must hold only plain JSON values (None, bool, int, float, str, "
                        "lists and str-keyed dicts of those; no tuples, no arrays)")
    arrays = {}
    tree = _encode(state, (), arrays)
    header = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "state": tree, "metadata": metadata or {}}
    text = json.dumps(header)
    arrays[_HEADER_KEY] = numpy.frombuffer(text.encode("utf-8"), dtype=numpy.uint8)
    save_npz(path, **arrays)


def _encode(node, keys, arrays):
    """The JSON tree for ``node``; its arrays go into ``arrays`` under their "/"-joined key path."""
    where = "/".join(keys) or "<root>"
    if isinstance(node, dict):
        tree = {}
        for key, value in node.items():
            if not isinstance(key, str) or not key or "/" in key or key in (_ARRAY_MARK, _HEADER_KEY):
                raise TypeError(f"save_checkpoint: key {key!r} under {where!r} is not allowed: expected a non-empty "
                                f"string without '/', other than {_ARRAY_MARK!r} and {_HEADER_KEY!r}")
            tree[key] = _encode(value, keys + (key,), arrays)
        return tree
    if isinstance(node, numpy.generic) or hasattr(node, "__array_interface__") or array_module(node) is not numpy:  # host or device
        array = numpy.asarray(to_numpy(node))
        arrays["/".join(keys)] = array
        return {_ARRAY_MARK: "/".join(keys), "scalar": isinstance(node, numpy.generic)}
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        if not _is_plain(node):
            raise TypeError(f"save_checkpoint: the list at {where!r} may hold only plain JSON values (None, bool, "
                            "int, float, str and lists/dicts of those); store arrays as dict entries, not in lists")
        return node
    raise TypeError(f"save_checkpoint: {where!r} is a {type(node).__name__}: expected an array, a dict, "
                    "a list or a plain JSON value (None, bool, int, float, str)")


def _is_plain(value):
    """True for values that JSON stores and gives back unchanged: None, bool, int, float, str, lists, str-keyed dicts."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return not isinstance(value, numpy.generic)
    if isinstance(value, list):
        return all(_is_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_plain(item) for key, item in value.items())
    return False


def load_checkpoint(path):
    """Read a checkpoint written by ``save_checkpoint``: returns ``(state, metadata)``.

    Raises ``FileNotFoundError`` if there is no file and ``FileFormatError`` if the file is damaged,
    is an ``.npz`` that ``save_checkpoint`` did not write, or lacks an array its header names.
    """
    arrays = load_npz(path)
    if _HEADER_KEY not in arrays:
        raise FileFormatError(f"load_checkpoint: {os.fspath(path)!r} is an .npz file but not a minigan checkpoint: "
                              f"expected an entry {_HEADER_KEY!r}, found entries {sorted(arrays)[:8]}")
    try:
        header = json.loads(arrays.pop(_HEADER_KEY).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise FileFormatError(f"load_checkpoint: the header of {os.fspath(path)!r} is not valid JSON ({error})") from error
    if not isinstance(header, dict) or header.get("format") != CHECKPOINT_FORMAT:
        raise FileFormatError(f"load_checkpoint: {os.fspath(path)!r} has a header that is not a {CHECKPOINT_FORMAT!r} header")
    if header.get("version") != CHECKPOINT_VERSION:
        raise FileFormatError(f"load_checkpoint: {os.fspath(path)!r} is checkpoint version {header.get('version')!r}; "
                              f"this minigan reads version {CHECKPOINT_VERSION}")
    return _decode(header["state"], arrays, path), header["metadata"]


def _decode(tree, arrays, path):
    if isinstance(tree, dict) and _ARRAY_MARK in tree:
        key = tree[_ARRAY_MARK]
        if key not in arrays:
            raise FileFormatError(f"load_checkpoint: {os.fspath(path)!r} names an array {key!r} that it does not contain")
        return arrays[key][()] if tree.get("scalar") else arrays[key]
    if isinstance(tree, dict):
        return {key: _decode(value, arrays, path) for key, value in tree.items()}
    return tree
