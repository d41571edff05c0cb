"""The GAN architectures of the documents' code examples, built from minigan's layers.

Every discriminator returns LOGITS (N, 1), with no final sigmoid: the losses in
``minigan.losses`` take logits (D(x) = sigmoid(logit)), which is both stabler and what the
documents' ``from_logits=True`` asks for. Images are (N, 1, 28, 28).

    dense_generator(latent_dim=100)        z (N, 100) -> 256 -> 512 -> 1024 -> 784 -> (N, 1, 28, 28)
    dense_discriminator()                  (N, 1, 28, 28) -> 784 -> 512 -> 256 -> 1
        the fully connected GAN of document 003 (section 4), its sizes kept

    dcgan_generator(latent_dim=100)        z -> Dense -> (128, 7, 7) -> ConvT -> (64, 14, 14)
                                           -> ConvT -> tanh (1, 28, 28)
    dcgan_discriminator()                  Conv (64, 14, 14) -> Conv (128, 7, 7) -> Dense logit
        DCGAN (Radford et al., 2015) at 28x28, as documents 001 and 004 (section 4) sketch it

    conditional_generator(latent_dim=100, num_classes=10)
    conditional_discriminator(num_classes=10)
        a conditional GAN (Mirza & Osindero, 2014): the DCGAN pair, with the label fed to both
        players by concatenation (``minigan.conditioning``)
    projection_discriminator(num_classes=10)
        its discriminator with the label projected onto the image features instead
        (Miyato & Koyama, 2018; ``minigan.nn.Projection``)

How the label reaches the players (concatenation) is ``minigan.conditioning``'s.
"""
from __future__ import annotations

import math

from minigan.conditioning import NUM_CLASSES
from minigan.nn import (BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d, Dense, Dropout,
                        Flatten, LeakyReLU, Projection, ReLU, Reshape, Sequential, Sigmoid, Tanh)
from minigan.nn.init import dcgan_init

IMAGE_SHAPE = (1, 28, 28)
LATENT_DIM = 100


# ---------------------------------------------------------------------------------------------
# 4.1 The dense GAN of document 003

def dense_generator(latent_dim: int = LATENT_DIM, hidden=(256, 512, 1024), output: str = "tanh",
                    batchnorm: bool = True, negative_slope: float = 0.2) -> Sequential:
    """Fully connected generator: z (N, latent_dim) -> images (N, 1, 28, 28).

    Dense -> [BatchNorm1d] -> LeakyReLU(negative_slope) for each size in ``hidden`` (ReLU, as in
    document 003, for negative_slope=0), then Dense(-> 784), the output nonlinearity ('tanh' for
    images in [-1, 1], 'sigmoid' for [0, 1] as in document 003), and a reshape to (1, 28, 28).
    BatchNorm1d and the leaky slope (absent in the document) steady training.
    """
    if output not in ("tanh", "sigmoid"):
        raise ValueError(f"dense_generator: output must be 'tanh' or 'sigmoid', got {output!r}")
    layers, width = [], latent_dim
    for size in hidden:
        layers += [Dense(width, size, init="he")]
        layers += [BatchNorm1d(size)] if batchnorm else []
        layers += [LeakyReLU(negative_slope) if negative_slope else ReLU()]
        width = size
    layers += [Dense(width, math.prod(IMAGE_SHAPE)), Tanh() if output == "tanh" else Sigmoid(),
               Reshape(*IMAGE_SHAPE)]
    return Sequential(*layers)


def dense_discriminator(hidden=(512, 256), in_features: int = math.prod(IMAGE_SHAPE),
                        negative_slope: float = 0.2, dropout: float = 0.3) -> Sequential:
    """Fully connected discriminator: images (N, ...) -> logits (N, 1).

    Flatten, then Dense -> LeakyReLU(negative_slope) -> [Dropout(dropout)] per size in
    ``hidden``, then Dense(-> 1). LeakyReLU instead of the document's ReLU keeps a gradient for
    the generator on both sides of zero; dropout=0 leaves the Dropout layers out.
    """
    layers, width = [Flatten()], in_features
    for size in hidden:
        layers += [Dense(width, size), LeakyReLU(negative_slope)]
        layers += [Dropout(dropout)] if dropout else []
        width = size
    layers += [Dense(width, 1)]
    return Sequential(*layers)


# ---------------------------------------------------------------------------------------------
# 4.2 DCGAN (documents 001 and 004)

