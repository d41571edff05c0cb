"""A small convolutional digit classifier, trained with minigan itself, to measure generators.

A GAN's samples are judged here by a classifier trained on the same data as the GAN: what it
predicts for generated digits tells whether every class is produced (no mode collapse), whether
a conditional generator draws the digit it was asked for, and its penultimate features give a
Frechet distance (``minigan.metrics.fid_from_features``) between real and generated images.

    clf = train_classifier(images, labels)                  # images (N, 1, 28, 28) in [-1, 1]
    clf = train_classifier(images, labels, architecture="mlp")   # a second judge, unlike the first
    clf.accuracy(test_images, test_labels)                  # fraction correct
    clf.predict(samples)                                    # (N,) int64 classes
    clf.predict_proba(samples)                              # (N, 10) class probabilities
    clf.features(samples)                                   # (N, 128) penultimate features

Two networks (28x28 in, 10 logits out; He initialisation for the ReLUs). A judge is a trained
model with blind spots of its own; two that differ in architecture -- one sees strokes through
local filters, the other every pixel at once -- disagree most where samples lie off the data,
and a chapter can take the stricter verdict.

    architecture="conv" (default)            architecture="mlp"
    Conv2d(1->16, k=5, s=2, p=2) -> ReLU      Flatten -> Dense(784->256) -> ReLU
    Conv2d(16->32, k=5, s=2, p=2) -> ReLU     Dense(256->128) -> ReLU     (N, 128) <- features()
    Flatten -> Dense(1568->128) -> ReLU       Dense(128->10)              (N, 10) logits
                                (N, 128) <- features()
    Dense(128->10)              (N, 10) logits

It is trained by Adam on the softmax cross-entropy (``minigan.losses``) of the logits l and
the labels y:

    p_nk = softmax(l_n)_k = exp(l_nk) / sum_j exp(l_nj)
    loss = (1/N) sum_n [ log sum_j exp(l_nj) - l_n,y_n ] = -(1/N) sum_n log p_n,y_n
    dloss/dl_nk = (p_nk - [k == y_n]) / N

Results of the prediction methods are host NumPy arrays (they are measurements); inputs may be
host arrays or arrays of the active backend. Images scaled to [0, 1] (sigmoid generators) must
be mapped to [-1, 1] first: ``2 * x - 1``.
"""
from __future__ import annotations

from minigan import arguments
from minigan import backend as B
from minigan.losses import softmax_cross_entropy
from minigan.nn import Conv2d, Dense, Flatten, ReLU, Sequential
from minigan.optim import Adam

NUM_CLASSES = 10
IMAGE_SHAPE = (1, 28, 28)
FEATURE_DIM = 128
EVAL_CHUNK = 2000           # images per forward pass when predicting


ARCHITECTURES = ("conv", "mlp")


