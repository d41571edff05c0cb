"""The projection discriminator (Miyato & Koyama, 2018): the label enters D's output by an inner
product with the image's features, not as extra input channels.

    logit(x, y) = w . phi(x) + b  +  v_y . phi(x)          phi: a feature Module, (N, F)

where v_y is row y of a learned class embedding V (K, F). The first term asks "is x a real
image?", the second "is x a real image *of class y*?": a sample drawn as the wrong digit is
rejected through the second term, which concatenating the label to D's input leaves D to find.

The input is a conditional GAN's discriminator input as minigan.conditioning builds it: the
image and K constant label maps, (N, C + K, H, W); the label is read off the maps (their value
at pixel (0, 0) is onehot(y)). So a Projection drops in wherever a concatenation discriminator
was, and GAN needs no change.

Backward, with g = dL/dlogit (N, 1), h = phi(image), e = onehot(y) V = v_y:

    dL/dw = h^T g,  dL/db = sum g                  (the Dense head)
    dL/dV = onehot(y)^T (g * h)                    (each class row from its own samples)
    dL/dh = g w^T + g * e                          -> phi.backward -> dL/d(image)
    dL/d(label maps) = 0                           (the labels are data, not a function of G)
"""
from __future__ import annotations

from minigan import arguments
from minigan import backend as B
from minigan.nn.dense import Dense
from minigan.nn.module import Module, Parameter


class Projection(Module):
    """(N, C + K, H, W) image and label maps -> logits (N, 1) = w.phi(x) + b + v_y.phi(x).

    features: a Module mapping (N, C, H, W) images to (N, num_features); image_channels: C;
    num_classes: K. The embedding V (K, num_features) starts at N(0, 0.02^2) (DCGAN's
    initialisation) and the head Dense(num_features, 1) as Dense does.
    """

    def __init__(self, features: Module, num_features: int, num_classes: int,
                 image_channels: int = 1):
        super().__init__()
        if not isinstance(features, Module):
            raise TypeError(f"Projection: features must be a minigan Module, got "
                            f"{type(features).__name__}")
        self.num_features = arguments.integer(num_features, "num_features", "Projection", 1)
        self.num_classes = arguments.integer(num_classes, "num_classes", "Projection", 1)
        self.image_channels = arguments.integer(image_channels, "image_channels", "Projection", 1)
        self.features = features
        self.head = Dense(num_features, 1)
        self.V = Parameter(0.02 * B.randn(num_classes, num_features))
        self.cache = None

    def forward(self, x):
        c, k = self.image_channels, self.num_classes
        self._check_input(x, (None, c + k, None, None))
        onehot = x[:, c:, 0, 0]                                   # (N, K): the label maps' value
        h = self.features.forward(x[:, :c])                       # (N, F)
        if h.ndim != 2 or h.shape[1] != self.num_features:
            raise ValueError(f"Projection: features gave shape {tuple(h.shape)}, expected "
                             f"(N, {self.num_features}); end them with Flatten")
        embedded = onehot @ self.V.data                           # (N, F): v_y
        logits = self.head.forward(h) + (h * embedded).sum(axis=1, keepdims=True)
        self.cache = (x.shape, onehot, h, embedded)
        return self._output(logits)

    def backward(self, dy):
        self._check_dy(dy)
        shape, onehot, h, embedded = self.cache
        dh = self.head.backward(dy)                             # g w^T, and dw, db
        dh += dy * embedded                                     # + g * v_y
        self.V.grad += onehot.T @ (dy * h)                      # (K, F)
        dx = B.xp.zeros(shape, dtype=dy.dtype)
        dx[:, :self.image_channels] = self.features.backward(dh)
        return dx

    # -- second-order pass (gradient penalties, see Module.second_backward) ---------------------
    def input_gradient(self, dout):
        """dout: (N, 1) -> dL/dx: (N, C + K, H, W), zero on the label maps; no parameter
        gradient. Caches dout."""
        self._keep_dy(dout)
        shape, onehot, h, embedded = self.cache
        dh = self.head.input_gradient(dout)                       # g w^T
        dh += dout * embedded                                     # + g * v_y
        dx = B.xp.zeros(shape, dtype=dout.dtype)
        dx[:, :self.image_channels] = self.features.input_gradient(dh)
        return self._grad_input(dx)

    def second_backward(self, grad_dx):
        """grad_dx = dP/d(dx): (N, C + K, H, W) -> (dP/d(dout): (N, 1), dP/dx or None).

        dx = [phi.B(dh), 0] with dh = g w^T + g * e (g = dout, e = onehot(y) V): dh does not
        depend on the image, only on g, w and V. With v = grad_dx's image channels:

            (dP/d(dh), a) = phi.second_backward(v)      a: dP/d(image) through phi's backward
            dP/dw   += dP/d(dh)^T g                   dP/d(g) from the head = dP/d(dh) w
            dP/dV   += onehot(y)^T (g * dP/d(dh))     dP/d(g) += sum_F dP/d(dh) * e
            dP/db = 0; the label maps' gradient is 0 (they are data)
        """
        self._check_grad_dx(grad_dx)
        shape, onehot, h, embedded = self.cache
        grad_dh, grad_image = self.features.second_backward(grad_dx[:, :self.image_channels])
        grad_dout, _ = self.head.second_backward(grad_dh)                       # (N, 1)
        grad_dout += (grad_dh * embedded).sum(axis=1, keepdims=True)
        self.V.grad += onehot.T @ (self.dy * grad_dh)                           # (K, F)
        if grad_image is None:
            return grad_dout, None
        grad_x = B.xp.zeros(shape, dtype=grad_dx.dtype)
        grad_x[:, :self.image_channels] = grad_image
        return grad_dout, grad_x

    def __repr__(self) -> str:
        return (f"Projection(num_features={self.num_features}, num_classes={self.num_classes}, "
                f"image_channels={self.image_channels})")
