"""2D convolution and transposed convolution, written once on one im2col / col2im pair.

A convolution (cross-correlation, as in every deep-learning library) of x: (N, C_in, H, W) with
W: (C_out, C_in, KH, KW), stride s and zero padding p is

    y[n, o, i, j] = sum_{c, u, v} W[o, c, u, v] * x_pad[n, c, s*i + u, s*j + v]
    OH = (H + 2p - KH) // s + 1,   OW = (W + 2p - KW) // s + 1

im2col turns it into one matrix product. Each output position (n, i, j) gets a row holding the
KH*KW*C_in input values under the kernel there:

    cols: (N*OH*OW, KH*KW*C_in)     Wmat: (KH*KW*C_in, C_out)     y = cols @ Wmat: (N*OH*OW, C_out)

The backward pass is two more products with the same matrices (upstream gradient dy as the
(N*OH*OW, C_out) matrix dY):

    dL/dWmat = cols^T @ dY                                  conv2d_grad_weight
    dL/dcols = dY @ Wmat^T,  then col2im adds every row      conv2d_grad_input
               back onto the input pixels it was copied from

col2im is the adjoint of im2col: where windows overlap, their gradients add up. It is KH*KW
strided ``+=`` (one per kernel offset) into a zeroed, padded buffer -- minigan runs the same
KH*KW passes stride phase by stride phase, which needs no padded buffer and, where an offset
covers a phase whole, no zeros (see ``col2im``).

**Transposed convolution.** ConvTranspose2d's forward *is* conv2d_grad_input (it spreads every
input pixel over a KH x KW patch of the larger output, overlaps adding up) and its input gradient
*is* conv2d; its weight gradient is conv2d_grad_weight with the roles of input and output
swapped. All three are derived from the same three primitives below.

**Layout.** The interface is NCHW with PyTorch's weight layouts. Inside, activations are
channels-last (NHWC): an im2col row is then KH*KW contiguous runs of C_in values, and the
products' (N*OH*OW, C) results are NHWC already; col2im adds runs of C contiguous values.
Measured at DCGAN sizes (batch 64, 2 cores), the im2col copy was ~6x and a whole forward +
backward of the 64->128 convolution and the 128->64 transposed one 2-3x faster than the same
code channels-first. Outputs are returned as (N, C, H, W)-shaped views of channels-last memory
(``y.transpose(0, 3, 1, 2)`` of an NHWC array, like PyTorch's ``channels_last`` format): shapes
and values are exactly NCHW, only the strides differ, and a following convolution reads them
without a copy. Any memory layout is accepted as input.

**Scratch.** The layers keep their im2col and dcols matrices and padded input from one call to
the next (``Scratch``): a fresh array of a few MB costs page faults every time.

**Measured and dropped** (a DCGAN step, batch 64): the input gradient as one stride-1
convolution over the s*s stride phases of the kernel (no col2im, but 31 % more multiplications
at k=4, s=2 on 7x7 maps; the same step time on one core as dcols + col2im by phases); dcols and
its col2im in chunks of the batch that stay in the L2 cache (no gain on one core); im2col's
copies and LeakyReLU's passes split over two threads beside two-threaded BLAS (2-4 % slower).
"""
from __future__ import annotations

from minigan import backend as B
from minigan.nn.init import make_weight, zeros
from minigan.nn.module import Module, Parameter


