"""Conditioning by concatenation: how a conditional GAN (Mirza & Osindero, 2014) feeds the label.

Both players stay ordinary one-input Modules. The generator gets [z, onehot(y)]
(N, latent_dim + K); the discriminator gets the image with K extra channels, channel k filled
with 1 where y = k and 0 elsewhere (N, C + K, H, W). The gradient D.backward returns for that
input has the same C + K channels; the first C are dL/d(image), the part G.backward needs.

    one_hot(labels, K)               (N,) integers -> (N, K)
    condition_noise(z, labels, K)    z (N, d) -> (N, d + K)
    condition_images(x, labels, K)   x (N, C, H, W) -> (N, C + K, H, W)
    image_gradient(grad_input, C)    (N, C + K, H, W) -> (N, C, H, W)
"""
from __future__ import annotations

from minigan import backend as B

NUM_CLASSES = 10


def one_hot(labels, num_classes: int = NUM_CLASSES):
    """Integer labels (N,) -> (N, num_classes) in the active float dtype, 1 at each label."""
    labels = B.xp.asarray(labels)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"one_hot: labels must be a 1-D integer array, got shape "
                         f"{tuple(labels.shape)} dtype {labels.dtype}")
    if labels.size:
        B.check((labels.min() >= 0) & (labels.max() < num_classes),
                lambda: ValueError(f"one_hot: labels must lie in [0, {num_classes}), got "
                                   f"{int(labels.min())}..{int(labels.max())}"))
    out = B.xp.zeros((labels.shape[0], num_classes), dtype=B.dtype())
    out[B.xp.arange(labels.shape[0]), labels] = 1
    return out


def condition_noise(z, labels, num_classes: int = NUM_CLASSES):
    """The conditional generator's input: [z, onehot(y)].  z (N, d), labels (N,) -> (N, d + K)."""
    return B.xp.concatenate([z, one_hot(labels, num_classes).astype(z.dtype, copy=False)], axis=1)


def condition_images(x, labels, num_classes: int = NUM_CLASSES):
    """The conditional discriminator's input: the image plus one constant map per class.

    x (N, C, H, W), labels (N,) -> (N, C + K, H, W); channel C + k is 1 where y = k, else 0.
    """
    n, c, h, w = x.shape
    out = B.xp.zeros((n, c + num_classes, h, w), dtype=x.dtype)
    out[:, :c] = x
    out[:, c:] = one_hot(labels, num_classes).astype(x.dtype, copy=False)[:, :, None, None]
    return out


def image_gradient(grad_input, image_channels: int = 1):
    """dL/d(conditional D input) (N, C + K, H, W) -> dL/d(image) (N, C, H, W): first C channels."""
    return grad_input[:, :image_channels]
