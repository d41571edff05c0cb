"""Measuring a generator: Frechet distance, inception-style score, mode coverage, divergences,
precision/recall and density/coverage.

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
    precision_recall(real, fake, k=3)            improved precision and recall (k-NN manifolds)
    density_coverage(real, fake, k=5)            density and coverage (k-NN balls around real)
    precision_recall_density_coverage(real, fake)   all four, one pass over the distances
    knn_radii(features, k)                       distance from each point to its k-th neighbour

FID proper (Heusel et al., 2017) is ``fid_from_features`` applied to the pool features of an
Inception-v3 network; here the features come from whatever network (or raw data) the caller
chooses, so the numbers compare models only when the feature extractor is the same.
"""
from __future__ import annotations

import math
import warnings

from minigan import arguments
from minigan import backend as B


def _host64(x, name: str, who: str, check_finite: bool = True):
    """Any array-like (host or device) -> numpy float64 array of finite values, or an error
    naming the function and the argument (metrics have no meaning for NaN or Inf inputs)."""
    try:
        host = B.to_numpy(x)
        if host.dtype.kind not in "biuf":
            raise TypeError(f"dtype {host.dtype}")
        host = host.astype(B.np.float64, copy=False)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{who}: {name} must be a numeric array (real numbers), got "
                        f"{type(x).__name__} ({e})") from None
    finite = B.np.isfinite(host)
    if check_finite and not finite.all():
        raise ValueError(f"{who}: {name} holds {host.size - int(finite.sum())} NaN or Inf "
                         f"value(s) out of {host.size}; expected finite numbers")
    return host


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


def _check_covariance(sigma, name: str, who: str, rtol: float = 1e-6) -> None:
    """Refuse a matrix that is not symmetric, or has an eigenvalue below -rtol * the largest
    |eigenvalue| (round-off in a computed covariance stays orders of magnitude below that)."""
    np = B.np
    scale = max(float(np.abs(sigma).max()), 1e-300)
    asymmetry = float(np.abs(sigma - sigma.T).max())
    if asymmetry > rtol * scale:
        raise ValueError(f"{who}: {name} is not symmetric (max |S - S^T| = {asymmetry:.3g}, "
                         f"max |S| = {scale:.3g}); a covariance matrix is symmetric")
    eigenvalues = np.linalg.eigvalsh((sigma + sigma.T) / 2)
    if eigenvalues[0] < -rtol * max(float(np.abs(eigenvalues).max()), 1e-300):
        raise ValueError(f"{who}: {name} is not positive semi-definite (smallest eigenvalue "
                         f"{eigenvalues[0]:.3g}, largest {eigenvalues[-1]:.3g}); a covariance "
                         f"matrix has no negative eigenvalues")


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
    who = "frechet_distance"
    mu1, mu2 = _host64(mu1, "mu1", who), _host64(mu2, "mu2", who)
    sigma1, sigma2 = _host64(sigma1, "sigma1", who), _host64(sigma2, "sigma2", who)
    if mu1.ndim != 1 or mu1.shape != mu2.shape:
        raise ValueError(f"frechet_distance: mu1 and mu2 must be vectors of the same length, "
                         f"got shapes {mu1.shape} and {mu2.shape}")
    d = mu1.shape[0]
    for name, s in (("sigma1", sigma1), ("sigma2", sigma2)):
        if s.shape != (d, d):
            raise ValueError(f"frechet_distance: {name} must have shape ({d}, {d}) to match the "
                             f"means, got {s.shape}")
        _check_covariance(s, name, who)
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
    features = _host64(features, "features", "feature_statistics")
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
    largest = float(np.abs(centred).max())
    if largest > math.sqrt(np.finfo(np.float64).max / n):     # the products would overflow
        raise ValueError(f"feature_statistics: features deviate from their mean by up to "
                         f"{largest:.3g}; their covariance overflows float64. Scale the "
                         f"features (e.g. divide by their largest absolute value)")
    sigma = centred.T @ centred / (n - 1)
    return mu, sigma


