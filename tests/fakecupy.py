"""A stand-in for CuPy that runs on the CPU and fails where CuPy fails.

minigan's CuPy path has to be tested on machines without a GPU. This module looks like the
``cupy`` module to minigan -- ``ndarray``, ``zeros``, ``exp``, ``random.default_rng``,
``lib.stride_tricks`` ... all computed by NumPy -- but its arrays, ``DeviceArray``, behave like
arrays living on a GPU:

* implicit conversion to a host array fails: ``np.asarray(d)``, ``np.array(d)``, anything that
  calls ``d.__array__()`` raises TypeError (CuPy: "Implicit conversion to a NumPy array is not
  allowed");
* mixing a DeviceArray with a NumPy ndarray fails: ``d + host``, ``host * d``, ``d @ host``,
  ``np.maximum(d, host)``, ``fakecupy.concatenate([d, host])``, ``d[...] = host`` raise TypeError;
  Python and NumPy *scalars* are fine, as they are in CuPy;
* ``isinstance(d, numpy.ndarray)`` is False, as it is for a ``cupy.ndarray``;
* reductions and scalar indexing give 0-d DeviceArrays (CuPy never hands back a host scalar);
  ``float(d)``, ``int(d)``, ``bool(d)``, ``d.item()``, ``d.tolist()`` work (explicit syncs);
* the explicit transfers work: ``fakecupy.asnumpy(d)``, ``d.get()`` (device -> host) and
  ``fakecupy.asarray(host)`` / ``fakecupy.array(host)`` (host -> device);
* ``random.default_rng(seed)`` returns a Generator with the methods CuPy's Generator has
  (``random``, ``standard_normal``, ``integers``, ``uniform``, ...) -- and not the ones it lacks
  (``permutation``, ``shuffle``, ``choice``, ``normal``); its ``bit_generator.state`` is a method
  returning a device pointer, as in CuPy, not NumPy's dict.

* names CuPy does not have are refused (AttributeError), module functions and array methods
  alike: the lists in ``cupy_names`` were read from an installed CuPy; so are keyword arguments
  CuPy's versions lack (TypeError): ``where=`` and ``initial=`` of reductions, ``where=``,
  ``subok=`` and ``signature=`` of ufuncs, ``like=`` of array creation. Arrays have no
  ``__index__`` (CuPy's have none: ``range(d)`` or ``x[d]`` with a 0-d d fails on a GPU).

It also counts what a GPU would pay for, in ``fakecupy.counters``: ``syncs`` (every read of a
device value on the host: ``float``, ``bool``, ``int``, ``format``, ``.get()``, ``asnumpy``,
``.item()``, ``.tolist()``, ``.tobytes()``, pickling, printing; every call whose output size
depends on the values, which CuPy reads back first: boolean-mask indexing and assignment,
``nonzero``, ``flatnonzero``, ``argwhere``, one-argument ``where``, ``unique``, ``compress``,
``extract``, ``bincount``, ``histogram``; a device scalar as a slice bound;
``cuda.Device().synchronize()``), ``host_to_device_bytes`` (``asarray``/``array`` of host
data, host index arrays) and ``operations`` (every function, ufunc, method, indexing with
arrays, assignment and random draw: roughly CuPy's kernel launches). ``reset_counters()``.

DeviceArray is a wrapper around a NumPy array rather than an ``ndarray`` subclass: NumPy turns a
subclass into a host array without ever calling ``__array__`` (``np.asarray`` just takes a view),
so a subclass could not make implicit conversion fail.

Install it with ``B._use_module(fakecupy, "cupy")`` (see the ``device`` fixtures in the tests),
and restore NumPy afterwards.
"""
from __future__ import annotations

import sys
import types

import numpy as np
import numpy.lib.mixins

import cupy_names

_IMPLICIT = ("Implicit conversion to a NumPy array is not allowed. Please use `.get()` to "
             "construct a NumPy array explicitly.")


class Counters:
    """What the double has seen since the last reset_counters()."""

    def __init__(self):
        self.syncs = 0
        self.host_to_device_bytes = 0
        self.operations = 0

    def __repr__(self):
        return (f"Counters(syncs={self.syncs}, host_to_device_bytes="
                f"{self.host_to_device_bytes}, operations={self.operations})")


counters = Counters()


def reset_counters() -> Counters:
    """Zero the counters; returns them."""
    global counters
    counters = Counters()
    return counters


def _sync():
    counters.syncs += 1


def _operation():
    counters.operations += 1


def _upload(nbytes: int):
    counters.host_to_device_bytes += int(nbytes)