def dcgan_generator(latent_dim: int = LATENT_DIM, channels=(128, 64),
                    out_channels: int = 1) -> Sequential:
    """DCGAN generator for 28x28 images: z (N, latent_dim) -> (N, out_channels, 28, 28) in (-1, 1).

        Dense(latent_dim -> c0*7*7) -> Reshape (c0, 7, 7) -> BatchNorm2d -> ReLU
        ConvTranspose2d(c0 -> c1, k=4, s=2, p=1) -> BatchNorm2d -> ReLU       (c1, 14, 14)
        ConvTranspose2d(c1 -> out_channels, k=4, s=2, p=1) -> Tanh            (out, 28, 28)

    Weights N(0, 0.02), BatchNorm scales N(1, 0.02) (``dcgan_init``).
    """
    c0, c1 = channels
    return dcgan_init(Sequential(
        Dense(latent_dim, c0 * 7 * 7), Reshape(c0, 7, 7), BatchNorm2d(c0), ReLU(),
        ConvTranspose2d(c0, c1, kernel_size=4, stride=2, padding=1), BatchNorm2d(c1), ReLU(),
        ConvTranspose2d(c1, out_channels, kernel_size=4, stride=2, padding=1), Tanh(),
    ))


def dcgan_discriminator(in_channels: int = 1, channels=(64, 128), negative_slope: float = 0.2,
                        dropout: float = 0.3, batchnorm: bool = False) -> Sequential:
    """DCGAN discriminator for 28x28 images: (N, in_channels, 28, 28) -> logits (N, 1).

        Conv2d(in -> c0, k=4, s=2, p=1) -> LeakyReLU(0.2) [-> Dropout]            (c0, 14, 14)
        Conv2d(c0 -> c1, k=4, s=2, p=1) [-> BatchNorm2d] -> LeakyReLU(0.2) [-> Dropout]  (c1, 7, 7)
        Flatten -> Dense(c1*7*7 -> 1)

    Dropout(0.3) after each block is document 004's regulariser; batchnorm=True (with
    dropout=0) is DCGAN's. Weights N(0, 0.02).
    """
    c0, c1 = channels
    layers = [Conv2d(in_channels, c0, kernel_size=4, stride=2, padding=1),
              LeakyReLU(negative_slope)]
    layers += [Dropout(dropout)] if dropout else []
    layers += [Conv2d(c0, c1, kernel_size=4, stride=2, padding=1)]
    layers += [BatchNorm2d(c1)] if batchnorm else []
    layers += [LeakyReLU(negative_slope)]
    layers += [Dropout(dropout)] if dropout else []
    layers += [Flatten(), Dense(c1 * 7 * 7, 1)]
    return dcgan_init(Sequential(*layers))


# ---------------------------------------------------------------------------------------------
# 4.4 The conditional GAN

def conditional_generator(latent_dim: int = LATENT_DIM, num_classes: int = NUM_CLASSES,
                          channels=(128, 64)) -> Sequential:
    """The DCGAN generator over [z, onehot(y)]: (N, latent_dim + num_classes) -> (N, 1, 28, 28)."""
    return dcgan_generator(latent_dim + num_classes, channels)


def projection_discriminator(num_classes: int = NUM_CLASSES, channels=(64, 128),
                             dropout: float = 0.3) -> Projection:
    """The DCGAN discriminator's convolutions as the features of a projection discriminator
    (Miyato & Koyama, 2018): (N, 1 + num_classes, 28, 28) image and label maps -> (N, 1).

        phi: Conv2d(1 -> c0, 4, 2, 1) -> LeakyReLU(0.2) [-> Dropout]
             -> Conv2d(c0 -> c1, 4, 2, 1) -> LeakyReLU(0.2) [-> Dropout] -> Flatten  (c1*7*7)
        logit = w . phi(x) + b + v_y . phi(x)
    """
    body = dcgan_discriminator(1, channels, dropout=dropout)
    features = Sequential(*body.layers[:-1])                  # all but the final Dense
    return Projection(features, channels[1] * 7 * 7, num_classes, image_channels=1)


def conditional_discriminator(num_classes: int = NUM_CLASSES, channels=(64, 128),
                              dropout: float = 0.3, batchnorm: bool = False) -> Sequential:
    """The DCGAN discriminator over [image, label maps]: (N, 1 + num_classes, 28, 28) -> (N, 1)."""
    return dcgan_discriminator(1 + num_classes, channels, dropout=dropout, batchnorm=batchnorm)