def fid_from_features(f_real, f_fake) -> float:
    """Frechet distance between Gaussians fitted to two feature sets.

    f_real: (N1, D), f_fake: (N2, D) -> float. Warns when either set has N <= D.
    """
    f_real = _host64(f_real, "f_real", "fid_from_features")
    f_fake = _host64(f_fake, "f_fake", "fid_from_features")
    if f_real.ndim != 2 or f_fake.ndim != 2 or f_real.shape[1] != f_fake.shape[1] \
            or f_real.shape[1] == 0:
        raise ValueError(f"fid_from_features expects (N1, D) and (N2, D) feature matrices "
                         f"with the same D >= 1, got {f_real.shape} and {f_fake.shape}")
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
    probs = _host64(probs, "probs", "inception_score")
    if probs.ndim != 2:
        raise ValueError(f"inception_score expects probabilities of shape (N, K), "
                         f"got {probs.shape}")
    if (probs < 0).any() or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("inception_score expects rows of class probabilities (non-negative, "
                         "summing to 1); apply a softmax to logits first")
    arguments.integer(splits, "splits", "inception_score")
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
    samples = _host64(samples, "samples", "mode_coverage")
    centres = _host64(centres, "centres", "mode_coverage")
    if samples.ndim != 2 or centres.ndim != 2 or samples.shape[1] != centres.shape[1]:
        raise ValueError(f"mode_coverage expects samples (N, d) and centres (M, d) with the same "
                         f"d, got {samples.shape} and {centres.shape}")
    if samples.shape[0] == 0 or centres.shape[0] == 0:
        raise ValueError(f"mode_coverage needs at least one sample and one centre, got "
                         f"{samples.shape} and {centres.shape}")
    std = arguments.real(std, "std", "mode_coverage", 0, low_open=True)
    num_std = arguments.real(num_std, "num_std", "mode_coverage", 0, low_open=True)
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
    num_classes = arguments.integer(num_classes, "num_classes", "class_histogram", minimum=1)
    predictions = B.to_numpy(predictions) if B.is_array(predictions) else np.asarray(predictions)
    if predictions.ndim == 2:
        if predictions.dtype.kind not in "biuf":
            raise TypeError(f"class_histogram: probabilities must be numbers, got dtype "
                            f"{predictions.dtype}")
        bad = ~np.isfinite(predictions).all(axis=1)
        if bad.any():
            raise ValueError(f"class_histogram: {int(bad.sum())} row(s) of the probabilities "
                             f"hold NaN or Inf (the first: row {int(np.argmax(bad))}); their "
                             f"argmax would be meaningless")
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
    p, q = _host64(p, "p", who), _host64(q, "q", who)
    if p.shape != q.shape:
        raise ValueError(f"{who}: p and q must be sampled on the same grid, got shapes "
                         f"{p.shape} and {q.shape}")
    arguments.real(dx, "dx (the grid cell size)", who, 0, low_open=True)
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


# ---------------------------------------------------------------------------------------------
# Fidelity and diversity, measured separately: k-nearest-neighbour manifolds
#
# FID folds quality and variety into one number. These four split them, using only distances
# between feature vectors: real X = {X_1..X_N}, generated Y = {Y_1..Y_M}. NND_k(X_i) is the
# distance from X_i to its k-th nearest neighbour among the OTHER real points (X_i itself is not
# its own neighbour; an exact duplicate of X_i is, at distance 0), and B(x, r) a ball around x.
#
#   Kynkaanniemi et al. (2019), "Improved precision and recall metric for assessing generative
#   models", k = 3, closed balls ||y - x|| <= r (as in the paper and its reference code):
#       precision = 1/M sum_j 1[ exists i: Y_j in B(X_i, NND_k(X_i)) ]    fake on the real manifold
#       recall    = 1/N sum_i 1[ exists j: X_i in B(Y_j, NND_k(Y_j)) ]    real on the fake manifold
#   Naeem et al. (2020), "Reliable fidelity and diversity metrics for generative models", k = 5,
#   open balls ||y - x|| < r (as in its reference code), real balls only:
#       density   = 1/(kM) sum_j sum_i 1[ Y_j in B(X_i, NND_k(X_i)) ]   how many real balls hold
#                   each fake sample, on average, / k; not capped at 1
#       coverage  = 1/N sum_i 1[ exists j: Y_j in B(X_i, NND_k(X_i)) ]  real balls holding a fake
#
# Open or closed only matters on ties, which continuous features never have except in one case:
# identical sets. There density counts, around each X_i, the point itself and its k-1 nearer
# neighbours but not the k-th (it sits on the sphere), so density = 1 exactly; a closed ball would
# count k + 1 and give (k + 1)/k. For samples of the same distribution E[density] = 1 (Naeem et
# al., Lemma 1). Precision and recall use closed balls so that data with repeated points (a ball
# of radius 0) still lie on their own manifold; density and coverage, with open balls, count
# nothing inside a radius-0 ball -- add a little noise to discrete features before using them.
#
# Cost and memory. Only (chunk, N) blocks of squared distances ever exist, from
# ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b (one matrix product per block, float64, features first
# centred on the real mean so the expansion does not lose digits far from the origin). Three
# passes: real x real (the real radii for both k at once), fake x fake, real x fake. Measured on
# 2 cores (shared with other work) with 10,000 real and 10,000 fake 64-dimensional features
# (float64, default blocks of 2^21 distances = 209 rows): precision_recall_density_coverage
# takes 6.3 s (median of 3, load average 3.5; about half in the matrix products, half in the
# partitions) and allocates at most 51 MB beyond its 10 MB of inputs (tracemalloc peak; 99 MB
# resident for the whole process). The full distance matrix alone would be 800 MB.
# benchmarks/fidelity_metrics.py measures it again.