def _mixing_error(obj) -> TypeError:
    return TypeError(f"Unsupported type {type(obj)}: host data (a NumPy array or a list) cannot "
                     f"be mixed with device arrays; transfer it first with cupy.asarray(...)")


# ---------------------------------------------------------------------------------------------
# Moving values across the wrapper boundary

#: Types passed through unchanged (checked first: the double wraps millions of calls).
_PLAIN = frozenset({int, float, bool, complex, str, type(None), slice, type(Ellipsis), type,
                    np.dtype, np.float32, np.float64, np.int64, np.int32, np.bool_})


def _to_host_args(obj, allow_host_arrays: bool = False):
    """Replace DeviceArrays by their NumPy data, recursively through lists/tuples/dicts.

    A plain NumPy ndarray raises TypeError unless ``allow_host_arrays`` (the explicit
    host -> device transfers, and index arrays, which CuPy converts itself).
    """
    kind = type(obj)
    if kind is DeviceArray:
        return obj._data
    if kind in _PLAIN:
        return obj
    if kind is tuple:
        return tuple([_to_host_args(o, allow_host_arrays) for o in obj])
    if isinstance(obj, np.ndarray):
        if allow_host_arrays:
            return obj
        raise _mixing_error(obj)
    if isinstance(obj, list):
        return [_to_host_args(o, allow_host_arrays) for o in obj]
    if isinstance(obj, tuple):
        return tuple(_to_host_args(o, allow_host_arrays) for o in obj)
    if isinstance(obj, dict):
        return {k: _to_host_args(v, allow_host_arrays) for k, v in obj.items()}
    return obj


def _to_device(obj):
    """Wrap NumPy results as DeviceArrays; NumPy scalars become 0-d DeviceArrays (as in CuPy)."""
    kind = type(obj)
    if kind is np.ndarray:
        return DeviceArray(obj)
    if isinstance(obj, np.ndarray):
        return DeviceArray(obj)
    if isinstance(obj, np.generic):
        return DeviceArray(np.asarray(obj))
    if kind is tuple:
        return tuple([_to_device(o) for o in obj])
    if kind is list:
        return [_to_device(o) for o in obj]
    return obj


def _call_on_device(fn, args, kwargs):
    """fn(*args, **kwargs) with device inputs unwrapped (host arrays refused), outputs wrapped."""
    _operation()
    return _to_device(fn(*_to_host_args(args), **(_to_host_args(kwargs) if kwargs else {})))


#: Calls whose output size depends on the values: CuPy reads a count back first (a sync).
_VALUE_SIZED = frozenset({"nonzero", "flatnonzero", "argwhere", "unique", "compress", "extract",
                          "bincount", "histogram", "histogramdd", "histogram2d", "unique_values",
                          "unique_counts", "unique_inverse", "unique_all"})

#: Reductions: CuPy's take no where= or initial=.
_REDUCTIONS = frozenset({"sum", "prod", "mean", "std", "var", "max", "min", "amax", "amin",
                         "all", "any", "nansum", "nanprod", "nanmean", "nanstd", "nanvar",
                         "nanmax", "nanmin", "average", "cumsum", "cumprod"})
#: Array creation: CuPy's take no like=.
_CREATION = frozenset({"array", "asarray", "zeros", "ones", "empty", "full", "arange",
                       "identity", "eye", "linspace", "fromfunction", "frombuffer"})


def _refuse_keywords(name: str, kwargs) -> None:
    """TypeError for a keyword argument CuPy's ``name`` does not take."""
    if not kwargs:
        return
    refused = (("where", "initial") if name in _REDUCTIONS else
               ("like",) if name in _CREATION else ())
    for key in refused:
        if key in kwargs:
            raise TypeError(f"cupy.{name}() got an unexpected keyword argument {key!r} "
                            f"(NumPy's takes it; CuPy's does not)")


def _is_boolean_index(part) -> bool:
    return isinstance(part, (DeviceArray, np.ndarray)) and part.dtype == np.bool_


# ---------------------------------------------------------------------------------------------
# The array

