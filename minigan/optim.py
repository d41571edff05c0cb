"""Optimizers: SGD with momentum, and Adam. They update Parameter.data in place from .grad.

    opt = Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt.zero_grad()          # clear the gradients ...
    G.backward(...)          # ... let backward passes add into them ...
    opt.step()               # ... and take one step

The update rules follow PyTorch's ``torch.optim.SGD`` and ``torch.optim.Adam`` exactly, so
hyperparameters from papers and PyTorch code carry over. Each step works in the parameters'
own dtype (float32 stays float32) and writes through ``out=`` into one scratch buffer, so a
step allocates nothing after the first.

State (``state_dict()``) is a plain dict that survives pickling or ``numpy.savez`` of its arrays:

    {"optimizer": "Adam",
     "hyperparameters": {"lr": 0.0002, "betas": (0.5, 0.999), "eps": 1e-08},
     "step": 3,                                         # steps taken so far
     "param_shapes": [(100, 256), (256,), ...],
     "state": {"exp_avg": [array, ...], "exp_avg_sq": [array, ...]}}

with one host numpy array per parameter, in the order the parameters were given.

Non-finite gradients. ``step()`` refuses a gradient holding NaN or Inf with
NonFiniteGradientError, naming the parameter (pass ``model.named_parameters()`` for names),
before anything changes. The gradients live in one flat buffer per dtype, so the check is one
BLAS dot per buffer and one read of its result per step (measured: 2.7 us on a 4.5k-parameter
MLP, 2 % of the Adam step of a 1.5M-parameter generator); ``check_finite=False`` turns it off.
"""
from __future__ import annotations

import copy
import math
import numbers
from abc import ABC, abstractmethod

from minigan import arguments
from minigan import backend as B
from minigan.nn.module import Module, Parameter, check_values


class NonFiniteGradientError(FloatingPointError):
    """A parameter's gradient holds NaN or Inf: ``step()`` refused it and changed nothing.

    ``index`` and ``name`` identify the parameter (name None when the optimizer was given
    unnamed parameters; both None when a device check could not tell which); ``where`` is the
    refusing call, e.g. "Adam.step".
    """

    def __init__(self, message, index=None, name=None, where=None):
        super().__init__(message)
        self.index, self.name, self.where = index, name, where


