"""Checkpoints: parameters, buffers, optimizer state, RNG state and metadata in one .npz file.

    checkpoint.save("runs/dcgan.npz", {"G": G, "D": D}, {"G": opt_g, "D": opt_d},
                    extra={"iteration": 5000, "history": history, "config": config})
    extra = checkpoint.load("runs/dcgan.npz", {"G": G, "D": D}, {"G": opt_g, "D": opt_d})

The file is an ordinary NumPy ``.npz`` archive (``numpy.load`` opens it) holding

    module/<module>/<parameter or buffer>   e.g. module/G/layers.0.W      host arrays
    optimizer/<optimizer>/<path>            e.g. optimizer/G/state/exp_avg/3
    metadata                                one JSON string, below

The metadata records the format version, the backend and dtype, each module's architecture
(``repr(module)`` and its (name, shape) lists of parameters and buffers), each optimizer's
state with every array replaced by a reference to its archive entry, minigan's RNG state and
``extra``. Nested optimizer state is stored as a JSON tree: a dict keeps its keys (or, if some
key is not a string, becomes {"__items__": [[key, value], ...]}), a tuple becomes
{"__tuple__": [...]}, an array {"__array__": "<entry>"} and a NumPy scalar
{"__scalar__": "<entry>"} (a 0-d entry), so everything round-trips with its type and dtype.

Saving is atomic: the archive is written to a temporary file in the same directory, flushed to
disk, then renamed over the old checkpoint, so a crash mid-save leaves the previous checkpoint
intact. Loading never runs code from the file (``allow_pickle=False``), checks the architecture
and checks everything -- every module's architecture and arrays, every optimizer's state, the RNG
state -- before changing anything, so a failed load leaves the model as it was; it raises
CheckpointError (a ValueError) naming the file (and the module and entry) when it is truncated,
corrupted, inconsistent or not a minigan checkpoint.

A save killed between writing and renaming leaves its temporary file (``.<name>.<digest>.<pid>.
<random>.tmp`` beside the target; the name stays within the file system's 255-byte limit however
long the target's is); the next save of the same path removes those whose process has ended.

Other results (e.g. a trial of ``minigan.mode_collapse``) are kept with ``save_data(path, tree,
kind)`` / ``load_data(path, kind)``: the same format -- nested dicts, lists, tuples, numbers,
strings and arrays; JSON and arrays in an .npz -- so loading one never runs code from the file.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile

from minigan import arguments
from minigan import backend as B

np = B.np                 # host-side NumPy: checkpoints are host files

FORMAT = "minigan-checkpoint"
DATA_FORMAT = "minigan-data"
VERSION = 1
METADATA_KEY = "metadata"


class CheckpointError(ValueError):
    """The file is truncated, corrupted, unsafe (pickled objects), not a minigan checkpoint, or
    does not fit what it is loaded into (another architecture, optimizer, dtype or data); the
    message names the file and the entry, and nothing was changed."""


def check_path(path, where: str) -> str:
    """``os.fspath(path)`` of a file to write or read, or TypeError / ValueError naming
    ``where`` (minigan.arguments.path): None or a non-path, an empty path, a NUL byte, a path
    ending in a separator."""
    return arguments.path(path, "path", where)


# ---------------------------------------------------------------------------------------------
# Nested state <-> (JSON tree, arrays)

_MARKERS = ("__array__", "__scalar__", "__tuple__", "__items__")


def _encode(obj, key: str, arrays: dict):
    """Replace every array in a nested structure by a reference; the arrays go into ``arrays``."""
    if key in arrays:
        raise ValueError(f"checkpoint: two entries would both be stored as {key!r}; avoid '/' "
                         f"in dict keys")
    if B.is_array(obj) or isinstance(obj, np.ndarray):
        arrays[key] = B.to_numpy(obj)
        if arrays[key].dtype.hasobject:
            raise TypeError(f"checkpoint: {key!r} is an array of Python objects; only numeric, "
                            f"boolean and string arrays can be stored without pickling")
        return {"__array__": key}
    if isinstance(obj, np.generic):
        arrays[key] = np.asarray(obj)
        return {"__scalar__": key}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and k not in _MARKERS for k in obj):
            return {k: _encode(v, f"{key}/{k}", arrays) for k, v in obj.items()}
        for k in obj:
            if not (k is None or isinstance(k, (bool, int, float, str))):
                raise TypeError(f"checkpoint: cannot store the key {k!r} of {key!r}; dict keys "
                                f"must be strings or numbers")
        return {"__items__": [[k, _encode(v, f"{key}/{k}", arrays)] for k, v in obj.items()]}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(v, f"{key}/{i}", arrays) for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(v, f"{key}/{i}", arrays) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"checkpoint: cannot store {key!r} of type {type(obj).__name__}; use "
                    f"numbers, strings, lists, tuples, dicts and arrays")


def _decode(tree, arrays: dict):
    """Inverse of _encode: rebuild the structure with host numpy arrays."""
    if isinstance(tree, list):
        return [_decode(v, arrays) for v in tree]
    if not isinstance(tree, dict):
        return tree
    if set(tree) == {"__array__"}:
        return arrays[tree["__array__"]]
    if set(tree) == {"__scalar__"}:
        return arrays[tree["__scalar__"]][()]
    if set(tree) == {"__tuple__"}:
        return tuple(_decode(v, arrays) for v in tree["__tuple__"])
    if set(tree) == {"__items__"}:
        return {k: _decode(v, arrays) for k, v in tree["__items__"]}
    return {k: _decode(v, arrays) for k, v in tree.items()}


# ---------------------------------------------------------------------------------------------
# Saving

def _architecture(module) -> dict:
    return {"repr": repr(module),
            "parameters": [[name, list(p.data.shape)] for name, p in module.named_parameters()],
            "buffers": [[name, list(b.shape)] for name, b in module.named_buffers()]}


def save(path, modules: dict, optimizers: dict | None = None, extra: dict | None = None,
         rng: bool = True) -> None:
    """Write one checkpoint file atomically.

    modules: {name: Module}; optimizers: {name: object with state_dict()} (nested dicts, lists,
    tuples, numbers, strings and arrays); extra: anything of those types -- iteration, loss
    histories, configuration; rng: also store minigan's random generator state, so a resumed run
    draws the same noise.
    """
    path = check_path(path, "checkpoint.save")
    for name in list(modules) + list(optimizers or {}):
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"checkpoint: module and optimizer names must be non-empty strings "
                             f"without '/', got {name!r}")
    arrays, metadata = {}, {"format": FORMAT, "version": VERSION, "backend": B.name(),
                            "dtype": str(B.dtype()), "modules": {}, "optimizers": {}}
    for name, module in modules.items():
        metadata["modules"][name] = _architecture(module)
        for entry, value in module.state_dict().items():
            arrays[f"module/{name}/{entry}"] = B.to_numpy(value)
    for name, optimizer in (optimizers or {}).items():
        metadata["optimizers"][name] = {
            "type": type(optimizer).__name__,
            "state": _encode(optimizer.state_dict(), f"optimizer/{name}", arrays)}
    metadata["rng"] = B.get_rng_state() if rng else None
    metadata["extra"] = _encode(extra if extra is not None else {}, "extra", arrays)
    if METADATA_KEY in arrays:
        raise ValueError(f"checkpoint: the entry name {METADATA_KEY!r} is reserved")
    arrays[METADATA_KEY] = np.array(json.dumps(metadata))
    _write_atomically(path, arrays)


def _temporary_prefix(path: str) -> str:
    """'.<name, at most 100 characters>.<digest of the whole name>.' : the start of the temporary
    files of saves to ``path`` (short enough for any file system's 255-byte name limit)."""
    base = os.path.basename(path)
    digest = hashlib.sha1(base.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f".{base[:100]}.{digest}."


def _remove_stale_temporaries(directory: str, prefix: str) -> None:
    """Remove ``prefix<pid>.<random>.tmp`` files left by saves whose process has ended (killed
    mid-write); a save still running in another process keeps its file."""
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".tmp")):
            continue
        pid = name[len(prefix):].split(".")[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _process_alive(int(pid)):
            continue
        try:
            os.remove(os.path.join(directory, name))
        except OSError:
            pass


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _write_error(error: OSError, path: str) -> OSError:
    """The same kind of OSError, its message naming the file and saying what was kept (a full
    disk, a read-only or missing folder, a name too long ...)."""
    reason = error.strerror or str(error)
    return type(error)(error.errno, f"cannot write {path}: {reason}; a file already there is "
                                    f"kept unchanged")


def _write_atomically(path: str, arrays: dict) -> None:
    """np.savez into a temporary file next to ``path``, fsync, then rename it over ``path``.
    Temporaries of earlier saves of ``path`` killed mid-write are removed first."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path}: is a folder; give the checkpoint a file name, e.g. "
                                f"{os.path.join(path, 'run.npz')}")
    prefix = _temporary_prefix(path)
    try:
        os.makedirs(directory, exist_ok=True)
        _remove_stale_temporaries(directory, prefix)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f"{prefix}{os.getpid()}.",
                                   suffix=".tmp")
    except OSError as e:
        raise _write_error(e, path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(e, OSError) and e.errno is not None:
            raise _write_error(e, path) from None
        raise
    try:                                   # make the rename itself durable (POSIX)
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def save_data(path, tree, kind: str) -> None:
    """Write ``tree`` (nested dicts, lists, tuples, numbers, strings, arrays) to ``path``
    atomically, as an .npz of its arrays and one JSON string; ``kind`` names what it is, and
    load_data refuses a file of another kind."""
    path = check_path(path, "checkpoint.save_data")
    if not isinstance(kind, str) or not kind:
        raise TypeError(f"checkpoint.save_data: kind must be a non-empty str, got {kind!r}")
    arrays = {}
    metadata = {"format": DATA_FORMAT, "version": VERSION, "kind": kind,
                "tree": _encode(tree, "data", arrays)}
    arrays[METADATA_KEY] = np.array(json.dumps(metadata))
    _write_atomically(path, arrays)


def load_data(path, kind: str):
    """The tree save_data wrote to ``path`` (arrays as host numpy arrays). CheckpointError naming
    the file when it is empty, truncated, corrupted, holds pickled objects, or is not a
    minigan data file of this ``kind``; nothing in it is run."""
    path = check_path(path, "checkpoint.load_data")
    metadata, arrays = _read_archive(path)
    if not isinstance(metadata, dict) or metadata.get("format") != DATA_FORMAT:
        raise CheckpointError(f"{path}: not a minigan data file (its metadata has no format "
                              f"{DATA_FORMAT!r})")
    if metadata.get("version") != VERSION or metadata.get("kind") != kind:
        raise CheckpointError(f"{path}: holds {metadata.get('kind')!r} version "
                              f"{metadata.get('version')}, expected {kind!r} version {VERSION}")
    try:
        return _decode(metadata.get("tree"), arrays)
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: the data are inconsistent with their metadata "
                              f"({type(e).__name__}: {e})") from None


# ---------------------------------------------------------------------------------------------
# Loading

def read(path) -> tuple[dict, dict]:
    """(metadata, arrays) of a checkpoint, every array read and checked; nothing is changed.

    Raises CheckpointError naming the file if it is truncated, corrupted, holds pickled
    objects, or is not a minigan checkpoint.
    """
    path = check_path(path, "checkpoint.read")
    metadata, arrays = _read_archive(path, "minigan checkpoint")
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a minigan checkpoint (its metadata has no "
                              f"format {FORMAT!r})")
    if metadata.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {metadata.get('version')}, "
                              f"this minigan reads version {VERSION}")
    for key in ("modules", "optimizers"):
        if not isinstance(metadata.get(key), dict):
            raise CheckpointError(f"{path}: the metadata has no {key!r} table; the file is "
                                  f"corrupted")
    return metadata, arrays


def _read_archive(path: str, what: str = "minigan data file") -> tuple:
    """(parsed JSON metadata, {entry: array}) of an .npz written by _write_atomically."""
    unreadable = (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError)
    if os.path.isdir(path):
        raise IsADirectoryError(f"{path}: is a folder, not a file")
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except unreadable as e:
        raise CheckpointError(f"{path}: not a readable {what} -- empty, truncated, "
                              f"corrupted or not an .npz archive ({type(e).__name__}: "
                              f"{e})") from None
    if not hasattr(archive, "files"):       # a bare .npy array
        raise CheckpointError(f"{path}: not a {what} (a single .npy array)")
    arrays = {}
    with archive:
        for key in archive.files:
            try:
                arrays[key] = archive[key]
            except ValueError as e:
                if "allow_pickle" in str(e):
                    raise CheckpointError(f"{path}: entry {key!r} holds pickled Python objects; "
                                          f"minigan refuses to load them (unpickling can run "
                                          f"arbitrary code)") from None
                raise CheckpointError(f"{path}: entry {key!r} is corrupted ({e})") from None
            except unreadable as e:
                raise CheckpointError(f"{path}: entry {key!r} is truncated or corrupted "
                                      f"({type(e).__name__}: {e}). Use an earlier "
                                      f"copy") from None
    if METADATA_KEY not in arrays:
        raise CheckpointError(f"{path}: not a {what} (no {METADATA_KEY!r} entry)")
    try:
        metadata = json.loads(str(arrays.pop(METADATA_KEY)))
    except ValueError as e:
        raise CheckpointError(f"{path}: the metadata is not valid JSON ({e})") from None
    return metadata, arrays


def _check_architecture(path: str, name: str, module, saved: dict) -> None:
    """Raise CheckpointError at the first parameter or buffer whose name or shape differs."""
    here = _architecture(module)
    for kind in ("parameters", "buffers"):
        saved_shapes = {entry: tuple(shape) for entry, shape in saved[kind]}
        for entry, shape in here[kind]:
            if entry not in saved_shapes:
                raise CheckpointError(f"{path}: module {name!r} {kind[:-1]} {entry!r} (shape "
                                      f"{tuple(shape)}) is not in the checkpoint. The checkpoint "
                                      f"holds:\n{saved['repr']}\nthis model is:\n{here['repr']}")
            if saved_shapes[entry] != tuple(shape):
                raise CheckpointError(f"{path}: module {name!r} {kind[:-1]} {entry!r} has shape "
                                      f"{saved_shapes[entry]} in the checkpoint but {tuple(shape)} "
                                      f"in the model. The checkpoint holds:\n{saved['repr']}\n"
                                      f"this model is:\n{here['repr']}")
        extra = [entry for entry in saved_shapes if entry not in dict(here[kind])]
        if extra:
            raise CheckpointError(f"{path}: module {name!r}: the checkpoint has {kind[:-1]} "
                                  f"{extra[0]!r} that the model lacks. The checkpoint holds:\n"
                                  f"{saved['repr']}\nthis model is:\n{here['repr']}")


def load(path, modules: dict, optimizers: dict | None = None, rng: bool = True,
         prepare_extra=None) -> dict:
    """Restore modules, optimizers and (if rng) minigan's RNG state; return ``extra``.

    Every named module and optimizer must be in the checkpoint (the checkpoint may hold more,
    e.g. load only {"G": G} to sample). All or nothing: the whole file is read, and every
    architecture, array, optimizer state and the RNG state checked and converted, before
    anything is changed; a failure raises CheckpointError (a ValueError)
    naming the file, the module or optimizer and the entry, and leaves them all as they were.

    ``prepare_extra(extra)``, if given, is called after those checks and before any change: it
    may raise to refuse the file, and may return a function of no arguments that is called
    after the rest is loaded (``GAN.load_checkpoint`` installs the loop's state with it).
    """
    path = check_path(path, "checkpoint.load")
    metadata, arrays = read(path)
    saved_modules, saved_optimizers = metadata["modules"], metadata["optimizers"]
    for name, module in modules.items():
        if name not in saved_modules:
            raise CheckpointError(f"{path}: no module {name!r} in the checkpoint (it has "
                                  f"{sorted(saved_modules)})")
        _check_architecture(path, name, module, saved_modules[name])
    for name, optimizer in (optimizers or {}).items():
        if name not in saved_optimizers:
            raise CheckpointError(f"{path}: no optimizer {name!r} in the checkpoint (it has "
                                  f"{sorted(saved_optimizers)})")
        if saved_optimizers[name]["type"] != type(optimizer).__name__:
            raise CheckpointError(f"{path}: optimizer {name!r} was "
                                  f"{saved_optimizers[name]['type']} when saved, here it is "
                                  f"{type(optimizer).__name__}")
    try:
        optimizer_states = {name: _decode(saved_optimizers[name]["state"], arrays)
                            for name in (optimizers or {})}
        extra = _decode(metadata["extra"], arrays)
    except KeyError as e:
        raise CheckpointError(f"{path}: the entry {e} named in the metadata is missing; the "
                              f"file is corrupted") from None
    # everything is checked and converted first; the commits below cannot fail
    commits = []
    for name, module in modules.items():
        prefix = f"module/{name}/"
        try:
            commits.append(module.prepare_load({key[len(prefix):]: value
                                                for key, value in arrays.items()
                                                if key.startswith(prefix)}))
        except (ValueError, TypeError) as e:
            raise CheckpointError(f"{path}: module {name!r}: {e} (entries are stored as "
                                  f"'{prefix}<name>'); nothing was loaded") from None
    for name, optimizer in (optimizers or {}).items():
        try:
            commits.append(optimizer.prepare_load(optimizer_states[name]))
        except (ValueError, TypeError) as e:
            raise CheckpointError(f"{path}: optimizer {name!r}: {e}; nothing was "
                                  f"loaded") from None
    rng_state = metadata.get("rng") if rng else None
    if rng_state is not None:
        try:
            B.check_rng_state(rng_state)
        except ValueError as e:
            raise CheckpointError(f"{path}: the random generator's state is not valid "
                                  f"({type(e).__name__}: {e}); nothing was loaded") from None
    if prepare_extra is not None:
        try:
            finish = prepare_extra(extra)
        except (ValueError, TypeError) as e:
            raise CheckpointError(f"{path}: {e}; nothing was loaded") from None
        if finish is not None:
            commits.append(finish)
    for commit in commits:
        commit()
    if rng_state is not None:
        B.set_rng_state(rng_state)
    return extra