class DeviceArray(numpy.lib.mixins.NDArrayOperatorsMixin):
    """An array "on the device": NumPy data that refuses to meet host arrays.

    Arithmetic operators come from NDArrayOperatorsMixin and go through ``__array_ufunc__``;
    NumPy functions go through ``__array_function__``; methods and attributes not defined here
    are NumPy's, with the same wrapping.
    """

    __slots__ = ("_data",)

    def __init__(self, data: np.ndarray):
        if not isinstance(data, np.ndarray) or isinstance(data, DeviceArray):
            raise TypeError("DeviceArray wraps a numpy.ndarray")
        object.__setattr__(self, "_data", data)

    # -- the failures ----------------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError(_IMPLICIT)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        args = []
        for x in inputs:
            if type(x) is DeviceArray:
                args.append(x._data)
            elif isinstance(x, (np.ndarray, list)):
                raise _mixing_error(x)
            else:
                args.append(x)
        out = kwargs.get("out")
        _operation()
        result = getattr(ufunc, method)(*args, **(_to_host_args(kwargs) if kwargs else {}))
        if out is not None:                              # in place: hand back the same objects
            return out[0] if len(out) == 1 else out
        return _to_device(result)

    def __array_function__(self, func, types, args, kwargs):
        return _call_on_device(func, args, kwargs)

    # -- explicit transfers and syncs ------------------------------------------------------------
    def get(self) -> np.ndarray:
        """Device -> host copy (cupy.ndarray.get)."""
        _sync()
        return self._data.copy()

    def __float__(self):
        _sync()
        return float(self._data)

    def __int__(self):
        _sync()
        return int(self._data)

    def __bool__(self):
        _sync()
        return bool(self._data)

    def __complex__(self):
        _sync()
        return complex(self._data)

    def __format__(self, spec):
        _sync()
        return format(self._data if self._data.ndim else self._data[()], spec)

    def item(self):
        _sync()
        return self._data.item()

    # -- container protocol ----------------------------------------------------------------------
    def __len__(self):
        return len(self._data)

    def __iter__(self):
        for row in self._data:
            yield _to_device(row)

    def __getitem__(self, index):
        if _holds_arrays(index):                         # a gather kernel; basic slicing is a view
            _operation()
        return _to_device(self._data[_index(index)])

    def __setitem__(self, index, value):
        _operation()
        self._data[_index(index)] = _to_host_args(value)

    # -- everything else is NumPy's, wrapped -----------------------------------------------------
    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in cupy_names.NDARRAY:
            raise AttributeError(f"cupy.ndarray has no attribute {name!r} (NumPy's has; CuPy's "
                                 f"does not)")
        if name == "flags":                      # CuPy's flags: no writeable, aligned, ...
            flags = self._data.flags
            return types.SimpleNamespace(c_contiguous=flags.c_contiguous,
                                         f_contiguous=flags.f_contiguous,
                                         owndata=flags.owndata)
        attr = getattr(self._data, name)
        if callable(attr):
            def method(*args, **kwargs):
                _refuse_keywords(name, kwargs)
                if name in _VALUE_SIZED or name in ("tobytes", "dumps", "dump", "tofile"):
                    _sync()                              # a count, or the data, read back
                return _call_on_device(attr, args, kwargs)
            method.__name__ = name
            return method
        return _to_device(attr)

    def __setattr__(self, name, value):
        if name == "shape":
            self._data.shape = value
        else:
            raise AttributeError(f"cannot set attribute {name!r} of a DeviceArray")

    def tolist(self):
        _sync()
        return self._data.tolist()

    def __repr__(self):
        _sync()
        return "DeviceArray(" + repr(self._data)[len("array("):]

    def __str__(self):
        _sync()
        return str(self._data)

    def __copy__(self):
        return DeviceArray(self._data.copy())

    def __deepcopy__(self, memo):
        return DeviceArray(self._data.copy())

    def __reduce__(self):                     # pickling a device array: CuPy allows it, by
        _sync()                               # copying the data to the host
        return (DeviceArray, (self._data,))


ndarray = DeviceArray


def _holds_arrays(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (DeviceArray, np.ndarray, list)) for p in parts)


def _index(index):
    """An index for the wrapped data: device arrays unwrapped; a host index array is allowed
    (CuPy copies it to the device: counted). A boolean mask costs a sync (CuPy reads back how
    many elements it selects), as does a device scalar used as a slice bound (CuPy reads it)."""
    parts = index if isinstance(index, tuple) else (index,)
    synced = False
    for p in parts:
        if isinstance(p, np.ndarray):
            _upload(p.nbytes)
        elif isinstance(p, list):
            _upload(np.asarray(p).nbytes)
        if _is_boolean_index(p):
            synced = True
    if any(isinstance(p, slice) and any(isinstance(b, DeviceArray)
                                        for b in (p.start, p.stop, p.step)) for p in parts):
        parts = tuple(_read_bounds(p) if isinstance(p, slice) else p for p in parts)
        index = parts if isinstance(index, tuple) else parts[0]
        synced = True
    if synced:
        _sync()
    return _to_host_args(index, allow_host_arrays=True)


