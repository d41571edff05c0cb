"""The documents' section-4 code as written, rebuilt in minigan so that chapter 4 can run it.

* ``document_001_generator``: document 001's DCGAN generator (4x4 -> 8x8 -> 16x16: its images
  are 16x16, not MNIST's 28x28).
* ``document_004_generator``: document 004's generator (three ConvTranspose + BatchNorm +
  LeakyReLU applied to z as a (100, 1, 1) map: 8x8 images, unbounded, no tanh).
* ``KerasBCEOnRawOutputs``: document 002's ``binary_crossentropy`` on D's raw outputs (Keras
  clips them to [1e-7, 1 - 1e-7], and the clip has zero gradient outside).
* ``LabelFreeLoss``: document 001's "loss" mean D(G(z)) + mean D(x), with no labels.

The two losses follow minigan.losses.Objective's interface (d_loss -> (value, grad_real,
grad_fake), g_loss -> (value, grad_fake)), with D's outputs in place of its logits.
"""
from __future__ import annotations

from minigan import backend as B
from minigan.nn import (BatchNorm2d, ConvTranspose2d, Dense, LeakyReLU, ReLU, Reshape,
                        Sequential, Tanh)


def document_001_generator(latent_dim: int = 100):
    """Document 001 §4's generator in minigan layers: z (N, latent_dim) -> (N, 1, 16, 16),
    4x4 -> 8x8 -> 16x16 (k=4, s=2, 'same').

    Its last layer is a stride-1 'same' transposed convolution; Keras pads a 4-wide kernel
    asymmetrically there, which symmetric padding cannot express, so a 3-wide kernel stands in
    for it: either way it keeps the size at 16x16.
    """
    return Sequential(Dense(latent_dim, 4 * 4 * 256), ReLU(), Dense(4 * 4 * 256, 4 * 4 * 128),
                      ReLU(), Dense(4 * 4 * 128, 4 * 4 * 64), ReLU(), Reshape(64, 4, 4),
                      ConvTranspose2d(64, 128, 4, stride=2, padding=1), BatchNorm2d(128), ReLU(),
                      ConvTranspose2d(128, 256, 4, stride=2, padding=1), BatchNorm2d(256), ReLU(),
                      ConvTranspose2d(256, 1, 3, stride=1, padding=1), Tanh())


def document_004_generator(latent_dim: int = 100):
    """Document 004 §4.1's generator: z (N, latent_dim) -> (N, 1, 8, 8), three
    ConvTranspose(4, 2, 'same') + BatchNorm + LeakyReLU.

    It is applied to z directly; as a (latent_dim, 1, 1) map that gives 2x2 -> 4x4 -> 8x8, and
    the last block ends in BatchNorm + LeakyReLU(0.2), not tanh.
    """
    return Sequential(Reshape(latent_dim, 1, 1),
                      ConvTranspose2d(latent_dim, 256, 4, stride=2, padding=1), BatchNorm2d(256),
                      LeakyReLU(0.2),
                      ConvTranspose2d(256, 128, 4, stride=2, padding=1), BatchNorm2d(128),
                      LeakyReLU(0.2),
                      ConvTranspose2d(128, 1, 4, stride=2, padding=1), BatchNorm2d(1),
                      LeakyReLU(0.2))


class KerasBCEOnRawOutputs:
    """Document 002 §4: ``binary_crossentropy(targets, outputs)`` on D's raw outputs o (N, 1).

    Keras computes p = clip(o, eps, 1 - eps), eps = 1e-7, and -[t log p + (1 - t) log(1 - p)];
    the gradient passes the clip only where eps < o < 1 - eps and is exactly 0 elsewhere.
    """

    name = "bce-on-raw-outputs"
    EPS = 1e-7

    def _bce(self, outputs, target: float):
        p = B.xp.clip(outputs, self.EPS, 1 - self.EPS)
        value = -(target * B.xp.log(p) + (1 - target) * B.xp.log(1 - p)).mean()
        inside = ((outputs > self.EPS) & (outputs < 1 - self.EPS)).astype(outputs.dtype)
        grad = (p - target) / (p * (1 - p))                          # d/dp of the BCE
        grad *= inside / outputs.size
        return value, grad

    def d_loss(self, real_outputs, fake_outputs):
        """-> (value, dL/d real_outputs, dL/d fake_outputs)"""
        real_value, grad_real = self._bce(real_outputs, 1.0)
        fake_value, grad_fake = self._bce(fake_outputs, 0.0)
        return real_value + fake_value, grad_real, grad_fake

    def g_loss(self, fake_outputs):
        """-> (value, dL/d fake_outputs)"""
        return self._bce(fake_outputs, 1.0)


class LabelFreeLoss:
    """Document 001 §4: D's loss mean D(G(z)) + mean D(x), G's loss -mean D(G(z)).

    D(x) is the output of D's final sigmoid (its last layer is Dense(1, sigmoid)), so this loss
    works on probabilities o in (0, 1): every output has gradient 1/n for D, -1/n for G.
    """

    name = "label-free"

    def d_loss(self, real_outputs, fake_outputs):
        """-> (value, dL/d real_outputs, dL/d fake_outputs)"""
        value = fake_outputs.mean() + real_outputs.mean()
        return (value, B.xp.full_like(real_outputs, 1.0 / real_outputs.size),
                B.xp.full_like(fake_outputs, 1.0 / fake_outputs.size))

    def g_loss(self, fake_outputs):
        """-> (value, dL/d fake_outputs)"""
        return -fake_outputs.mean(), B.xp.full_like(fake_outputs, -1.0 / fake_outputs.size)