def _pair(value, name: str) -> tuple:
    """An int or an (a, b) pair of ints -> (a, b)."""
    pair = ((value, value) if isinstance(value, int) else
            tuple(value) if isinstance(value, (tuple, list)) else None)
    if pair is None or len(pair) != 2 or not all(isinstance(v, int) and not isinstance(v, bool)
                                                 for v in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return pair


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of a convolution along one axis: (size + 2*padding - kernel) // stride + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def _channels_last(x):
    """(N, C, H, W) -> (N, H, W, C) view (contiguous when x is channels-last memory)."""
    return x.transpose(0, 2, 3, 1)


def to_channels_last(a):
    """(N, C, H, W) -> the same values as an (N, C, H, W) view of channels-last memory.

    Returns ``a`` itself when it already is one (then ``_as_rows(a)`` is free), else one copy.
    """
    if _channels_last(a).flags.c_contiguous:
        return a
    return B.xp.ascontiguousarray(_channels_last(a)).transpose(0, 3, 1, 2)


def _as_rows(a):
    """(N, C, H, W) -> (N*H*W, C) channels-last matrix (a view when a is channels-last memory)."""
    n, c, h, w = a.shape
    return _channels_last(a).reshape(n * h * w, c)


def _weight_matrix(W):
    """Conv weights (C_out, C_in, KH, KW) -> (KH*KW*C_in, C_out), rows in im2col column order."""
    c_out = W.shape[0]
    return W.transpose(2, 3, 1, 0).reshape(-1, c_out)


class Scratch:
    """Arrays a layer reuses from one call to the next, by name.

    A fresh array of a few MB costs page faults on every call (measured in a DCGAN step: 0.5
    of the 3.3 ms of an im2col); a layer keeps its im2col and dcols matrices and its padded
    input here instead.
    ``get`` returns the same array while the shape and dtype stay the same; a ``zeroed`` one
    is zero when allocated, and its callers only ever write its interior (padding stays zero).
    """

    def __init__(self):
        self.arrays = {}

    def get(self, name: str, shape: tuple, dtype, zeroed: bool = False):
        a = self.arrays.get(name)
        if a is None or a.shape != shape or a.dtype != dtype or not B.is_array(a):
            a = (B.xp.zeros if zeroed else B.xp.empty)(shape, dtype=dtype)
            self.arrays[name] = a
        return a


def _fresh(name, shape, dtype, zeroed=False):
    """Scratch.get's signature, a new array every time (the primitives' default)."""
    return (B.xp.zeros if zeroed else B.xp.empty)(shape, dtype=dtype)


def im2col(x, kernel_size, stride=1, padding=0):
    """Copy every receptive field of x into one row of a matrix.

    x: (N, C, H, W), any memory layout -> cols: (N*OH*OW, KH*KW*C); row (n, i, j) holds
    x_pad[n, :, s*i:s*i+KH, s*j:s*j+KW] ordered (u, v, c), c fastest.
    One copy into a padded channels-last buffer (skipped when there is no padding and x already
    is channels-last), then a strided view of every window (``as_strided``: unlike CuPy's
    ``sliding_window_view`` it neither copies nor syncs) and one copy of the windows.
    """
    return _im2col(x, kernel_size, stride, padding, _fresh)


def _im2col(x, kernel_size, stride, padding, get):
    """im2col with its padded buffer and result from ``get`` (``Scratch.get`` or ``_fresh``)."""
    (kh, kw), (sh, sw), (ph, pw) = (_pair(kernel_size, "kernel_size"), _pair(stride, "stride"),
                                    _pair(padding, "padding"))
    n, c, h, w = x.shape
    oh, ow = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    if oh < 1 or ow < 1:
        raise ValueError(f"im2col: padded input {h + 2 * ph}x{w + 2 * pw} is smaller than the "
                         f"kernel {kh}x{kw}")
    if ph == 0 and pw == 0:
        x_pad = _channels_last(x)                                     # (N, H, W, C) view
    else:
        x_pad = get("x_pad", (n, h + 2 * ph, w + 2 * pw, c), x.dtype, zeroed=True)
        x_pad[:, ph:ph + h, pw:pw + w, :] = _channels_last(x)         # (N, Hp, Wp, C)
    step_n, step_h, step_w, step_c = x_pad.strides                    # bytes
    windows = B.xp.lib.stride_tricks.as_strided(                      # (N, OH, OW, KH, KW, C) view
        x_pad, shape=(n, oh, ow, kh, kw, c),
        strides=(step_n, sh * step_h, sw * step_w, step_h, step_w, step_c))
    cols = get("cols", (n * oh * ow, kh * kw * c), x.dtype)
    cols.reshape(n, oh, ow, kh, kw, c)[...] = windows                 # the copy
    return cols


def col2im(cols, input_shape, kernel_size, stride=1, padding=0):
    """Adjoint of im2col: add every row of cols back onto the input pixels it came from.

    cols: (N*OH*OW, KH*KW*C) in im2col's order -> (N, C, H, W) (a view of channels-last memory).
    Kernel offset (u, v) of output position (i, j) lands on input pixel (s*i + u - p, s*j + v - p)
    (when inside the image); where windows overlap, their values add up. The textbook form is
    KH*KW strided ``+=`` into a zeroed, padded buffer, one per kernel offset. Here the same
    KH*KW strided passes go stride phase by stride phase, writing only real pixels:

    offset u only reaches the input rows y = u - p (mod s): the rows of one stride phase,
    r = (u - p) mod s (likewise v along W). Each phase (r, q) of the result -- rows r, r+s, ...,
    columns q, q+s, ... -- is the sum of its offsets' slices: one offset whose slice covers the
    whole phase is copied in (``=``), the others are added (``+=``); a phase that no offset
    covers whole is zeroed first. Example, k=4, s=2, p=1, H=28: offsets u=1 and u=3 reach phase
    0; u=1 covers all of it (rows 0, 2, ..., 26), u=3 only rows 2 ... 26 (its first window
    starts in the padding). With even H and W every phase of that geometry has a covering
    offset and nothing is zeroed.
    """
    (kh, kw), (sh, sw), (ph, pw) = (_pair(kernel_size, "kernel_size"), _pair(stride, "stride"),
                                    _pair(padding, "padding"))
    n, c, h, w = input_shape
    oh, ow = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    if cols.shape != (n * oh * ow, kh * kw * c):
        raise ValueError(f"col2im: cols has shape {tuple(cols.shape)}, expected "
                         f"{(n * oh * ow, kh * kw * c)} for input {tuple(input_shape)}")
    patches = cols.reshape(n, oh, ow, kh, kw, c)
    rows = [_Reach(u, oh, h, sh, ph) for u in range(kh)]         # where offset u lands in H
    columns = [_Reach(v, ow, w, sw, pw) for v in range(kw)]      # ... and offset v in W
    dx = B.xp.empty((n, h, w, c), dtype=cols.dtype)                 # (N, H, W, C)
    for r in range(sh):
        for q in range(sw):
            phase = dx[:, r::sh, q::sw, :]           # (N, rows of phase r, columns of phase q, C)
            offsets = [(u, v) for u in range(kh) if rows[u].phase == r
                       for v in range(kw) if columns[v].phase == q]
            whole = next(((u, v) for u, v in offsets if rows[u].covers(phase.shape[1])
                          and columns[v].covers(phase.shape[2])), None)
            if whole is None:
                phase[...] = 0
            else:
                offsets.remove(whole)
                u, v = whole
                phase[...] = patches[:, rows[u].source, columns[v].source, u, v, :]
            for u, v in offsets:
                phase[:, rows[u].target, columns[v].target, :] += \
                    patches[:, rows[u].source, columns[v].source, u, v, :]
    return dx.transpose(0, 3, 1, 2)


class _Reach:
    """Where kernel offset u lands along one axis of length ``size`` (output length ``out``).

    Output positions i in ``source`` put offset u onto input rows y = stride*i + u - padding
    (those with 0 <= y < size), all in one stride phase, y mod stride = ``phase``, at its
    positions ``target`` (y = phase + stride*position).
    """

    def __init__(self, u, out, size, stride, padding):
        i0 = max(0, -((u - padding) // stride))                    # first i with y >= 0
        i1 = max(i0, min(out, (size - 1 - u + padding) // stride + 1))   # past the last y < size
        self.phase = (u - padding) % stride
        first = (stride * i0 + u - padding - self.phase) // stride
        self.source = slice(i0, i1)
        self.target = slice(first, first + i1 - i0)

    def covers(self, phase_size: int) -> bool:
        """True when the offset reaches every position of its phase."""
        return self.target == slice(0, phase_size)


def conv2d(x, W, stride=1, padding=0, cols=None):
    """y = x (*) W, no bias.   x: (N, C_in, H, W), W: (C_out, C_in, KH, KW) -> y: (N, C_out, OH, OW)

    ``cols``: im2col(x, ...) if the caller already has it (a layer caches it for backward).
    """
    n, c_in, h, w = x.shape
    c_out, w_in, kh, kw = W.shape
    if c_in != w_in:
        raise ValueError(f"conv2d: x has {c_in} channels but W {tuple(W.shape)} expects {w_in}")
    (sh, sw), (ph, pw) = _pair(stride, "stride"), _pair(padding, "padding")
    if cols is None:
        cols = im2col(x, (kh, kw), (sh, sw), (ph, pw))
    y = cols @ _weight_matrix(W)                          # (N*OH*OW, KH*KW*C_in) @ (., C_out)
    oh, ow = conv_output_size(h, kh, sh, ph), conv_output_size(w, kw, sw, pw)
    return y.reshape(n, oh, ow, c_out).transpose(0, 3, 1, 2)


def conv2d_grad_input(dy, W, input_shape, stride=1, padding=0):
    """dL/dx of y = conv2d(x, W).   dy: (N, C_out, OH, OW), W: (C_out, C_in, KH, KW) -> dx: x.shape

    input_shape = x.shape; it fixes H and W, which the output size alone does not when stride > 1.
    The adjoint of the forward product: dcols = dY @ Wmat^T, then col2im.
    """
    return _conv2d_grad_input(dy, W, input_shape, stride, padding, _fresh)


def _conv2d_grad_input(dy, W, input_shape, stride, padding, get):
    """conv2d_grad_input with its dcols matrix from ``get`` (the result is always new)."""
    c_out, c_in, kh, kw = W.shape
    if dy.shape[1] != c_out:
        raise ValueError(f"conv2d_grad_input: dy has {dy.shape[1]} channels but W "
                         f"{tuple(W.shape)} has {c_out} outputs")
    dY = _as_rows(dy)                                              # (N*OH*OW, C_out)
    dcols = get("dcols", (dY.shape[0], kh * kw * c_in), B.xp.result_type(dY.dtype, W.dtype))
    B.xp.matmul(dY, _weight_matrix(W).T, out=dcols)                # (N*OH*OW, KH*KW*C_in)
    return col2im(dcols, input_shape, (kh, kw), stride, padding)


def conv2d_grad_weight(x, dy, kernel_shape, stride=1, padding=0, cols=None):
    """dL/dW of y = conv2d(x, W).   x: (N, C_in, H, W), dy: (N, C_out, OH, OW) -> dW: W.shape

    W.shape = (C_out, C_in, KH, KW); kernel_shape = (KH, KW). ``cols``: im2col(x, ...) if the
    caller already has it. The result is a view of a (KH, KW, C_in, C_out) array.
    """
    kh, kw = _pair(kernel_shape, "kernel_shape")
    c_in, c_out = x.shape[1], dy.shape[1]
    if cols is None:
        cols = im2col(x, (kh, kw), stride, padding)
    dw = cols.T @ _as_rows(dy)                            # (KH*KW*C_in, N*OH*OW) @ (., C_out)
    return dw.reshape(kh, kw, c_in, c_out).transpose(3, 2, 0, 1)


# ---------------------------------------------------------------------------------------------
# Layers

class _ConvBase(Module):
    """Shared construction and description of Conv2d and ConvTranspose2d."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, bias, init,
                 weight_shape):
        super().__init__()
        name = type(self).__name__
        for arg, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: {arg} must be a positive int, got {value!r}")
        try:
            self.kernel_size = _pair(kernel_size, "kernel_size")
            self.stride = _pair(stride, "stride")
            self.padding = _pair(padding, "padding")
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(f"{name}: need kernel_size >= 1, stride >= 1, padding >= 0, got "
                             f"kernel_size={kernel_size!r}, stride={stride!r}, padding={padding!r}")
        if not isinstance(bias, bool):
            raise TypeError(f"{name}: bias must be True or False, got {bias!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        kh, kw = self.kernel_size
        self.W = Parameter(make_weight(init, weight_shape, fan_in=in_channels * kh * kw,
                                       fan_out=out_channels * kh * kw))
        self.b = Parameter(zeros((out_channels,))) if bias else None
        self.x = None                                   # cached input for backward
        self.scratch = Scratch()                        # im2col, dcols, padded input

    def _add_bias(self, y):
        if self.b is not None:
            y += self.b.data.reshape(1, -1, 1, 1)

    def _bias_grad(self, dy):
        if self.b is not None:
            self.b.grad += dy.sum(axis=(0, 2, 3))        # (C_out,)

    def __repr__(self) -> str:
        def show(pair):
            return str(pair[0]) if pair[0] == pair[1] else str(pair)
        return (f"{type(self).__name__}({self.in_channels}->{self.out_channels}, "
                f"k={show(self.kernel_size)}, s={show(self.stride)}, p={show(self.padding)}"
                + self._extra_repr() + ")")

    def _extra_repr(self) -> str:
        return ""


class Conv2d(_ConvBase):
    """2D convolution.   x: (N, in_channels, H, W) -> y: (N, out_channels, OH, OW)

    OH = (H + 2*padding - kh) // stride + 1 (likewise OW). W: (out_channels, in_channels, kh, kw)
    initialised by ``init`` ('glorot', 'he' or 'dcgan'), fan_in = in_channels*kh*kw,
    fan_out = out_channels*kh*kw; b: (out_channels,), zeros. kernel_size, stride and padding
    are ints or (h, w) pairs. Caches the im2col matrix of x for backward.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 bias: bool = True, init: str = "glorot"):
        kh, kw = _pair(kernel_size, "Conv2d: kernel_size")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias, init,
                         weight_shape=(out_channels, in_channels, kh, kw))
        self.cols = None                                # cached im2col(x): (N*OH*OW, kh*kw*C_in)

    def forward(self, x):
        """x: (N, in_channels, H, W) -> (N, out_channels, OH, OW)"""
        self._check_input(x, (None, self.in_channels, None, None))
        h, w = x.shape[2:]
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        if h + 2 * ph < kh or w + 2 * pw < kw:
            raise ValueError(f"{self!r}: padded input {h + 2 * ph}x{w + 2 * pw} (input "
                             f"{tuple(x.shape)}) is smaller than the kernel {kh}x{kw}")
        self.x = x
        self.cols = _im2col(x, self.kernel_size, self.stride, self.padding, self.scratch.get)
        y = conv2d(x, self.W.data, self.stride, self.padding, cols=self.cols)
        self._add_bias(y)
        return self._output(y)

    def backward(self, dy):
        """dy: (N, out_channels, OH, OW) -> dL/dx: (N, in_channels, H, W).

        Adds into W.grad and b.grad.
        """
        dy = self._add_parameter_grads(dy)
        return _conv2d_grad_input(dy, self.W.data, self.x.shape, self.stride, self.padding,
                                  self.scratch.get)

    def parameter_backward(self, dy):
        """backward(dy) without dL/dx: adds into W.grad and b.grad only; returns None."""
        self._add_parameter_grads(dy)

    def _add_parameter_grads(self, dy):
        """Add dL/dW and dL/db into .grad; returns dy channels-last, as backward reads it."""
        self._check_dy(dy)
        dy = to_channels_last(dy)                       # one copy at most, read twice as rows
        self.W.grad += conv2d_grad_weight(self.x, dy, self.kernel_size, self.stride,
                                          self.padding, cols=self.cols)
        self._bias_grad(dy)
        return dy

    # -- second-order pass (gradient penalties, see Module.second_backward) ---------------------
    def input_gradient(self, dy):
        """dy: (N, out_channels, OH, OW) -> dL/dx = conv2d_grad_input(dy, W): (N, in_channels,
        H, W); no parameter gradient. Caches dy."""
        self._keep_dy(dy)
        return self._grad_input(conv2d_grad_input(dy, self.W.data, self.x.shape, self.stride,
                                                  self.padding))

    def second_backward(self, grad_dx):
        """grad_dx = dP/d(dx): (N, in_channels, H, W) -> (dP/d(dy): (N, out_channels, OH, OW),
        None).

        dx = conv2d_grad_input(dy, W) is bilinear in (dy, W) and independent of x and b. It is
        the adjoint of the convolution: <v, conv2d_grad_input(dy, W)> = <conv2d(v, W), dy> for
        every v shaped like x. With v = grad_dx, that one scalar is

            sum_{n,o,i,j} dy[n, o, i, j] sum_{c,u,w} W[o, c, u, w] v_pad[n, c, s i + u, s j + w]

        so  dP/d(dy) = conv2d(v, W)                  v convolved like an input, no bias
            dP/dW   += conv2d_grad_weight(v, dy)     v in the input's place, dy in dL/dy's
            dP/db = 0,  dP/dx = 0 (through dx)
        """
        self._check_grad_dx(grad_dx)
        self.W.grad += conv2d_grad_weight(grad_dx, self.dy, self.kernel_size, self.stride,
                                          self.padding)
        return conv2d(grad_dx, self.W.data, self.stride, self.padding), None


class ConvTranspose2d(_ConvBase):
    """2D transposed convolution (the adjoint of Conv2d; "fractionally strided" convolution).

    x: (N, in_channels, H, W) -> y: (N, out_channels, H_out, W_out) with (PyTorch's rule)

        H_out = (H - 1)*stride - 2*padding + kh + output_padding          (likewise W_out)

    output_padding (< stride) picks one of the ``stride`` output sizes that a Conv2d with the
    same kernel, stride and padding maps back to H. W: (in_channels, out_channels, kh, kw), as
    in PyTorch: it is the weight of the Conv2d(out_channels -> in_channels) this layer is the
    adjoint of. fan_in = in_channels*kh*kw, fan_out = out_channels*kh*kw; b: (out_channels,).

        forward   y  = conv2d_grad_input(x, W, ...)     (x plays the convolution's dL/dy)
        backward  dx = conv2d(dy, W, ...)
                  dW = conv2d_grad_weight(dy, x, ...)  (dy plays the convolution's input)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, bias: bool = True, init: str = "glorot"):
        kh, kw = _pair(kernel_size, "ConvTranspose2d: kernel_size")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias, init,
                         weight_shape=(in_channels, out_channels, kh, kw))
        try:
            self.output_padding = _pair(output_padding, "output_padding")
        except ValueError as e:
            raise ValueError(f"ConvTranspose2d: {e}") from None
        if any(not 0 <= op < s for op, s in zip(self.output_padding, self.stride)):
            raise ValueError(f"ConvTranspose2d: output_padding must satisfy 0 <= output_padding "
                             f"< stride, got output_padding={output_padding!r}, "
                             f"stride={stride!r}")

    def output_shape(self, input_shape) -> tuple:
        """(N, in_channels, H, W) -> (N, out_channels, H_out, W_out)."""
        n, _, h, w = input_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        oph, opw = self.output_padding
        return (n, self.out_channels, (h - 1) * sh - 2 * ph + kh + oph,
                (w - 1) * sw - 2 * pw + kw + opw)

    def forward(self, x):
        """x: (N, in_channels, H, W) -> (N, out_channels, H_out, W_out)"""
        self._check_input(x, (None, self.in_channels, None, None))
        out_shape = self.output_shape(x.shape)
        if out_shape[2] < 1 or out_shape[3] < 1:
            raise ValueError(f"{self!r}: input {tuple(x.shape)} gives an empty output "
                             f"{out_shape[2]}x{out_shape[3]}; the input is too small for "
                             f"this kernel and padding")
        self.x = x = to_channels_last(x)                # read as a matrix here and in backward
        y = _conv2d_grad_input(x, self.W.data, out_shape, self.stride, self.padding,
                               self.scratch.get)
        self._add_bias(y)
        return self._output(y)

    def backward(self, dy):
        """dy: (N, out_channels, H_out, W_out) -> dL/dx: (N, in_channels, H, W).

        Adds into W.grad and b.grad.
        """
        self._check_dy(dy)
        cols = _im2col(dy, self.kernel_size, self.stride, self.padding,   # shared by dW and dx
                       self.scratch.get)
        self.W.grad += conv2d_grad_weight(dy, self.x, self.kernel_size, self.stride,
                                          self.padding, cols=cols)
        self._bias_grad(dy)
        return conv2d(dy, self.W.data, self.stride, self.padding, cols=cols)

    def _extra_repr(self) -> str:
        op = self.output_padding
        if op == (0, 0):
            return ""
        return f", op={op[0] if op[0] == op[1] else op}"

    # -- second-order pass (gradient penalties, see Module.second_backward) ---------------------
    def input_gradient(self, dy):
        """dy: (N, out_channels, H_out, W_out) -> dL/dx = conv2d(dy, W): (N, in_channels, H, W);
        no parameter gradient. Caches dy."""
        self._keep_dy(dy)
        return self._grad_input(conv2d(dy, self.W.data, self.stride, self.padding))

    def second_backward(self, grad_dx):
        """grad_dx = dP/d(dx): (N, in_channels, H, W) -> (dP/d(dy), None).

        dx = conv2d(dy, W) is bilinear in (dy, W); with v = grad_dx, <v, conv2d(dy, W)> is
        differentiated as a convolution's loss with dL/d(output) = v:

            dP/d(dy) = conv2d_grad_input(v, W)        (dy plays the convolution's input)
            dP/dW   += conv2d_grad_weight(dy, v)
            dP/db = 0,  dP/dx = 0 (through dx)
        """
        self._check_grad_dx(grad_dx)
        self.W.grad += conv2d_grad_weight(self.dy, grad_dx, self.kernel_size, self.stride,
                                          self.padding)
        return conv2d_grad_input(grad_dx, self.W.data, self.dy.shape, self.stride,
                                 self.padding), None
