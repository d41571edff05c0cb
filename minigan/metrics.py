"""Measuring a generator: Frechet distance, inception-style score, mode coverage, divergences.

Every function here works on the host, in float64: inputs may be arrays of the active backend
(they are copied with ``B.to_numpy``) or anything numpy accepts; results are Python floats or
numpy arrays.

    frechet_distance(mu1, sigma1, mu2, sigma2)   distance between two Gaussians (the "F" in FID)
    feature_statistics(features)                 (mu, sigma) of a feature matrix (N, D)
    fid_from_features(f_real, f_fake)            Frechet distance of the two feature Gaussians
    inception_score(probs, splits=10)            exp(E_x KL(p(y|x) || p(y))) from class probabilities
    mode_coverage(samples, centres, std)         modes hit, high-quality fraction, KL to uniform
    class_histogram(predictions, num_classes)    fraction of samples per predicted class
    kl_divergence(p, q, dx), jensen_shannon(p, q, dx)   divergences of densities on a grid

FID proper (Heusel et al., 2017) is ``fid_from_features`` applied to the pool features of an
Inception-v3 network; here the features come from whatever network (or raw data) the caller
chooses, so the numbers compare models only when the feature extractor is the same.
"""
from __future__ import annotations

import warnings

from minigan import backend as B


def _host64(x, name: str):
    """Any array-like (host or device) -> numpy float64 array."""
    try:
        return B.to_numpy(x).astype(B.np.float64, copy=False)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be a numeric array, got {type(x).__name__}") from e


# ---------------------------------------------------------------------------------------------
# Frechet distance