def _read_bounds(part: slice) -> slice:
    """A slice whose device-scalar bounds are read as Python ints (CuPy's reading them)."""
    def read(bound):
        if not isinstance(bound, DeviceArray):
            return bound
        if bound.ndim != 0 or bound.dtype.kind not in "iu":
            raise TypeError("slice indices must be integers or None or have an __index__ "
                            "method")
        return int(bound._data)
    return slice(read(part.start), read(part.stop), read(part.step))


def asnumpy(x, dtype=None) -> np.ndarray:
    """Device -> host (cupy.asnumpy): a NumPy array; host data passes through."""
    if isinstance(x, DeviceArray):
        _sync()
        out = x._data.copy()
    else:
        out = np.asarray(x)
    return out if dtype is None else out.astype(dtype)


# ---------------------------------------------------------------------------------------------
# Module-level functions: numpy's, wrapped

def asarray(a, dtype=None, order=None):
    """Host or device data -> a DeviceArray. Host data is copied (a transfer), as in CuPy;
    a DeviceArray of the right dtype is returned as it is."""
    if isinstance(a, DeviceArray):
        if dtype is None or np.dtype(dtype) == a.dtype:
            return a
        _operation()
        return DeviceArray(a._data.astype(dtype))
    return _uploaded(np.array(_to_host_args(a, allow_host_arrays=True), dtype=dtype,
                              order=order or "K", copy=True))


def _uploaded(host: np.ndarray) -> DeviceArray:
    """Host data copied to the device: counted."""
    _upload(host.nbytes)
    return DeviceArray(host)


def array(obj, dtype=None, copy=True, order="K", ndmin=0):
    """cupy.array: like asarray, but copies device data too unless copy=False."""
    if isinstance(obj, DeviceArray) and not copy:
        return asarray(obj, dtype)
    data = np.array(_to_host_args(obj, allow_host_arrays=True), dtype=dtype, copy=True,
                    order=order, ndmin=ndmin)
    if isinstance(obj, DeviceArray):
        _operation()
        return DeviceArray(data)
    return _uploaded(data)


asanyarray = asarray