class Optimizer(ABC):
    """Base class: holds the parameters, the step count and per-parameter state buffers.

    Subclasses set ``state_names`` (the per-parameter buffers, each shaped like its parameter)
    and implement ``_update(i, p, scratch)`` for one parameter.

    ``params``: Parameters (``model.parameters()``), or (name, Parameter) pairs
    (``model.named_parameters()``) so that errors name them. The optimizer gathers the
    parameters' gradients into one flat buffer per dtype (each ``p.grad`` becomes a view into
    it), so that ``step()`` checks every gradient for NaN/Inf with one reduction and one read of
    one number (``check_finite``, on by default) and refuses, changing nothing, with
    NonFiniteGradientError naming the parameter.
    """

    state_names: tuple = ()
    nonnegative_state: tuple = ()     # state buffers that can never be negative (Adam's v)

    def __init__(self, params, check_finite: bool = True):
        kind = type(self).__name__
        if isinstance(params, Module):
            raise TypeError(f"{kind} expects a list of Parameters, got a "
                            f"{type(params).__name__}: pass model.parameters()")
        if isinstance(params, Parameter) or not hasattr(params, "__iter__"):
            raise TypeError(f"{kind} expects a list of Parameters, got "
                            f"{type(params).__name__}: pass model.parameters()")
        items = list(params)
        self.param_names = [None] * len(items)
        for i, item in enumerate(items):
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                self.param_names[i], items[i] = item
        self.params = items
        if not self.params:
            raise ValueError(f"{kind} got an empty parameter list")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(f"{kind}: item {i} of params is "
                                f"{type(p).__name__}, not a Parameter")
        if len({id(p) for p in self.params}) != len(self.params):
            raise ValueError(f"{kind}: a Parameter appears more than once in "
                             f"params (it would be updated twice per step)")
        if not isinstance(check_finite, bool):
            raise TypeError(f"{kind}: check_finite must be True or False, got {check_finite!r}")
        self.check_finite = check_finite
        self.step_count = 0
        self._scratch = {}                                   # dtype -> flat work buffer
        self._flat_grads, self._grad_views = _gather_grads(self.params)
        # the state buffers of each dtype group are views into one flat buffer per name, like
        # the gradients: a subclass may update a whole group at once (Adam._update_all), and a
        # snapshot of the state is one copy per buffer
        self._groups = _groups(self.params)                  # [(dtype, [param index])]
        self.flat_state = {name: [B.xp.zeros(sum(self.params[i].data.size for i in indices),
                                             dtype=dtype) for dtype, indices in self._groups]
                           for name in self.state_names}
        self.state = {name: _views(flats, self._groups, self.params)
                      for name, flats in self.flat_state.items()}
        self._flat_scratch = [B.xp.empty_like(flat) for flat in
                              (self._flat_grads if self._groups else [])]
        # on a device one block per group: there the cost is the number of kernel launches
        block = BLOCK if B.on_host() else max(1, sum(p.data.size for p in self.params))
        self._blocks = [_blocks(indices, self.params, block, scratch)
                        for (_, indices), scratch in zip(self._groups, self._flat_scratch)]
        self._split = [i for blocks in self._blocks for _, _, pieces in blocks
                       for i, a, b, _ in pieces if b - a < self.params[i].data.size]

    # -- the public interface --------------------------------------------------------------------
    def zero_grad(self) -> None:
        """Set every parameter's gradient to 0 (backward passes add into it)."""
        for p in self.params:
            p.zero_grad()

    def step(self) -> None:
        """Update every parameter once from its current .grad.

        With ``check_finite`` (the default), raises NonFiniteGradientError naming the first
        parameter whose gradient holds NaN or Inf, before changing any parameter or state. On a
        device backend inside ``B.deferred_checks()`` (a GAN training iteration) the check is
        kept on the device and read later, and the step is not held back.
        """
        if self.check_finite:
            self._refuse_non_finite()
        host = B.on_host()                                # CuPy's arrays have no writeable flag
        for i, p in enumerate(self.params):               # before any state changes
            if (host and not p.data.flags.writeable) or p.data.shape != p.grad.shape:
                self._refuse_parameter(i, p)
        self.step_count += 1
        if self._groups and self._update_all():
            return
        for i, p in enumerate(self.params):
            self._update(i, p, self._scratch_like(p.data))

    def _update_all(self) -> bool:
        """Update every parameter with a few operations on the flat buffers (a subclass may);
        False when it does not, or cannot (a gradient was re-bound since): then ``_update``
        runs per parameter. Same arithmetic, element by element, so the same numbers."""
        return False

    def _flat_update_possible(self) -> bool:
        """Every gradient still the view into the flat buffer, and the data of each parameter
        split across blocks C-ordered (so that ``data.reshape(-1)`` is a view to update)."""
        return (all(p.grad is view for p, view in zip(self.params, self._grad_views))
                and all(self.params[i].data.flags.c_contiguous for i in self._split))

    def _refuse_parameter(self, i: int, p: Parameter):
        name = self.param_names[i]
        what = f"parameter {i}" + (f" ({name})" if name else "")
        if B.on_host() and not p.data.flags.writeable:
            raise ValueError(f"{type(self).__name__}.step: {what} is read-only "
                             f"(its array's writeable flag is off); nothing was changed")
        raise ValueError(f"{type(self).__name__}.step: {what} has shape {tuple(p.data.shape)} "
                         f"but its gradient {tuple(p.grad.shape)} (its data was replaced by an "
                         f"array of another shape?); nothing was changed")

    @property
    def lr(self) -> float:
        """The learning rate; assigning it checks the value (a finite number >= 0: a schedule may
        end at 0; the constructor asks for a positive one)."""
        return self._lr

    @lr.setter
    def lr(self, value) -> None:
        self._lr = arguments.real(value, "lr", type(self).__name__, 0)     # 0: a schedule's end

    def _refuse_non_finite(self) -> None:
        """On the host: one sum of squares (a BLAS dot, ~3x faster than a sum) over each flat
        gradient buffer and one read of it; only when that is not finite, a search for the
        parameter (the squares can also overflow on huge finite values: then the step goes
        ahead). On a device: one isfinite-all per buffer, handed to B.check unread."""
        grads = list(self._flat_grads)                 # one per dtype, usually one
        grads += [p.grad for p, view in zip(self.params, self._grad_views)
                  if p.grad is not view]               # re-bound since (e.g. by another optimizer)
        if not B.on_host():
            finite = [B.xp.isfinite(g).all() for g in grads]
            ok = finite[0] if len(finite) == 1 else B.xp.stack(finite).all()
            B.check(ok, self._non_finite_error)
            return
        vdot = B.xp.vdot                            # NumPy's dot/matmul warn on overflow, vdot not
        if all(bool(vdot(g, g) < math.inf) for g in grads):    # the host read; False for NaN, Inf
            return
        error = self._non_finite_error()
        if error is not None:
            raise error

    def _non_finite_error(self):
        """The NonFiniteGradientError for the first parameter whose gradient holds NaN or Inf
        (None if there is none)."""
        for i, p in enumerate(self.params):
            finite = B.xp.isfinite(p.grad)
            if not bool(finite.all()):
                name = self.param_names[i]
                what = f"parameter {i}" + (f" ({name})" if name else "")
                held = (f"holds {p.grad.size - int(finite.sum())} NaN or Inf value(s) out of "
                        f"{p.grad.size}; the step was refused and nothing changed"
                        if B.on_host() else "held NaN or Inf (read after the step)")
                return NonFiniteGradientError(
                    f"{type(self).__name__}.step: the gradient of {what}, shape "
                    f"{tuple(p.grad.shape)}, {held}. Usually training has diverged (learning "
                    f"rate too high?) or the data holds NaN/Inf", index=i, name=name,
                    where=f"{type(self).__name__}.step")
        if B.on_host():
            return None
        return NonFiniteGradientError(
            f"{type(self).__name__}.step: a gradient held NaN or Inf (read after the step). "
            f"Usually training has diverged (learning rate too high?) or the data holds NaN/Inf",
            index=None, name=None, where=f"{type(self).__name__}.step")

    @abstractmethod
    def hyperparameters(self) -> dict:
        """The hyperparameters as a plain dict (saved in state_dict())."""

    def state_dict(self) -> dict:
        """Hyperparameters, step count and per-parameter state (host numpy copies)."""
        return {
            "optimizer": type(self).__name__,
            "hyperparameters": self.hyperparameters(),
            "step": self.step_count,
            "param_shapes": [tuple(p.data.shape) for p in self.params],
            "state": {name: [B.to_numpy(buf).copy() for buf in buffers]
                      for name, buffers in self.state.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a state_dict() of the same kind of optimizer over parameters of the same shapes.

        Raises ValueError (and changes nothing) if the optimizer type, the number of parameters
        or any buffer's shape differs (``prepare_load`` then the assignment).
        """
        self.prepare_load(state)()

    def prepare_load(self, state: dict):
        """Check ``state`` and convert its arrays, changing nothing; return a function of no
        arguments that installs them (and cannot fail). See ``Module.prepare_load``."""
        kind = type(self).__name__
        keys = ("optimizer", "hyperparameters", "step", "param_shapes", "state")
        if not isinstance(state, dict) or any(k not in state for k in keys):
            raise ValueError(f"{kind}.load_state_dict: not an optimizer state_dict (expected keys "
                             f"{', '.join(keys)})")
        if state.get("optimizer") != kind:
            raise ValueError(f"{kind}.load_state_dict: the state is from a "
                             f"{state.get('optimizer')!r} optimizer")
        shapes = [tuple(s) for s in state.get("param_shapes", [])]
        if len(shapes) != len(self.params):
            raise ValueError(f"{kind}.load_state_dict: the state is for {len(shapes)} "
                             f"parameter(s), this optimizer has {len(self.params)}")
        for i, (p, shape) in enumerate(zip(self.params, shapes)):
            if shape != tuple(p.data.shape):
                raise ValueError(f"{kind}.load_state_dict: parameter {i} has shape "
                                 f"{tuple(p.data.shape)} here but {shape} in the state")
        buffers = state["state"]
        if set(buffers) != set(self.state_names):
            raise ValueError(f"{kind}.load_state_dict: state buffers {sorted(buffers)} do not "
                             f"match {sorted(self.state_names)}")
        for name in self.state_names:
            if len(buffers[name]) != len(self.params):
                raise ValueError(f"{kind}.load_state_dict: the state has {len(buffers[name])} "
                                 f"parameter(s) in {name!r}, this optimizer has "
                                 f"{len(self.params)}")
            for i, (p, arr) in enumerate(zip(self.params, buffers[name])):
                if getattr(arr, "dtype", None) is None or arr.dtype.kind not in "fiu":
                    raise ValueError(f"{kind}.load_state_dict: {name}[{i}] is not an array of "
                                     f"real numbers")
                if tuple(arr.shape) != tuple(p.data.shape):
                    raise ValueError(f"{kind}.load_state_dict: {name}[{i}] has shape "
                                     f"{tuple(arr.shape)} but parameter {i} has shape "
                                     f"{tuple(p.data.shape)}")
                check_values(arr, p.data.dtype, f"{kind}.load_state_dict: {name}[{i}]",
                             nonnegative=name in self.nonnegative_state)
        hyper = state["hyperparameters"]
        try:
            copy.copy(self)._set_hyperparameters(hyper)   # raises here, on a copy, if invalid
        except (KeyError, TypeError) as e:
            raise ValueError(f"{kind}.load_state_dict: hyperparameters {hyper!r} are not this "
                             f"optimizer's ({type(e).__name__}: {e})") from None
        step = state["step"]
        if not isinstance(step, numbers.Integral) or isinstance(step, bool) or step < 0:
            raise ValueError(f"{kind}.load_state_dict: step must be a non-negative int, got "
                             f"{step!r}")
        new_state = {name: [B.xp.array(arr, dtype=p.data.dtype, copy=True)
                            for p, arr in zip(self.params, buffers[name])]
                     for name in self.state_names}

        def install():
            self._set_hyperparameters(hyper)
            self.step_count = int(step)
            for name, arrays in new_state.items():          # into the (flat buffers') views
                for target, value in zip(self.state[name], arrays):
                    target[...] = value
        return install

    # -- for subclasses --------------------------------------------------------------------------
    @abstractmethod
    def _update(self, i: int, p: Parameter, scratch) -> None:
        """Update parameter p (index i) in place from p.grad; scratch is a work buffer."""

    @abstractmethod
    def _set_hyperparameters(self, hyper: dict) -> None:
        """Restore hyperparameters from a state_dict()."""

    def _scratch_like(self, a):
        """A work array shaped like ``a`` (a view into one buffer shared by all parameters)."""
        buf = self._scratch.get(a.dtype)
        if buf is None or buf.size < a.size:
            buf = B.xp.empty(max(p.data.size for p in self.params), dtype=a.dtype)
            self._scratch[a.dtype] = buf
        return buf[:a.size].reshape(a.shape)


def _gather_grads(params):
    """One flat zero buffer per dtype holding every parameter's gradient; each p.grad becomes a
    view into it (its values kept). Returns (flat buffers, the views in parameter order)."""
    sizes = {}
    for p in params:
        sizes[p.grad.dtype] = sizes.get(p.grad.dtype, 0) + p.grad.size
    flats = {dt: B.xp.zeros((n,), dtype=dt) for dt, n in sizes.items()}
    offsets = dict.fromkeys(flats, 0)
    views = []
    for p in params:
        dt, n = p.grad.dtype, p.grad.size
        view = flats[dt][offsets[dt]:offsets[dt] + n].reshape(p.grad.shape)
        view[...] = p.grad
        p.grad = view
        offsets[dt] += n
        views.append(view)
    return list(flats.values()), views


def _groups(params) -> list:
    """[(dtype, [indices of the parameters of that dtype])] in the order of _gather_grads'
    flat buffers, or [] when some parameter's data and gradient differ in dtype (no flat
    state then: each state buffer is its own array)."""
    if any(p.data.dtype != p.grad.dtype for p in params):
        return []
    groups = {}
    for i, p in enumerate(params):
        groups.setdefault(p.grad.dtype, []).append(i)
    return list(groups.items())


#: Elements per block of Adam's flat update: 4 float32 arrays of it (m, v, g, scratch) stay
#: within a CPU's L2/L3 cache over the update's 11 passes.
BLOCK = 131072


def _blocks(indices, params, block, scratch) -> list:
    """[(start, stop, [(param index, a, b, step)])]: the flat buffer of ``indices``'
    parameters cut into blocks of at most ``block`` elements; each block lists the pieces
    data.reshape(-1)[a:b] of the parameters it holds and ``step``, the view of the flat
    ``scratch`` that holds their update (shaped like the parameter when a == 0, b == size)."""
    blocks, start, pieces, offset = [], 0, [], 0
    for i in indices:
        size, a = params[i].data.size, 0
        while a < size:
            room = block - (offset - start)
            b = min(size, a + room)
            step = scratch[offset:offset + b - a]
            pieces.append((i, a, b, step.reshape(params[i].data.shape) if b - a == size
                           else step))
            offset += b - a
            a = b
            if offset - start == block:
                blocks.append((start, offset, pieces))
                start, pieces = offset, []
    if pieces:
        blocks.append((start, offset, pieces))
    return blocks


def _views(flats, groups, params) -> list:
    """Per-parameter views (shaped like each parameter) into the flat buffers of ``groups``;
    with no groups, a zero array per parameter."""
    if not groups:
        return [B.xp.zeros_like(p.data) for p in params]
    views = [None] * len(params)
    for flat, (_, indices) in zip(flats, groups):
        offset = 0
        for i in indices:
            n = params[i].data.size
            views[i] = flat[offset:offset + n].reshape(params[i].data.shape)
            offset += n
    return views


def _check_lr(kind: str, lr) -> float:
    """A positive finite learning rate (TypeError for a non-number, ValueError otherwise)."""
    return arguments.real(lr, "lr", kind, 0, low_open=True)


class SGD(Optimizer):
    """Stochastic gradient descent with (heavy-ball) momentum, as in torch.optim.SGD.

        g = grad + weight_decay * p          (L2 penalty; weight_decay = 0 by default)
        v = momentum * v + g                 (v starts at 0; skipped when momentum = 0)
        p = p - lr * v
    """

    def __init__(self, params, lr: float, momentum: float = 0.0, weight_decay: float = 0.0,
                 check_finite: bool = True):
        _check_lr("SGD", lr)
        self._set_hyperparameters({"lr": lr, "momentum": momentum, "weight_decay": weight_decay})
        self.state_names = ("momentum_buffer",) if self.momentum else ()
        super().__init__(params, check_finite)

    def hyperparameters(self) -> dict:
        return {"lr": self.lr, "momentum": self.momentum, "weight_decay": self.weight_decay}

    def _set_hyperparameters(self, hyper: dict) -> None:
        lr = arguments.real(hyper["lr"], "lr", "SGD", 0)
        momentum = arguments.real(hyper["momentum"], "momentum", "SGD", 0, 1, high_open=True)
        weight_decay = arguments.real(hyper["weight_decay"], "weight_decay", "SGD", 0)
        if hasattr(self, "momentum") and bool(momentum) != bool(self.momentum):
            raise ValueError(f"SGD.load_state_dict: the state has momentum={momentum}, this "
                             f"optimizer momentum={self.momentum} (one of them keeps no buffer)")
        self.lr, self.momentum, self.weight_decay = lr, float(momentum), float(weight_decay)

    def _update(self, i, p, scratch):
        g = p.grad
        if self.weight_decay:
            B.xp.multiply(p.data, self.weight_decay, out=scratch)
            scratch += g                                     # g + wd * p
            g = scratch
        if self.momentum:
            v = self.state["momentum_buffer"][i]
            v *= self.momentum
            v += g                                           # v = mu v + g
            g = v
        B.xp.multiply(g, self.lr, out=scratch)
        p.data -= scratch                                    # p = p - lr v

    def __repr__(self) -> str:
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, "
                f"weight_decay={self.weight_decay})")


def _adam_arithmetic(m, v, g, scratch, beta1, beta2, step_size, correction, eps) -> None:
    """One Adam step's arithmetic, in place: m and v updated from the gradient g, and the step
    lr m_hat / (sqrt(v_hat) + eps) left in ``scratch`` (all four the same shape);
    step_size = lr / (1 - beta1^t), correction = sqrt(1 - beta2^t)."""
    m *= beta1
    B.xp.multiply(g, 1.0 - beta1, out=scratch)
    m += scratch                                             # m = b1 m + (1 - b1) g
    v *= beta2
    B.xp.multiply(g, g, out=scratch)
    scratch *= 1.0 - beta2
    v += scratch                                             # v = b2 v + (1 - b2) g^2
    B.xp.sqrt(v, out=scratch)
    scratch /= correction
    scratch += eps                                           # sqrt(v_hat) + eps
    B.xp.divide(m, scratch, out=scratch)
    scratch *= step_size


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias correction, as in torch.optim.Adam.

        m = beta1 m + (1 - beta1) g                    (first moment, starts at 0)
        v = beta2 v + (1 - beta2) g^2                  (second moment, starts at 0)
        m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)      (t = step number, from 1)
        p = p - lr m_hat / (sqrt(v_hat) + eps)

    computed as PyTorch does: p -= (lr / (1 - beta1^t)) m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
    The defaults lr = 2e-4, betas = (0.5, 0.999) are DCGAN's (Radford et al., 2015).
    """

    state_names = ("exp_avg", "exp_avg_sq")
    nonnegative_state = ("exp_avg_sq",)

    def __init__(self, params, lr: float = 2e-4, betas=(0.5, 0.999), eps: float = 1e-8,
                 check_finite: bool = True):
        _check_lr("Adam", lr)
        self._set_hyperparameters({"lr": lr, "betas": betas, "eps": eps})
        super().__init__(params, check_finite)

    def hyperparameters(self) -> dict:
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps}

    def _set_hyperparameters(self, hyper: dict) -> None:
        lr, betas = arguments.real(hyper["lr"], "lr", "Adam", 0), hyper["betas"]
        if not isinstance(betas, (tuple, list)):
            raise TypeError(f"Adam: betas must be a pair (beta1, beta2) of numbers in [0, 1), "
                            f"e.g. (0.5, 0.999), got {betas!r} ({type(betas).__name__})")
        if len(betas) != 2:
            raise ValueError(f"Adam: betas must be a pair (beta1, beta2) of numbers in [0, 1), "
                             f"got {len(betas)} value(s): {betas!r}")
        betas = tuple(arguments.real(b, f"betas[{i}]", "Adam", 0, 1, high_open=True)
                      for i, b in enumerate(betas))
        eps = arguments.real(hyper["eps"], "eps", "Adam", 0, low_open=True)
        self.lr, self.betas, self.eps = lr, betas, eps

    def _update(self, i, p, scratch):
        beta1, beta2 = self.betas
        t = self.step_count
        _adam_arithmetic(self.state["exp_avg"][i], self.state["exp_avg_sq"][i], p.grad, scratch,
                         beta1, beta2, self.lr / (1.0 - beta1 ** t),
                         math.sqrt(1.0 - beta2 ** t), self.eps)
        p.data -= scratch                                    # p -= lr m_hat / (sqrt(v_hat) + eps)

    def _update_all(self) -> bool:
        """_update's arithmetic on the flat buffers, block by block (``_blocks``: many small
        parameters at once -- 11 operations for all of them instead of 11 each -- and a large
        one in pieces that stay in the CPU's cache over the 11 passes: measured 25 % faster than
        whole arrays at 1.5M parameters), then the subtraction from each parameter's piece.
        The same arithmetic element by element, so the same numbers as ``_update``."""
        if not self._flat_update_possible():
            return False
        beta1, beta2 = self.betas
        t = self.step_count
        step_size = self.lr / (1.0 - beta1 ** t)
        correction = math.sqrt(1.0 - beta2 ** t)
        for k, blocks in enumerate(self._blocks):
            for start, stop, pieces in blocks:
                self._adam_block(k, start, stop, beta1, beta2, step_size, correction)
                for i, a, b, step in pieces:
                    p = self.params[i]
                    if b - a == p.data.size:
                        p.data -= step                   # the whole parameter (step: its shape)
                    else:
                        p.data.reshape(-1)[a:b] -= step  # a piece of a large one
        return True

    def _adam_block(self, k, start, stop, beta1, beta2, step_size, correction) -> None:
        """m, v and the step (into the scratch) for elements start:stop of dtype group k."""
        _adam_arithmetic(self.flat_state["exp_avg"][k][start:stop],
                         self.flat_state["exp_avg_sq"][k][start:stop],
                         self._flat_grads[k][start:stop], self._flat_scratch[k][start:stop],
                         beta1, beta2, step_size, correction, self.eps)

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps})"


class ClippedAdam(Adam):
    """Adam, then every parameter clipped to [-clip, clip]: WGAN's crude Lipschitz bound.

    Arjovsky et al. (2017) clip the critic's weights after each update so that the critic stays
    K-Lipschitz for some K. Training calls ``step()`` only, so the clipping lives here.
    """

    def __init__(self, params, clip: float, **kwargs):
        super().__init__(params, **kwargs)
        if isinstance(clip, bool) or not isinstance(clip, (int, float)) or not (
                math.isfinite(clip) and clip > 0):
            raise ValueError(f"ClippedAdam: clip must be a positive finite number, got {clip!r}")
        self.clip = float(clip)

    def step(self) -> None:
        super().step()
        for p in self.params:
            B.xp.clip(p.data, -self.clip, self.clip, out=p.data)

    def __repr__(self) -> str:
        return f"ClippedAdam(lr={self.lr}, betas={self.betas}, clip={self.clip})"
