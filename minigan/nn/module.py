"""Parameter, Module and Sequential: the contract every layer follows.

A layer is a forward, a backward and its parameters:

    y  = layer.forward(x)       # caches what backward needs
    dx = layer.backward(dy)     # returns dL/dx and ADDS dL/dW into each parameter's .grad

A layer's forward ends with ``return self._output(y)`` and its backward begins with
``self._check_dy(dy)``: dy must be a float array shaped like that output, checked before any
gradient is touched (NumPy would otherwise broadcast a (N, 1) dy against (N, F) in silence).
Backward never updates weights; optimizers do (``minigan.optim``). Gradients add up across
backward calls until ``zero_grad()``, so a discriminator step can run D on real data, backward,
then D on fake data, backward, and the parameter gradients hold the sum. A module caches a single
forward pass: backward uses the most recent one.

Not checked, by design: an input (or a weight) changed in place between forward and backward.
The cached arrays are the caller's, not copies, so backward then differentiates at the changed
values without a word. Catching it would need a copy or a version counter per array per call
(PyTorch keeps version counters on every tensor); minigan keeps the cache cheap instead and
never changes an input in place itself.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from contextlib import contextmanager

from minigan import backend as B


def check_values(array, dtype, where: str, nonnegative: bool = False) -> None:
    """ValueError naming ``where`` unless every value of ``array`` (host or device) is finite,
    fits ``dtype`` (a float64 value beyond float32's range would become inf) and, with
    ``nonnegative``, is >= 0. Used by loads, before anything is changed (one read per array)."""
    host = B.to_numpy(array)
    if host.dtype.kind not in "fiu" or host.size == 0:
        return
    values = host.astype(B.np.float64, copy=False)
    finite = B.np.isfinite(values)
    if not finite.all():
        raise ValueError(f"{where} holds {int(values.size - finite.sum())} NaN or Inf value(s)")
    limit = float(B.np.finfo(dtype).max) if B.np.dtype(dtype).kind == "f" else float("inf")
    largest = float(B.np.abs(values).max())
    if largest > limit:
        raise ValueError(f"{where} holds {largest:.4g}, beyond the range of {B.np.dtype(dtype)} "
                         f"(max {limit:.4g})")
    if nonnegative and float(values.min()) < 0:
        raise ValueError(f"{where} holds a negative value ({float(values.min()):.4g}); it can "
                         f"only be >= 0")


class Parameter:
    """A trainable array and the gradient accumulated into it (same shape, same dtype)."""

    def __init__(self, data):
        self.data = data
        self.grad = B.xp.zeros_like(data)

    @property
    def shape(self):
        return self.data.shape

    def zero_grad(self) -> None:
        self.grad[...] = 0

    def __repr__(self) -> str:
        return f"Parameter(shape={tuple(self.data.shape)}, dtype={self.data.dtype})"


class Module(ABC):
    """Base class. Subclasses implement forward(x) and backward(dy) (abstract: a subclass
    without them cannot be instantiated).

    Parameters are found by walking attributes: every ``Parameter`` attribute and every child
    ``Module`` (or list of Modules), in the order they were assigned. Buffers (non-trained state
    such as BatchNorm's running statistics) are attribute names listed in ``_buffers``.
    """

    _buffers: tuple = ()
    _nonnegative_buffers: tuple = ()   # buffers a load refuses negative values in
    _output_shape = None     # shape of the last forward's output (set by _output), dy's shape

    def __init__(self):
        self.training = True

    # -- the two passes ------------------------------------------------------------------------
    @abstractmethod
    def forward(self, x):
        """The layer's output for input x; caches what backward needs."""

    @abstractmethod
    def backward(self, dy):
        """dL/d(input) from dy = dL/d(output); accumulates parameter gradients in .grad."""

    def parameter_backward(self, dy) -> None:
        """backward(dy) where dL/d(input) is not wanted: the parameters' .grad fill up exactly as
        in backward, and nothing is returned. Layers whose dL/dx is work of its own (Dense,
        Conv2d, Maxout) skip it; Sequential also skips every layer in front of its first one
        with parameters. GAN.d_step uses it: no gradient flows from D back into its data."""
        self.backward(dy)

    def __call__(self, x):
        return self.forward(x)

    # -- parameters and state --------------------------------------------------------------------
    def children(self):
        """Direct sub-modules, in assignment order, as (name, module) pairs."""
        for key, value in vars(self).items():
            if isinstance(value, Module):
                yield key, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{key}.{i}", item

    def named_parameters(self, prefix: str = ""):
        """(dotted name, Parameter) pairs of this module and its children, in a fixed order."""
        for key, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + key, value
        for key, child in self.children():
            yield from child.named_parameters(prefix + key + ".")

    def parameters(self) -> list:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix: str = ""):
        for key in self._buffers:
            yield prefix + key, getattr(self, key)
        for key, child in self.children():
            yield from child.named_buffers(prefix + key + ".")

    def _nonnegative_entries(self, prefix: str = ""):
        """Dotted names of the buffers that can never be negative (``_nonnegative_buffers``,
        e.g. BatchNorm's running variance): a load refuses negative values there."""
        for key in self._nonnegative_buffers:
            yield prefix + key
        for key, child in self.children():
            yield from child._nonnegative_entries(prefix + key + ".")

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode: bool = True) -> "Module":
        self.training = mode
        for _, child in self.children():
            child.train(mode)
        return self

    def eval(self) -> "Module":
        return self.train(False)

    @contextmanager
    def eval_mode(self):
        """``with module.eval_mode(): y = module.forward(x)`` -- eval mode inside the block
        (no dropout, BatchNorm's running statistics), the previous mode restored after it, also
        when the block raises."""
        was_training = self.training
        self.eval()
        try:
            yield self
        finally:
            self.train(was_training)

    def state_dict(self) -> dict:
        """{name: copy of the array} for every parameter and buffer (on the active backend)."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update({name: buf.copy() for name, buf in self.named_buffers()})
        return state

    def load_state_dict(self, state: dict) -> None:
        """Copy arrays into this module's parameters and buffers, checking names and shapes.

        Raises ValueError naming the first missing, unexpected, mis-shaped or non-numeric entry;
        nothing is written unless every entry matches (``prepare_load`` then the copy).
        """
        self.prepare_load(state)()

    def prepare_load(self, state: dict):
        """Check ``state`` against this module and convert its arrays, changing nothing; return
        a function of no arguments that copies them in (and cannot fail).

        The first half of ``load_state_dict``, for loaders that must check several modules (and
        optimizers) before changing any of them: ``minigan.checkpoint.load``.
        """
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, dict):
            raise TypeError(f"{where}: expects a dict of arrays, got {type(state).__name__}")
        targets = {name: p.data for name, p in self.named_parameters()}
        targets.update(self.named_buffers())              # the arrays themselves, written in place
        nonnegative = set(self._nonnegative_entries())
        writes = []
        for name, target in targets.items():
            if name not in state:
                raise ValueError(f"{where}: missing entry {name!r}")
            value = state[name]
            got = getattr(value, "shape", None)
            if got is None or getattr(value, "dtype", None) is None:
                raise ValueError(f"{where}: entry {name!r} is a {type(value).__name__}, not an "
                                 f"array")
            if tuple(target.shape) != tuple(got):
                raise ValueError(f"{where}: {name!r} has shape {tuple(target.shape)} in this "
                                 f"model but {tuple(got)} in the state")
            if value.dtype.kind not in "fiu":
                raise ValueError(f"{where}: entry {name!r} holds {value.dtype} values, not "
                                 f"real numbers")
            check_values(value, target.dtype, f"{where}: entry {name!r}",
                         nonnegative=name in nonnegative)
            writes.append((name, B.xp.asarray(value, dtype=target.dtype)))
        extra = [k for k in state if k not in targets]
        if extra:
            raise ValueError(f"{where}: unexpected entry {extra[0]!r} (not in this model)")

        def copy_in():
            for name, value in writes:
                targets[name][...] = value
        return copy_in

    # -- helpers for subclasses ----------------------------------------------------------------
    def _check_input(self, x, expected: tuple, what: str = "input"):
        """Raise unless x is a non-empty float array of the active backend matching ``expected``.

        TypeError for a non-array or a dtype other than float32/float64 (integers and float16
        are refused, never silently converted), ValueError for a shape that does not match or
        has an axis of length 0.

        ``expected`` is a shape pattern: ints must match, None matches anything, e.g.
        ``(None, self.in_features)`` or ``(None, self.in_channels, None, None)``.
        """
        if not B.is_array(x):
            raise TypeError(f"{self!r} expects a {B.xp.__name__}.ndarray as {what}, "
                            f"got {type(x).__name__}")
        if x.dtype.kind != "f" or x.dtype.itemsize < 4:
            raise TypeError(f"{self!r} expects a float32 or float64 {what}, got {x.dtype}; "
                            f"convert it first, e.g. x.astype('float32') (integer images: scale "
                            f"them to [-1, 1] or [0, 1] too)")
        if x.ndim != len(expected) or any(e is not None and e != s
                                          for e, s in zip(expected, x.shape)):
            pattern = "(" + ", ".join("N" if i == 0 and e is None else ("*" if e is None else str(e))
                                      for i, e in enumerate(expected)) + ")"
            raise ValueError(f"{self!r} expects {what} of shape {pattern}, "
                             f"got {tuple(x.shape)}")
        if x.shape[0] == 0:
            raise ValueError(f"{self!r} got an empty batch: {what} shape {tuple(x.shape)}")
        if x.size == 0:              # e.g. (N, 0, 4, 4): statistics over it would be 0/0
            raise ValueError(f"{self!r} got an empty {what}: shape {tuple(x.shape)} has an axis "
                             f"of length 0")

    def _output(self, y):
        """Remember y's shape as the one backward's dy must have, and return y.

        Every layer ends its forward with ``return self._output(y)`` and begins its backward
        with ``self._check_dy(dy)``.
        """
        self._output_shape = y.shape
        self._grad_input_shape = None        # a new forward: input_gradient must run again
        return y

    def _check_dy(self, dy) -> None:
        """Raise unless dy can be dL/d(output) of the last forward, before any gradient is touched.

        RuntimeError when no forward has run; TypeError for a non-array or a dtype other than
        float32/float64 (as for inputs); ValueError when dy's shape is not the forward's output
        shape -- NumPy would otherwise broadcast (N, 1) against (N, F), or fail half-way after a
        parameter gradient has been added to. Costs a tuple comparison (shapes are host tuples:
        no device synchronisation).
        """
        expected = self._output_shape
        if expected is None:
            raise RuntimeError(f"{self!r}: backward() called before forward(); run forward "
                               f"on the same batch first")
        if isinstance(dy, B.xp.ndarray) and dy.shape == expected and dy.dtype.kind == "f" \
                and dy.dtype.itemsize >= 4:
            return
        if not B.is_array(dy):
            raise TypeError(f"{self!r}.backward expects dy as a {B.xp.__name__}.ndarray, "
                            f"got {type(dy).__name__}")
        if dy.dtype.kind != "f" or dy.dtype.itemsize < 4:
            raise TypeError(f"{self!r}.backward expects a float32 or float64 dy, got {dy.dtype}")
        raise ValueError(f"{self!r}.backward expects dy of shape {tuple(expected)} (its "
                         f"forward's output), got {tuple(dy.shape)}")

    # -- the second-order pass of a gradient penalty (minigan.penalty) --------------------------
    # A penalty P = mean_i f(grad_x D(x_i)) depends on D's parameters through D's backward pass.
    # Write a layer's backward as dx = B(dy, x, theta) (linear in dy). After forward(x) and
    # dx = input_gradient(dy), second_backward(grad_dx) takes grad_dx = dP/d(dx) and
    #
    #     returns  grad_dy = dP/d(dy) = (dB/d dy)^T grad_dx      shaped like the output; B is
    #                       linear in dy with dB/d dy = J^T (J = dy/dx of the forward), so this
    #                       is J grad_dx: the forward's directional derivative along grad_dx
    #              grad_x  = (dB/dx)^T grad_dx                   shaped like the input, or None
    #                       where B does not depend on x (piecewise-linear layers)
    #     and adds (dB/dtheta)^T grad_dx into each parameter's .grad.
    #
    # Sequential chains these (minigan.penalty explains the whole pass).

    _grad_input_shape = None  # shape of input_gradient's result; None until it has run

    def input_gradient(self, dy):
        """dL/dx for dy = dL/d(output), like backward(dy) but without touching any parameter
        gradient; caches dy for second_backward. Layers that support gradient penalties
        override it."""
        raise NotImplementedError(self.second_order_refusal())

    def second_backward(self, grad_dx):
        """grad_dx = dP/d(dx), dx = input_gradient(dy) -> (dP/d(dy), dP/dx through dx or None);
        adds dP/dtheta through dx into the parameters' .grad (see the comment above)."""
        raise NotImplementedError(self.second_order_refusal())

    def second_order_refusal(self):
        """None when this module and its children have a second-order pass (a gradient penalty
        can train it), else a sentence saying which module has none and why."""
        if type(self).second_backward is Module.second_backward:
            return (f"{self!r} has no second-order pass (input_gradient / second_backward), so a "
                    f"gradient penalty cannot train a discriminator containing it")
        for _, child in self.children():
            refusal = child.second_order_refusal()
            if refusal is not None:
                return refusal
        return None

    def _keep_dy(self, dy) -> None:
        """Start of input_gradient: check dy as backward does, and cache it."""
        self._check_dy(dy)
        self.dy = dy

    def _grad_input(self, dx):
        """End of input_gradient: remember dx's shape (grad_dx's) and return dx."""
        self._grad_input_shape = dx.shape
        return dx

    def _check_grad_dx(self, grad_dx) -> None:
        """Start of second_backward: RuntimeError unless input_gradient ran after the last
        forward; TypeError / ValueError unless grad_dx is a float array shaped like its dx."""
        expected = self._grad_input_shape
        if expected is None:
            raise RuntimeError(f"{self!r}: second_backward() called without input_gradient() "
                               f"after the last forward(); run forward, then input_gradient, on "
                               f"the same batch first")
        if not B.is_array(grad_dx) or grad_dx.dtype.kind != "f" or grad_dx.dtype.itemsize < 4:
            raise TypeError(f"{self!r}.second_backward expects a float32 or float64 "
                            f"{B.xp.__name__}.ndarray, got {type(grad_dx).__name__} "
                            f"{getattr(grad_dx, 'dtype', '')}")
        if grad_dx.shape != expected:
            raise ValueError(f"{self!r}.second_backward expects grad_dx of shape "
                             f"{tuple(expected)} (input_gradient's result), got "
                             f"{tuple(grad_dx.shape)}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _walk(module: Module, path: str):
    """(path, module) for ``module`` and every module inside it, depth first."""
    yield path, module
    for key, child in module.children():
        yield from _walk(child, f"{path}.{key}")


class Sequential(Module):
    """Modules applied in order; backward runs them in reverse.

    x -> layers[0] -> layers[1] -> ... -> y.  A shape error names the failing position, in forward and in backward.
    The same module object may appear only once (ValueError otherwise): it caches one forward.
    """

    def __init__(self, *layers):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential: item {i} is {type(layer).__name__}, not a Module")
        seen = {}
        for i, layer in enumerate(layers):
            for path, module in _walk(layer, str(i)):
                if id(module) in seen:
                    raise ValueError(
                        f"Sequential: the same {module!r} object is at {seen[id(module)]} and at "
                        f"{path}; a module caches one forward pass, so its backward would use "
                        f"the wrong input and its gradients come out wrong. Use two modules "
                        f"(weight sharing needs the gradients of both uses summed by hand)")
                seen[id(module)] = path
        self.layers = list(layers)

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            try:
                x = layer.forward(x)
            except (ValueError, TypeError) as e:
                raise type(e)(f"Sequential layer {i}: {e}") from e
        return x

    def backward(self, dy):
        for i in range(len(self.layers) - 1, -1, -1):
            try:
                dy = self.layers[i].backward(dy)
            except (ValueError, TypeError, RuntimeError) as e:
                raise type(e)(f"Sequential layer {i}: {e}") from e
        return dy

    def parameter_backward(self, dy) -> None:
        """backward(dy) without dL/d(input): the layers back to the first one with parameters,
        which runs its own parameter_backward; the layers in front of it are not visited."""
        first = self._first_with_parameters()
        try:
            for i in range(len(self.layers) - 1, first, -1):
                dy = self.layers[i].backward(dy)
            i = first
            self.layers[first].parameter_backward(dy)
        except (ValueError, TypeError, RuntimeError) as e:
            raise type(e)(f"Sequential layer {i}: {e}") from e

    _first_key = None          # the layers (by id) _first was found for

    def _first_with_parameters(self):
        """Index of the first layer holding parameters (0 if none does: every layer then runs,
        so dy is still checked); found once per list of layers (a training step calls it every
        iteration)."""
        key = tuple(map(id, self.layers))
        if key != self._first_key:
            self._first = next((i for i, layer in enumerate(self.layers) if layer.parameters()),
                               0)
            self._first_key = key
        return self._first

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __repr__(self) -> str:
        inner = "\n".join(f"  ({i}) {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"

    # -- second-order pass (gradient penalties) -------------------------------------------------
    def input_gradient(self, dy):
        """dL/dx for dy = dL/d(output), through every layer's input_gradient in reverse; no
        parameter gradient is touched."""
        for i in range(len(self.layers) - 1, -1, -1):
            try:
                dy = self.layers[i].input_gradient(dy)
            except (ValueError, TypeError, RuntimeError, NotImplementedError) as e:
                raise type(e)(f"Sequential layer {i}: {e}") from e
        return dy

    def second_backward(self, grad_dx):
        """grad_dx = dP/d(dx), dx = input_gradient(dy) -> (dP/d(dy), dP/dx or None).

        Layers x_l = F_l(x_{l-1}), l = 1..L; input_gradient ran g_{l-1} = B_l(g_l, x_{l-1}).
        dx = g_0 depends on the parameters three ways, each handled once:

        1. Upward, l = 1..L: layer l's second_backward turns grad_{g_{l-1}} into grad_{g_l}
           (= J_l grad_{g_{l-1}}), adds (dB_l/dtheta_l)^T grad_{g_{l-1}}, and gives
           e_l = (dB_l/dx_{l-1})^T grad_{g_{l-1}} (None for piecewise-linear layers).
        2. Downward, l = L..1: each e_l is a gradient on x_{l-1}, which the forward computed
           from the layers below; the ordinary backward pushes the running sum
           a_{l-1} = F_l.backward(a_l) + e_l down, adding (dF_l/dtheta)^T a_l into the
           parameters (a_L = 0; nothing runs above the highest e_l, and nothing at all for a
           network of piecewise-linear layers, whose input gradient is constant between kinks).
        3. a_0 is dP/dx of the whole network, returned as grad_x.
        """
        extras = []
        for i, layer in enumerate(self.layers):
            try:
                grad_dx, extra = layer.second_backward(grad_dx)
            except (ValueError, TypeError, RuntimeError, NotImplementedError) as e:
                raise type(e)(f"Sequential layer {i}: {e}") from e
            extras.append(extra)
        grad_x = None
        for i in range(len(self.layers) - 1, -1, -1):
            if grad_x is not None:
                grad_x = self.layers[i].backward(grad_x)
            if extras[i] is not None:
                grad_x = extras[i] if grad_x is None else grad_x + extras[i]
        return grad_dx, grad_x