class _Ufunc:
    """A NumPy ufunc that only accepts device arrays (and scalars)."""

    def __init__(self, ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        for key in ("where", "subok", "signature"):
            if key in kwargs:
                raise TypeError(f"cupy.{self.__name__}() got an unexpected keyword argument "
                                f"{key!r} (NumPy's ufuncs take it; CuPy's do not)")
        for x in args:
            if isinstance(x, list):
                raise _mixing_error(x)
        out = kwargs.get("out")
        result = _call_on_device(self._ufunc, args, kwargs)
        if out is not None:
            return out[0] if isinstance(out, tuple) and len(out) == 1 else out
        return result

    def __getattr__(self, name):                      # reduce, accumulate, outer, at, nin ...
        attr = getattr(self._ufunc, name)
        if callable(attr):
            return lambda *a, **k: _call_on_device(attr, a, k)
        return attr


def _device_function(fn):
    name = getattr(fn, "__name__", "function")
    sized = name in _VALUE_SIZED

    def wrapper(*args, **kwargs):
        _refuse_keywords(name, kwargs)
        if sized or (name == "where" and len(args) + len(kwargs) == 1):
            _sync()                                      # CuPy reads the output size back
        return _call_on_device(fn, args, kwargs)
    wrapper.__name__ = getattr(fn, "__name__", "function")
    wrapper.__doc__ = getattr(fn, "__doc__", None)
    return wrapper


def _wrap_attribute(attr):
    if isinstance(attr, np.ufunc):
        return _Ufunc(attr)
    if isinstance(attr, type) or not callable(attr):  # dtypes (float32, ...), constants, classes
        return attr
    return _device_function(attr)


class _Namespace(types.ModuleType):
    """A submodule proxy (fakecupy.linalg, fakecupy.lib.stride_tricks, ...)."""

    def __init__(self, name, numpy_module):
        super().__init__(name)
        self._numpy_module = numpy_module

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in cupy_names.NAMESPACES.get(self.__name__, ()):
            raise AttributeError(f"{self.__name__.replace('fakecupy', 'cupy')} has no attribute "
                                 f"{name!r} (NumPy's namespace has; CuPy's does not)")
        attr = getattr(self._numpy_module, name)
        if isinstance(attr, types.ModuleType):
            wrapped = _Namespace(f"{self.__name__}.{name}", attr)
        else:
            wrapped = _wrap_attribute(attr)
        setattr(self, name, wrapped)                     # cache: later lookups skip __getattr__
        return wrapped


# -- random ----------------------------------------------------------------------------------

class _BitGenerator:
    """CuPy's BitGenerator keeps its state on the device: ``state()`` is a method returning a
    device pointer, not NumPy's ``state`` dict."""

    def __init__(self, numpy_bit_generator):
        self._numpy_bit_generator = numpy_bit_generator

    def state(self) -> int:
        return id(self._numpy_bit_generator)

    def random_raw(self, size=None, output=True):
        out = self._numpy_bit_generator.random_raw(size)
        return _to_device(np.asarray(out)) if output else None


class Generator:
    """cupy.random.Generator: the subset of numpy.random.Generator that CuPy implements.

    Results are always DeviceArrays (0-d when ``size`` is None), as in CuPy.
    """

    def __init__(self, seed=None):
        self._rng = np.random.default_rng(seed)
        self.bit_generator = _BitGenerator(self._rng.bit_generator)

    def _draw(self, method, *args, **kwargs):
        _operation()
        for x in list(args) + list(kwargs.values()):
            if isinstance(x, np.ndarray) and not isinstance(x, DeviceArray):
                raise _mixing_error(x)
        return _to_device(np.asarray(getattr(self._rng, method)(*_to_host_args(args),
                                                                **_to_host_args(kwargs))))

    def random(self, size=None, dtype=np.float64, out=None):
        return self._into(out, self._draw("random", size, dtype=dtype))

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        return self._into(out, self._draw("standard_normal", size, dtype=dtype))

    def standard_exponential(self, size=None, dtype=np.float64, method="inv", out=None):
        return self._into(out, self._draw("standard_exponential", size, dtype=dtype))

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        return self._draw("integers", low, high, size, dtype=dtype, endpoint=endpoint)

    def uniform(self, low=0.0, high=1.0, size=None, dtype=np.float64):
        return self._draw("uniform", low, high, size).astype(dtype, copy=False)

    def exponential(self, scale=1.0, size=None):
        return self._draw("exponential", scale, size)

    def gamma(self, shape, scale=1.0, size=None):
        return self._draw("gamma", shape, scale, size)

    def standard_gamma(self, shape, size=None, dtype=np.float64, out=None):
        return self._into(out, self._draw("standard_gamma", shape, size, dtype=dtype))

    def beta(self, a, b, size=None, dtype=np.float64):
        return self._draw("beta", a, b, size).astype(dtype, copy=False)

    def binomial(self, n, p, size=None):
        return self._draw("binomial", n, p, size)

    def poisson(self, lam=1.0, size=None):
        return self._draw("poisson", lam, size)

    def dirichlet(self, alpha, size=None):
        return self._draw("dirichlet", alpha, size)

    @staticmethod
    def _into(out, result):
        if out is None:
            return result
        out[...] = result
        return out

    def __getattr__(self, name):
        raise AttributeError(f"cupy.random.Generator has no attribute {name!r} (CuPy's Generator "
                             f"implements only part of NumPy's: random, standard_normal, "
                             f"integers, uniform, ...)")


class _Random(_Namespace):
    """fakecupy.random: default_rng -> Generator; the legacy functions (seed, randn, rand,
    permutation, ...) draw from NumPy's global state, wrapped."""

    def __init__(self):
        super().__init__("fakecupy.random", np.random)
        self.Generator = Generator

    @staticmethod
    def default_rng(seed=None):
        if isinstance(seed, DeviceArray):
            seed = seed.get()
        return Generator(seed)


random = _Random()


# -- cuda: enough for ``minigan.backend.use("cupy")`` to find one pretend device ----------------

cuda = types.SimpleNamespace(
    runtime=types.SimpleNamespace(getDeviceCount=lambda: 1),
    Device=lambda device_id=0: types.SimpleNamespace(synchronize=_sync, id=device_id),
)


def get_array_module(*arrays):
    """cupy.get_array_module: this module if any argument is a device array, else numpy."""
    return sys.modules[__name__] if any(isinstance(a, DeviceArray) for a in arrays) else np


def __getattr__(name):
    """Every other attribute CuPy has: NumPy's, wrapped (ufuncs, functions, submodules,
    constants). A name CuPy lacks is an AttributeError, as it would be on a GPU."""
    if name.startswith("__"):
        raise AttributeError(name)
    if name not in cupy_names.CUPY:
        raise AttributeError(f"module 'cupy' has no attribute {name!r} (NumPy has it; CuPy "
                             f"does not)")
    attr = getattr(np, name)
    if isinstance(attr, types.ModuleType):
        wrapped = _Namespace(f"{__name__}.{name}", attr)
    else:
        wrapped = _wrap_attribute(attr)
    globals()[name] = wrapped                            # cache: later lookups skip __getattr__
    return wrapped
