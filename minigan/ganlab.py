"""What GAN Lab shows of a 2D GAN, computed by minigan's own forward and backward passes.

GAN Lab (Kahng et al., 2018, "GAN Lab: understanding complex deep generative models using
interactive visual experimentation") draws a GAN on 2D data through four views; this module
computes them, ``minigan.plot`` draws them (``gan_lab_figure``, ``gan_lab_gif``):

    manifold(generator, noise)            the generator's manifold: a grid over the 2D noise space
                                          pushed through G, each warped cell carrying the noise
                                          probability of its square; its density in x-space is
                                          that mass over the cell's area there
    generator_gradient(D, x, objective)   dL_G/dx at each generated sample: where the generator's
                                          loss wants the samples to move (its negative)
    snapshot(gan, real, z, bounds)        one frame: real and generated points, D's decision map,
                                          the gradients, the manifold, the iteration
    fixed_noise(n, latent_dim)            noise drawn from its own generator (the training run's
                                          random numbers are left alone)

A run with an animation (a 2D GAN with 2D noise, as GAN Lab trains):

    z = ganlab.fixed_noise(300, 2)                    # the same generated points in every frame
    real = data.sample(500)                           # (drawn before training, like the models)
    frames = [ganlab.snapshot(gan, real, z, bounds=(-3, 3, -3, 3))]
    def every_100(gan):
        if gan.iteration % 100 == 0:
            frames.append(ganlab.snapshot(gan, real, z, bounds=(-3, 3, -3, 3)))
    gan.train(3000, callbacks=[every_100])
    plot.gan_lab_figure("runs/ganlab.png", frames[-1], gan.history)
    plot.gan_lab_gif("runs/ganlab.gif", frames, gan.history)

The generator's gradient. G's parameters move by dL_G/dtheta = sum_i (dx_i/dtheta)^T dL_G/dx_i,
so dL_G/dx_i is the pull the discriminator exerts on sample i; the step moves the samples along
-dL_G/dx_i as far as G can follow. It is computed exactly as ``GAN.g_step`` does, without G:

    logits = D.forward(x);  L_G, grad_logits = objective.g_loss(logits)
    dL_G/dx = D.backward(grad_logits)

L_G is the batch MEAN of the objective's generator loss, so the gradient of one sample is 1/N of
that sample's own; with D layers that couple the batch (minibatch standard deviation, packing)
sample i's gradient includes its effect on the other samples' losses, as in training.

Inspection changes nothing: D runs in eval mode (no dropout, BatchNorm's running statistics,
no power iteration for spectral normalisation), the gradients backward adds into D's parameters
are restored, and no random number is drawn from minigan's generator, so a run that takes
snapshots trains exactly as one that does not.
"""
from __future__ import annotations

import math

from minigan import backend as B
from minigan.losses import get_objective
from minigan.nn.module import Module


def fixed_noise(n: int, latent_dim: int, noise: str = "normal", seed: int = 0):
    """z: (n, latent_dim) in the active dtype, from a NumPy generator of its own (seeded).

    The same z every frame makes an animation follow the same samples; drawing them here leaves
    ``B.seed``'s stream, and so the training run, untouched.
    """
    if noise not in ("normal", "uniform"):
        raise ValueError(f"fixed_noise: noise must be 'normal' or 'uniform', got {noise!r}")
    rng = B.np.random.default_rng(seed)
    z = rng.standard_normal((n, latent_dim)) if noise == "normal" else \
        rng.uniform(-1.0, 1.0, (n, latent_dim))
    return B.asarray(z)


def generator_gradient(discriminator: Module, x, objective="non-saturating"):
    """dL_G/dx: (N, ...) like x -- the gradient of the generator's loss at the samples x.

    discriminator: the GAN's D (logits out); x: generated samples (N, ...) of the active backend;
    objective: a name from ``minigan.losses.OBJECTIVE_NAMES`` or an Objective (``gan.objective``).
    The arrows GAN Lab draws are -dL_G/dx. D runs in eval mode; its parameters' gradients are
    left as they were (see the module docstring).
    """
    if not isinstance(discriminator, Module):
        raise TypeError(f"generator_gradient: discriminator must be a minigan Module, got "
                        f"{type(discriminator).__name__}")
    if not B.is_array(x):
        raise TypeError(f"generator_gradient: x must be a {B.xp.__name__}.ndarray of samples "
                        f"(N, ...), got {type(x).__name__}")
    objective = get_objective(objective) if isinstance(objective, str) else objective
    parameters = discriminator.parameters()
    saved = [p.grad.copy() for p in parameters]
    try:
        with discriminator.eval_mode():
            logits = discriminator.forward(x)
            _, grad_logits = objective.g_loss(logits)
            return discriminator.backward(grad_logits)
    finally:
        for p, grad in zip(parameters, saved):
            p.grad[...] = grad


def _normal_cdf(values):
    return B.np.array([0.5 * (1.0 + math.erf(v / math.sqrt(2.0))) for v in values])