#: Elements per block of squared distances (rows = max(1, BLOCK_ELEMENTS // columns)).
BLOCK_ELEMENTS = 1 << 21


def _feature_matrix(x, name: str, who: str):
    """Host float64 (N, D) features with finite values, or a ValueError naming the argument."""
    x = _host64(x, name, who, check_finite=False)           # refused below, by rows
    if x.ndim != 2:
        raise ValueError(f"{who}: {name} must be a feature matrix of shape (N, D), got shape "
                         f"{x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{who}: {name} is empty, shape {x.shape}; expected (N, D) with N, D >= 1")
    finite = B.np.isfinite(x)
    if not finite.all():
        rows = int((~finite.all(axis=1)).sum())
        raise ValueError(f"{who}: {name} holds NaN or Inf in {rows} of its {x.shape[0]} rows; "
                         f"expected finite features")
    return x


def _check_k(k, n: int, name: str, who: str, k_name: str = "k") -> int:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"{who}: {k_name} must be a positive int, got {k!r}")
    if k > n - 1:
        raise ValueError(f"{who}: {k_name}={k} nearest neighbours need at least {k + 1} points in "
                         f"{name} (a point is not its own neighbour), got {n}")
    return k


def _block_rows(num_columns: int, chunk_size) -> int:
    if chunk_size is None:
        return max(1, BLOCK_ELEMENTS // max(num_columns, 1))
    if not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1:
        raise ValueError(f"chunk_size must be a positive int (rows per block), got {chunk_size!r}")
    return chunk_size


def _squared_distances(rows, rows_sq, columns_t, columns_sq):
    """||rows_i - columns_j||^2: (r, D), (r,), (D, c), (c,) -> (r, c), clipped at 0.

    ``columns_t`` is the columns' matrix transposed into its own contiguous buffer, so every
    block is one general matrix product. (``x @ x.T`` on one buffer takes NumPy's symmetric
    path, whose round-off differs from the general product's; the real radii and the real x fake
    distances must round alike for identical sets to give density = 1 exactly.)
    """
    block = rows @ columns_t                                     # (r, c)
    block *= -2.0
    block += rows_sq[:, None]
    block += columns_sq[None, :]
    return B.np.maximum(block, 0.0, out=block)


def _knn_squared_radii(x, x_sq, ks, chunk_size):
    """Squared distance from each row of x to its k-th nearest OTHER row, for each k in ks.

    x: (N, D), x_sq: (N,) -> (len(ks), N). Row i's own entry is set to +inf before the
    partition, so an exact duplicate of X_i still counts as a neighbour at distance 0.
    """
    np = B.np
    n = x.shape[0]
    out = np.empty((len(ks), n))
    kth = [k - 1 for k in ks]
    x_t = B.np.ascontiguousarray(x.T)                                           # (D, N)
    step = _block_rows(n, chunk_size)
    for start in range(0, n, step):
        stop = min(start + step, n)
        block = _squared_distances(x[start:stop], x_sq[start:stop], x_t, x_sq)  # (r, N)
        block[np.arange(stop - start), np.arange(start, stop)] = np.inf         # not itself
        block.partition(kth, axis=1)
        out[:, start:stop] = block[:, kth].T
    return out


def knn_radii(features, k: int, chunk_size=None):
    """NND_k: distance from each point to its k-th nearest neighbour among the others.

    features: (N, D) -> (N,) float64. Needs N >= k + 1. Computed in blocks of ``chunk_size``
    rows (by default about 2M distances a block), never the whole (N, N) matrix.
    """
    x = _feature_matrix(features, "features", "knn_radii")
    _check_k(k, x.shape[0], "features", "knn_radii")
    x = x - x.mean(axis=0)
    return B.np.sqrt(_knn_squared_radii(x, (x * x).sum(axis=1), [k], chunk_size)[0])


def precision_recall_density_coverage(real_features, fake_features, k_precision_recall: int = 3,
                                      k_density_coverage: int = 5, chunk_size=None) -> dict:
    """Improved precision and recall (k = 3) and density and coverage (k = 5), in one pass.

    real_features: (N, D), fake_features: (M, D) -- the same feature extractor for both (raw 2D
    points for toy data, a classifier's penultimate layer for images). Returns a dict of floats
    {"precision", "recall", "density", "coverage"}; definitions in the comment above.

        precision  fraction of generated samples that look real (fidelity)
        recall     fraction of real samples the generator could have produced (diversity)
        density    like precision, but counts how many real neighbourhoods a sample falls in,
                   so a generator crowding the densest real regions scores > 1, and one real
                   outlier with a huge ball cannot make many poor samples count as good
        coverage   like recall, but with balls around REAL points only, so a few generated
                   outliers with huge balls cannot fake diversity

    Precision, recall, coverage lie in [0, 1]; density in [0, N/k]. Identical sets (without
    repeated points) give precision = recall = coverage = density = 1; sets farther apart than
    every radius give 0.
    Needs N > max(k) real and M > k_precision_recall generated points. Chunked: memory
    O(chunk_size * max(N, M)), see ``BLOCK_ELEMENTS``; 10,000 x 10,000 64-dim features take
    4-7 s and at most 51 MB beyond the inputs on 2 cores.
    """
    return _fidelity_diversity("precision_recall_density_coverage", real_features,
                               fake_features, k_precision_recall, k_density_coverage, chunk_size)


def precision_recall(real_features, fake_features, k: int = 3, chunk_size=None) -> dict:
    """Improved precision and recall (Kynkaanniemi et al., 2019): {"precision", "recall"}.

    real_features: (N, D), fake_features: (M, D), N and M > k. See
    ``precision_recall_density_coverage`` for the definitions, cost and memory.
    """
    return _fidelity_diversity("precision_recall", real_features, fake_features, k, None,
                               chunk_size)


def density_coverage(real_features, fake_features, k: int = 5, chunk_size=None) -> dict:
    """Density and coverage (Naeem et al., 2020): {"density", "coverage"}.

    real_features: (N, D) with N > k, fake_features: (M, D). Only the real points' k-NN balls
    are used. See ``precision_recall_density_coverage`` for the definitions, cost and memory.
    """
    return _fidelity_diversity("density_coverage", real_features, fake_features, None, k,
                               chunk_size)


def _fidelity_diversity(who, real_features, fake_features, k_pr, k_dc, chunk_size) -> dict:
    """The metrics asked for: precision/recall if k_pr is not None, density/coverage if k_dc."""
    np = B.np
    real = _feature_matrix(real_features, "real_features", who)
    fake = _feature_matrix(fake_features, "fake_features", who)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"{who}: real_features and fake_features must have the same feature "
                         f"dimension D, got real {real.shape} and fake {fake.shape}")
    names = {"precision_recall": ("k", None), "density_coverage": (None, "k")}.get(
        who, ("k_precision_recall", "k_density_coverage"))
    if k_pr is not None:
        _check_k(k_pr, real.shape[0], "real_features", who, names[0])
        _check_k(k_pr, fake.shape[0], "fake_features", who, names[0])
    if k_dc is not None:
        _check_k(k_dc, real.shape[0], "real_features", who, names[1])
    _block_rows(1, chunk_size)                        # validates chunk_size
    centre = real.mean(axis=0)                        # distances do not change; round-off does
    real, fake = real - centre, fake - centre
    real_sq, fake_sq = (real * real).sum(axis=1), (fake * fake).sum(axis=1)
    ks = [k for k in (k_pr, k_dc) if k is not None]
    real_radii = dict(zip(ks, _knn_squared_radii(real, real_sq, ks, chunk_size)))  # squared
    if k_pr is not None:
        fake_radius_pr = _knn_squared_radii(fake, fake_sq, [k_pr], chunk_size)[0]

    # one pass over real-row blocks of the real x fake squared distances
    n, m = real.shape[0], fake.shape[0]
    fake_on_real_manifold = np.zeros(m, dtype=bool)        # precision, per generated sample
    real_on_fake_manifold = np.empty(n, dtype=bool)        # recall, per real sample
    real_balls_holding_fake = np.zeros(m, dtype=np.int64)  # density, per generated sample
    real_ball_covered = np.empty(n, dtype=bool)            # coverage, per real sample
    fake_t = np.ascontiguousarray(fake.T)                                            # (D, M)
    step = _block_rows(m, chunk_size)
    for start in range(0, n, step):
        stop = min(start + step, n)
        block = _squared_distances(real[start:stop], real_sq[start:stop], fake_t, fake_sq)
        if k_pr is not None:
            fake_on_real_manifold |= (block <= real_radii[k_pr][start:stop, None]).any(axis=0)
            real_on_fake_manifold[start:stop] = (block <= fake_radius_pr[None, :]).any(axis=1)
        if k_dc is not None:
            inside = block < real_radii[k_dc][start:stop, None]                          # (r, M)
            real_balls_holding_fake += inside.sum(axis=0)
            real_ball_covered[start:stop] = inside.any(axis=1)
    result = {}
    if k_pr is not None:
        result["precision"] = float(fake_on_real_manifold.mean())
        result["recall"] = float(real_on_fake_manifold.mean())
    if k_dc is not None:
        result["density"] = float(real_balls_holding_fake.sum() / (k_dc * m))
        result["coverage"] = float(real_ball_covered.mean())
    return result