def _sqrt_psd(matrix):
    """Square root of a symmetric positive semi-definite matrix by eigendecomposition.

    matrix: (D, D) float64 -> (D, D) with sqrt(M) @ sqrt(M) = M. Eigenvalues that round-off made
    slightly negative are clipped to 0.
    """
    np = B.np
    eigenvalues, eigenvectors = np.linalg.eigh((matrix + matrix.T) / 2)
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    return (eigenvectors * np.sqrt(eigenvalues)) @ eigenvectors.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Frechet (2-Wasserstein) distance between N(mu1, sigma1) and N(mu2, sigma2), squared.

        d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})

    mu1, mu2: (D,); sigma1, sigma2: (D, D) symmetric positive semi-definite covariances.

    The trace of the matrix square root is computed with NumPy alone. S1 S2 is not symmetric,
    but it has the same eigenvalues as the symmetric PSD matrix M = sqrt(S1) S2 sqrt(S1)
    (AB and BA share their eigenvalues; take A = sqrt(S1), B = sqrt(S1) S2), and those
    eigenvalues are real and >= 0. So

        Tr((S1 S2)^{1/2}) = sum_i sqrt(lambda_i(M)),

    with sqrt(S1) and the lambda_i from ``eigh`` (tiny negative eigenvalues from round-off are
    clipped to 0). No matrix inverse is needed, so singular covariances are fine. Computed in
    float64; the result is clipped at 0 (round-off can make identical inputs give -1e-13).
    """
    np = B.np
    mu1, mu2 = _host64(mu1, "mu1"), _host64(mu2, "mu2")
    sigma1, sigma2 = _host64(sigma1, "sigma1"), _host64(sigma2, "sigma2")
    if mu1.ndim != 1 or mu1.shape != mu2.shape:
        raise ValueError(f"frechet_distance: mu1 and mu2 must be vectors of the same length, "
                         f"got shapes {mu1.shape} and {mu2.shape}")
    d = mu1.shape[0]
    for name, s in (("sigma1", sigma1), ("sigma2", sigma2)):
        if s.shape != (d, d):
            raise ValueError(f"frechet_distance: {name} must have shape ({d}, {d}) to match the "
                             f"means, got {s.shape}")
    sqrt_sigma1 = _sqrt_psd(sigma1)
    middle = sqrt_sigma1 @ sigma2 @ sqrt_sigma1                       # (D, D), symmetric PSD
    eigenvalues = np.linalg.eigvalsh((middle + middle.T) / 2)
    trace_sqrt_product = np.sqrt(np.clip(eigenvalues, 0.0, None)).sum()
    diff = mu1 - mu2
    value = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt_product
    return float(max(value, 0.0))


def feature_statistics(features):
    """Mean and covariance of a feature matrix.

    features: (N, D) -> mu: (D,), sigma: (D, D) (unbiased covariance, divisor N - 1), float64.

    With N samples the centred features span at most N - 1 dimensions, so when N <= D the
    covariance is singular and a Frechet distance built on it is unreliable: a UserWarning says so.
    """
    np = B.np
    features = _host64(features, "features")
    if features.ndim != 2:
        raise ValueError(f"feature_statistics expects features of shape (N, D), "
                         f"got {features.shape}")
    n, d = features.shape
    if n < 2:
        raise ValueError(f"feature_statistics needs at least 2 samples to estimate a "
                         f"covariance, got {n}")
    if n <= d:
        warnings.warn(f"feature_statistics: {n} samples for {d} feature dimensions -- the "
                      f"covariance has rank at most {n - 1} < {d} (singular), so the Frechet "
                      f"distance is unreliable. Use more samples than feature dimensions.",
                      UserWarning, stacklevel=2)
    mu = features.mean(axis=0)
    centred = features - mu
    sigma = centred.T @ centred / (n - 1)
    return mu, sigma


def fid_from_features(f_real, f_fake) -> float:
    """Frechet distance between Gaussians fitted to two feature sets.

    f_real: (N1, D), f_fake: (N2, D) -> float. Warns when either set has N <= D.
    """
    f_real, f_fake = _host64(f_real, "f_real"), _host64(f_fake, "f_fake")
    if f_real.ndim != 2 or f_fake.ndim != 2 or f_real.shape[1] != f_fake.shape[1]:
        raise ValueError(f"fid_from_features expects (N1, D) and (N2, D) feature matrices with "
                         f"the same D, got {f_real.shape} and {f_fake.shape}")
    mu_real, sigma_real = feature_statistics(f_real)
    mu_fake, sigma_fake = feature_statistics(f_fake)
    return frechet_distance(mu_real, sigma_real, mu_fake, sigma_fake)


# ---------------------------------------------------------------------------------------------
# Inception score

def _xlogy(x, y):
    """x * log(y) with 0 * log(anything) = 0 (the convention of entropy and KL)."""
    np = B.np
    out = np.zeros(np.broadcast(x, y).shape)
    positive = np.broadcast_to(x > 0, out.shape)
    x, y = np.broadcast_to(x, out.shape), np.broadcast_to(y, out.shape)
    with np.errstate(divide="ignore"):
        out[positive] = x[positive] * np.log(y[positive])
    return out


def inception_score(probs, splits: int = 10):
    """Inception score from class probabilities (Salimans et al., 2016).

        IS = exp( E_x KL( p(y|x) || p(y) ) ),   p(y) = E_x p(y|x)

    probs: (N, K) rows p(y|x) of a classifier (non-negative, each summing to 1).
    The N rows are cut into ``splits`` near-equal consecutive parts; each part gets its own p(y)
    and score. Returns (mean, std) over the parts, Python floats.

    The score is 1 when every sample gets the same prediction, and K when the predictions are
    confident (one-hot) and spread evenly over the K classes; it is at most K.
    """
    np = B.np
    probs = _host64(probs, "probs")
    if probs.ndim != 2:
        raise ValueError(f"inception_score expects probabilities of shape (N, K), "
                         f"got {probs.shape}")
    if (probs < 0).any() or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("inception_score expects rows of class probabilities (non-negative, "
                         "summing to 1); apply a softmax to logits first")
    if not 1 <= splits <= probs.shape[0]:
        raise ValueError(f"inception_score: splits must be between 1 and N={probs.shape[0]}, "
                         f"got {splits}")
    scores = []
    for part in np.array_split(probs, splits):
        marginal = part.mean(axis=0, keepdims=True)                   # (1, K) = p(y)
        kl = (_xlogy(part, part) - _xlogy(part, marginal)).sum(axis=1)   # (n,)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


# ---------------------------------------------------------------------------------------------
# Coverage of known modes

def mode_coverage(samples, centres, std, num_std: float = 3.0) -> dict:
    """How well samples cover the modes of a Gaussian mixture (e.g. the 8-Gaussian ring).

    samples: (N, 2), centres: (M, 2), std: the standard deviation of each mixture component.

    A sample is *high quality* if it lies within ``num_std * std`` (3 std by default) of its
    nearest centre; it is then assigned to that centre. Returns a dict:

        modes_covered           number of centres with at least one high-quality sample (0..M)
        high_quality_fraction   fraction of all N samples that are high quality (0..1)
        counts                  (M,) int array: high-quality samples assigned to each centre
        reverse_kl              KL(p_modes || uniform) = sum_i p_i log(p_i M), where
                                p_modes = counts / counts.sum() is the histogram of the
                                high-quality samples over the modes; terms with p_i = 0 are 0.
                                It is 0 when the high-quality samples are spread evenly over all
                                M modes and log(M) when they all sit in one mode. When no sample
                                is high quality p_modes is undefined and reverse_kl is nan.

    For reference, samples of the mixture itself (isotropic 2D components, 3 std) have
    high_quality_fraction = 1 - exp(-9/2) ~ 0.989, modes_covered = M and reverse_kl ~ 0.
    """
    np = B.np
    samples, centres = _host64(samples, "samples"), _host64(centres, "centres")
    if samples.ndim != 2 or centres.ndim != 2 or samples.shape[1] != centres.shape[1]:
        raise ValueError(f"mode_coverage expects samples (N, d) and centres (M, d) with the same "
                         f"d, got {samples.shape} and {centres.shape}")
    if samples.shape[0] == 0 or centres.shape[0] == 0:
        raise ValueError(f"mode_coverage needs at least one sample and one centre, got "
                         f"{samples.shape} and {centres.shape}")
    if not std > 0:
        raise ValueError(f"mode_coverage: std must be positive, got {std}")
    num_modes = centres.shape[0]
    distances = np.linalg.norm(samples[:, None, :] - centres[None, :, :], axis=2)   # (N, M)
    nearest = distances.argmin(axis=1)                                              # (N,)
    high_quality = distances[np.arange(len(samples)), nearest] <= num_std * std     # (N,)
    counts = np.bincount(nearest[high_quality], minlength=num_modes)
    total = counts.sum()
    if total == 0:
        reverse_kl = float("nan")
    else:
        p_modes = counts / total
        reverse_kl = float(_xlogy(p_modes, p_modes * num_modes).sum())
    return {
        "modes_covered": int((counts > 0).sum()),
        "high_quality_fraction": float(high_quality.mean()),
        "reverse_kl": reverse_kl,
        "counts": counts,
    }


def class_histogram(predictions, num_classes: int):
    """Fraction of samples per predicted class (e.g. which digits a generator produces).

    predictions: (N,) integer class labels in [0, num_classes), or (N, num_classes) class
    probabilities / logits (the argmax of each row is taken).
    Returns a (num_classes,) float64 array summing to 1. ``(hist > 0).sum()`` counts the classes
    covered; ``kl`` to the uniform histogram works as in ``mode_coverage``.
    """
    np = B.np
    predictions = B.to_numpy(predictions)
    if predictions.ndim == 2:
        if predictions.shape[1] != num_classes:
            raise ValueError(f"class_histogram: probabilities have {predictions.shape[1]} "
                             f"columns but num_classes={num_classes}")
        labels = predictions.argmax(axis=1)
    elif predictions.ndim == 1:
        if predictions.dtype.kind not in "iu":
            raise TypeError(f"class_histogram expects integer labels (N,), got dtype "
                            f"{predictions.dtype}; pass probabilities as an (N, K) array")
        labels = predictions
    else:
        raise ValueError(f"class_histogram expects labels (N,) or probabilities (N, K), "
                         f"got shape {predictions.shape}")
    if labels.size == 0:
        raise ValueError("class_histogram got no predictions")
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f"class_histogram: labels must lie in [0, {num_classes}), got "
                         f"[{labels.min()}, {labels.max()}]")
    return np.bincount(labels, minlength=num_classes) / labels.size


# ---------------------------------------------------------------------------------------------
# Divergences between densities on a grid

def _grid_densities(p, q, dx, who: str):
    p, q = _host64(p, "p"), _host64(q, "q")
    if p.shape != q.shape:
        raise ValueError(f"{who}: p and q must be sampled on the same grid, got shapes "
                         f"{p.shape} and {q.shape}")
    if not dx > 0:
        raise ValueError(f"{who}: dx (the grid cell size) must be positive, got {dx}")
    for name, f in (("p", p), ("q", q)):
        if (f < 0).any():
            raise ValueError(f"{who}: {name} has negative values; densities are >= 0")
        mass = f.sum() * dx
        if abs(mass - 1.0) > 1e-2:
            warnings.warn(f"{who}: {name} integrates to {mass:.4f} on this grid, not 1; widen or "
                          f"refine the grid (or normalise the density)", UserWarning,
                          stacklevel=3)
    return p, q


def kl_divergence(p, q, dx) -> float:
    """KL(p || q) = integral p(x) log(p(x) / q(x)) dx for densities sampled on a uniform grid.

    p, q: arrays of density values at the same grid points (any shape; a 2D grid works with dx the
    cell area). The integral is the Riemann sum  sum_i f(x_i) dx  (equal to the trapezoid rule when
    the densities vanish at the ends of the grid). Points where p = 0 contribute 0; points where
    p > 0 but q = 0 make the divergence infinite. Warns if p or q does not integrate to ~1.
    """
    p, q = _grid_densities(p, q, dx, "kl_divergence")
    if ((p > 0) & (q == 0)).any():
        return float("inf")
    return float((_xlogy(p, p) - _xlogy(p, q)).sum() * dx)


def jensen_shannon(p, q, dx) -> float:
    """Jensen-Shannon divergence, in nats, of densities sampled on a uniform grid.

        JSD(p, q) = 1/2 KL(p || m) + 1/2 KL(q || m),   m = (p + q) / 2

    Same grid conventions as ``kl_divergence``. Always finite: 0 for p = q, log 2 for densities
    with disjoint supports. (Goodfellow et al. 2014: V(D*, G) = -log 4 + 2 JSD(p_data, p_g).)
    """
    p, q = _grid_densities(p, q, dx, "jensen_shannon")
    m = (p + q) / 2
    kl_pm = (_xlogy(p, p) - _xlogy(p, m)).sum()
    kl_qm = (_xlogy(q, q) - _xlogy(q, m)).sum()
    return float(0.5 * (kl_pm + kl_qm) * dx)