def manifold(generator: Module, noise: str = "normal", resolution: int = 20, extent=None) -> dict:
    """The generator's manifold: a (resolution x resolution) grid of the 2D noise space through G.

    generator: G with 2D noise input (N, 2) -> (N, 2); noise: "normal" (z ~ N(0, I)) or
    "uniform" (z ~ U[-1, 1]^2), as ``gan.noise``; extent: the grid spans [-extent, extent]^2 of
    the noise space (default 3 for normal noise, 1 for uniform).

    Returns host float64 arrays:
        z        (R+1, R+1, 2)  the grid's corners in noise space, z[i, j] = (u_i, v_j)
        x        (R+1, R+1, 2)  their images G(z)
        mass     (R, R)         probability of each noise square under p_z (for normal noise
                                the grid holds (2 Phi(extent) - 1)^2 of it: 0.9946 at 3)
        area     (R, R)         area of each warped cell in x-space, the quadrilateral through
                                its four images: |cross(x11 - x00, x01 - x10)| / 2
        density  (R, R)         mass / area: the density the cell spreads over x-space (where
                                G folds a cell onto a line, area -> 0 and the density is large;
                                areas below 1e-12 count as 1e-12)
    Cells that G stretches across the empty space between modes have large areas and tiny
    densities: where the manifold "tears". G runs in eval mode; no random number is drawn.
    """
    np = B.np
    if noise not in ("normal", "uniform"):
        raise ValueError(f"manifold: noise must be 'normal' or 'uniform', got {noise!r}")
    if not isinstance(resolution, int) or isinstance(resolution, bool) or resolution < 1:
        raise ValueError(f"manifold: resolution must be a positive int, got {resolution!r}")
    extent = (3.0 if noise == "normal" else 1.0) if extent is None else float(extent)
    if not extent > 0:
        raise ValueError(f"manifold: extent must be positive, got {extent}")
    edges = np.linspace(-extent, extent, resolution + 1)                    # (R+1,)
    u, v = np.meshgrid(edges, edges, indexing="ij")
    z = np.stack([u, v], axis=-1)                                           # (R+1, R+1, 2)
    with generator.eval_mode():
        x = B.to_numpy(generator.forward(B.asarray(z.reshape(-1, 2))))
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"manifold: the generator must map 2D noise to 2D points, got output "
                         f"shape {x.shape} for input (M, 2)")
    x = x.astype(np.float64).reshape(resolution + 1, resolution + 1, 2)
    if noise == "normal":
        axis_mass = np.diff(_normal_cdf(edges))                             # (R,)
    else:
        axis_mass = np.diff(np.clip(edges, -1.0, 1.0)) / 2.0                # U[-1, 1]
    mass = axis_mass[:, None] * axis_mass[None, :]                          # (R, R)
    diagonal_1 = x[1:, 1:] - x[:-1, :-1]                                    # x11 - x00
    diagonal_2 = x[:-1, 1:] - x[1:, :-1]                                    # x01 - x10
    area = 0.5 * np.abs(diagonal_1[..., 0] * diagonal_2[..., 1]
                        - diagonal_1[..., 1] * diagonal_2[..., 0])          # (R, R)
    return {"z": z, "x": x, "mass": mass, "area": area,
            "density": mass / np.maximum(area, 1e-12)}


def decision_map(discriminate, bounds, resolution: int = 80):
    """D on a (resolution x resolution) grid over bounds = (xmin, xmax, ymin, ymax).

    discriminate: a callable (M, 2) -> (M,), e.g. ``gan.discriminate``. Returns host float64
    values (resolution, resolution), row i at y_i, column j at x_j (``imshow(origin="lower")``).
    """
    np = B.np
    xs = np.linspace(bounds[0], bounds[1], resolution)
    ys = np.linspace(bounds[2], bounds[3], resolution)
    gx, gy = np.meshgrid(xs, ys)
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)                       # (R*R, 2)
    values = B.to_numpy(discriminate(B.asarray(grid))).astype(np.float64)
    return values.reshape(resolution, resolution)


def snapshot(gan, real, z, bounds, resolution: int = 80, manifold_resolution: int = 20) -> dict:
    """One frame of GAN Lab's views of a 2D GAN, as host float64 arrays.

    gan: a ``minigan.gan.GAN`` whose samples are 2D; real: (N, 2) data points to show;
    z: (M, latent_dim) noise (``fixed_noise``) for the generated points and their arrows;
    bounds: (xmin, xmax, ymin, ymax) of the view. Returns
        iteration   gan.iteration
        bounds      as given
        real        (N, 2)
        fake        (M, 2)   G(z), eval mode
        gradient    (M, 2)   dL_G/dx at the fake points (``generator_gradient``)
        d_map       (R, R)   ``gan.discriminate`` on the view (a probability for the cross-entropy
                             objectives, the raw score otherwise), ``decision_map``
        manifold    ``manifold(gan.generator, gan.noise)``, or None when the noise is not 2D
        objective   the objective's name
    Nothing in the run changes (see the module docstring).
    """
    np = B.np
    bounds = tuple(float(b) for b in bounds)
    if len(bounds) != 4 or not (bounds[0] < bounds[1] and bounds[2] < bounds[3]):
        raise ValueError(f"snapshot: bounds must be (xmin, xmax, ymin, ymax) with min < max, "
                         f"got {bounds}")
    if gan.conditional:
        raise ValueError("snapshot: GAN Lab's views are for an unconditional GAN (a conditional "
                         "one would need a label for every point of D's map)")
    fake = gan.sample(z.shape[0], z=z)
    if fake.ndim != 2 or fake.shape[1] != 2:
        raise ValueError(f"snapshot: GAN Lab's views are for 2D samples, the generator gives "
                         f"shape {tuple(fake.shape)}")
    gradient = generator_gradient(gan.discriminator, fake, gan.objective)
    two_d_noise = gan.latent_shape == (2,)
    return {
        "iteration": int(gan.iteration),
        "bounds": bounds,
        "real": B.to_numpy(real).astype(np.float64),
        "fake": B.to_numpy(fake).astype(np.float64),
        "gradient": B.to_numpy(gradient).astype(np.float64),
        "d_map": decision_map(gan.discriminate, bounds, resolution),
        "manifold": manifold(gan.generator, gan.noise, manifold_resolution) if two_d_noise
        else None,
        "objective": getattr(gan.objective, "name", type(gan.objective).__name__),
    }