def build_network(num_classes: int = NUM_CLASSES, architecture: str = "conv") -> Sequential:
    """The classifier network: (N, 1, 28, 28) -> logits (N, num_classes). See the module doc."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"build_network: architecture must be one of {ARCHITECTURES}, got "
                         f"{architecture!r}")
    if architecture == "mlp":
        return Sequential(
            Flatten(), Dense(28 * 28, 256, init="he"), ReLU(),                        # (N, 256)
            Dense(256, FEATURE_DIM, init="he"), ReLU(),                               # (N, 128)
            Dense(FEATURE_DIM, num_classes),                                          # (N, 10)
        )
    return Sequential(
        Conv2d(1, 16, kernel_size=5, stride=2, padding=2, init="he"), ReLU(),     # (N, 16, 14, 14)
        Conv2d(16, 32, kernel_size=5, stride=2, padding=2, init="he"), ReLU(),    # (N, 32, 7, 7)
        Flatten(), Dense(32 * 7 * 7, FEATURE_DIM, init="he"), ReLU(),             # (N, 128)
        Dense(FEATURE_DIM, num_classes),                                          # (N, 10)
    )


def _images(images, where: str):
    """Host or device images -> a backend array (N, 1, 28, 28) in the active float dtype."""
    dtype = images.dtype if hasattr(images, "dtype") else B.np.asarray(images).dtype
    if dtype.kind != "f":
        raise TypeError(f"{where}: images must be floating point in [-1, 1], got dtype "
                        f"{dtype}; scale 8-bit images first, e.g. images / 127.5 - 1")
    x = images if B.is_array(images) and images.dtype == B.dtype() else B.asarray(images)
    if x.ndim != 4 or tuple(x.shape[1:]) != IMAGE_SHAPE:
        raise ValueError(f"{where}: images must have shape (N, 1, 28, 28), got {tuple(x.shape)}"
                         f"; reshape flat (N, 784) images with .reshape(-1, 1, 28, 28)")
    return x


class DigitClassifier:
    """A trained classifier network with prediction helpers (results are host NumPy arrays).

    ``network`` is the Sequential of ``build_network``; ``minigan.checkpoint.save(path,
    {"classifier": clf.network})`` stores it, and loading into ``build_network()`` restores it.
    """

    def __init__(self, network: Sequential):
        self.network = network

    def _forward(self, images, layers):
        """Run ``layers`` on the images in eval mode, EVAL_CHUNK at a time -> host array."""
        x = _images(images, "DigitClassifier")
        parts = []
        with self.network.eval_mode():
            for start in range(0, x.shape[0], EVAL_CHUNK):
                h = x[start:start + EVAL_CHUNK]
                for layer in layers:
                    h = layer.forward(h)
                parts.append(B.to_numpy(h))
        if not parts:
            raise ValueError("DigitClassifier: got an empty batch of images")
        return B.np.concatenate(parts, axis=0)

    def logits(self, images):
        """images (N, 1, 28, 28) in [-1, 1] -> (N, 10) logits."""
        return self._forward(images, self.network.layers)

    def predict_proba(self, images):
        """images (N, 1, 28, 28) in [-1, 1] -> (N, 10) class probabilities (rows sum to 1)."""
        logits = self.logits(images)
        logits -= logits.max(axis=1, keepdims=True)
        probs = B.np.exp(logits)
        return probs / probs.sum(axis=1, keepdims=True)

    def predict(self, images):
        """images (N, 1, 28, 28) in [-1, 1] -> (N,) int64 predicted digits."""
        return self.logits(images).argmax(axis=1).astype(B.np.int64)

    def features(self, images):
        """images (N, 1, 28, 28) in [-1, 1] -> (N, 128) penultimate activations (for FID)."""
        return self._forward(images, self.network.layers[:-1])

    def accuracy(self, images, labels) -> float:
        """Fraction of images whose predicted digit equals the label."""
        labels = B.np.asarray(B.to_numpy(labels)).reshape(-1)
        predictions = self.predict(images)
        if predictions.shape != labels.shape:
            raise ValueError(f"DigitClassifier.accuracy: {predictions.shape[0]} images but "
                             f"{labels.shape[0]} labels")
        return float((predictions == labels).mean())

    def __repr__(self) -> str:
        return f"DigitClassifier({self.network!r})"


# ---------------------------------------------------------------------------------------------
# Training

def train_classifier(images, labels, epochs: int = 3, batch_size: int = 64, lr: float = 1e-3,
                     seed: int = 0, verbose: bool = False,
                     architecture: str = "conv") -> DigitClassifier:
    """Train a classifier network (``architecture``: "conv" or "mlp", see the module doc) on
    (images, labels) with Adam; returns a DigitClassifier.

    images: (N, 1, 28, 28) in [-1, 1] (host or backend); labels: (N,) integers 0..9.
    Each epoch visits the examples in a fresh random order, in minibatches of batch_size (the
    last, smaller one included). Initialisation and shuffling use minigan's generator seeded
    with ``seed``; the caller's random stream is restored afterwards, so training a classifier
    does not change what a GAN run draws next.
    """
    where = "train_classifier"
    arguments.integer(epochs, "epochs", where, minimum=0)
    arguments.integer(batch_size, "batch_size", where, minimum=1)
    arguments.real(lr, "lr", where, 0, low_open=True)
    arguments.integer(seed, "seed", where, minimum=0)
    x = _images(images, where)
    host_labels = B.to_numpy(labels) if B.is_array(labels) else B.np.asarray(labels)
    if host_labels.dtype.kind not in "iu":
        hint = "; convert them with labels.astype(int)" if host_labels.dtype.kind == "f" else ""
        raise TypeError(f"{where}: labels must be integers 0..9, got dtype "
                        f"{host_labels.dtype}{hint}")
    y = B.xp.asarray(host_labels.astype(B.np.int64).reshape(-1))
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"train_classifier: {x.shape[0]} images but {y.shape[0]} labels")
    if int(y.min()) < 0 or int(y.max()) >= NUM_CLASSES:
        raise ValueError(f"train_classifier: labels must be digits 0..9, got "
                         f"{int(y.min())}..{int(y.max())}")
    outer_state = B.get_rng_state()
    B.seed(seed)
    try:
        network = build_network(architecture=architecture)
        optimizer = Adam(network.parameters(), lr=lr, betas=(0.9, 0.999))
        n = x.shape[0]
        for epoch in range(epochs):
            order = B.permutation(n)
            total = 0.0
            for start in range(0, n, batch_size):
                index = order[start:start + batch_size]
                optimizer.zero_grad()
                loss, grad_logits = softmax_cross_entropy(network.forward(x[index]), y[index])
                network.parameter_backward(grad_logits)       # no dL/d(images) needed
                optimizer.step()
                total += loss * len(index)
            if verbose:
                print(f"classifier epoch {epoch + 1}/{epochs}: loss {total / n:.4f}", flush=True)
    finally:
        B.set_rng_state(outer_state)
    return DigitClassifier(network)
