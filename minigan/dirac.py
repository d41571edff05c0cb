"""The Dirac-GAN (Mescheder, Geiger & Nowozin, 2018): the smallest GAN that does not converge.

The data distribution is a point mass at 0, p_data = delta_0. The generator has one parameter
theta and produces p_theta = delta_theta; the discriminator is linear, D_psi(x) = psi * x (a
logit: no bias, no sigmoid). The only equilibrium is (theta, psi) = (0, 0).

On a batch, every real logit is psi * 0 = 0 and every fake logit is l = psi * theta, so the
losses of ``minigan.losses`` (both written as losses to minimise, D's on psi, G's on theta) are

    cross-entropy D:  d_loss = softplus(0) + softplus(psi theta)   d/dpsi   =  s(psi theta) theta
    minimax G:        g_loss = log(1 - s(psi theta))               d/dtheta = -s(psi theta) psi
    non-saturating G: g_loss = -log s(psi theta)                   d/dtheta = -s(-psi theta) psi
    Wasserstein:      d_loss = psi theta,  g_loss = -psi theta     d/dpsi = theta, d/dtheta = -psi

with s the logistic sigmoid. Gradient descent moves (theta, psi) along the *gradient vector field*
v = (-d g_loss / d theta, -d d_loss / d psi):

    minimax          v = (  s(theta psi) psi,  -s(theta psi) theta )
    non-saturating   v = ( s(-theta psi) psi,  -s(theta psi) theta )
    Wasserstein      v = (             psi,               -theta )

For the minimax and Wasserstein fields d/dt (theta^2 + psi^2) = 0: the continuous flow circles
the equilibrium forever. Near (0, 0) all three are the rotation v ~ J (theta, psi) with
J = [[0, c], [-c, 0]] (c = 1/2, 1/2 and 1), eigenvalues +-ic, purely imaginary:

    simultaneous gradient descent   (theta, psi) <- (theta, psi) + h v(theta, psi):
        the linear map I + h J has |eigenvalues| = sqrt(1 + h^2 c^2) > 1, so it spirals OUT.
        For the Wasserstein field the radius grows by exactly sqrt(1 + h^2) per step.
    alternating gradient descent    psi <- psi + h v_psi(theta, psi), then theta <- theta + h
        v_theta(theta, psi_new): determinant 1, |trace| < 2, so it circles (on an ellipse).
        For the Wasserstein field Q = theta^2 + psi^2 - h theta psi is conserved exactly.

Two remedies make (0, 0) attractive (eigenvalues with negative real part):

    R1 gradient penalty   D also minimises gamma/2 E_{x ~ p_data} |grad_x D(x)|^2. For the linear
        D, grad_x D(x) = psi for every x, so the penalty is gamma/2 psi^2 and adds gamma psi to
        d d_loss / d psi: v_psi gets -gamma psi, J = [[0, 1/2], [-1/2, -gamma]],
        eigenvalues (-gamma +- sqrt(gamma^2 - 1)) / 2.
        (Written here in closed form for the linear D. A general gradient penalty needs the
        derivative of a gradient with respect to D's parameters: minigan.penalty computes it by
        a second backward pass through D's layers, and ``GAN(..., penalty="r1")`` on this
        Dirac-GAN follows the closed-form trajectory to rounding --
        ``minigan.instability.r1_through_the_general_path``.)
    instance noise        real and fake samples get the same noise eps ~ N(0, sigma^2) added
        before D sees them. Linearising the expected loss gives J = [[0, 1/2], [-1/2,
        -sigma^2 / 2]]: instance noise acts like an R1 penalty with gamma = sigma^2 / 2.
        Here eps runs over a fixed set of values (``noise``), the same at every step, so the
        expectation is an exact average and the trajectory is deterministic.

    G, D = DiracGenerator(theta0), linear_discriminator(psi0)
    path = dirac_trajectory(1.0, 1.0, "minimax", lr=0.1, num_steps=300, mode="simultaneous")
    v_theta, v_psi = dirac_field(path[:, 0], path[:, 1], "minimax")

Trajectories are computed with minigan's own modules (``Dense`` as D), losses and ``SGD``;
``dirac_field`` is the closed form, in host float64, that they are checked against.
"""
from __future__ import annotations

import math

from minigan import backend as B
from minigan.losses import get_objective
from minigan.nn.functional import sigmoid
from minigan.nn.dense import Dense
from minigan.nn.module import Module, Parameter
from minigan.optim import SGD, Adam

DIRAC_OBJECTIVES = ("minimax", "non-saturating", "wasserstein")
MODES = ("simultaneous", "alternating")


class DiracGenerator(Module):
    """p_theta = delta_theta: every sample is the one parameter theta.

    forward(z: (N, ...)) -> (N, 1) filled with theta (z only sets the batch size);
    backward(dy: (N, 1)) -> None (nothing upstream), adds sum(dy) into theta.grad.
    """

    def __init__(self, theta: float = 1.0):
        super().__init__()
        self.theta = Parameter(B.xp.full((1,), theta, dtype=B.dtype()))    # (1,)
        self.batch_size = None

    def forward(self, z):
        self._check_input(z, (None,) * max(getattr(z, "ndim", 1), 1), what="noise")
        self.batch_size = z.shape[0]
        return self._output(B.xp.broadcast_to(self.theta.data, (self.batch_size, 1)).copy())

    def backward(self, dy):
        self._check_dy(dy)
        self.theta.grad += dy.sum()
        return None

    def __repr__(self) -> str:
        return "DiracGenerator()"


def linear_discriminator(psi: float = 1.0) -> Dense:
    """D_psi(x) = psi x as a minigan Dense(1->1) without bias, W = [[psi]]."""
    D = Dense(1, 1, bias=False)
    D.W.data[...] = psi
    return D


def _check_objective(objective: str) -> str:
    if objective not in DIRAC_OBJECTIVES:
        raise ValueError(f"Dirac-GAN: objective must be one of {DIRAC_OBJECTIVES}, "
                         f"got {objective!r}")
    return objective


def dirac_field(theta, psi, objective: str = "minimax", gamma: float = 0.0, noise=None):
    """The gradient vector field v = (v_theta, v_psi) of the Dirac-GAN, in closed form.

    theta, psi: arrays of the same shape (host or backend), or floats. ``gamma``: weight of the
    R1 penalty gamma/2 psi^2. ``noise``: None, or the (n,) instance-noise values eps added to
    the real samples (0) and the fake samples (theta); the field is then the exact average over
    them. Returns (v_theta, v_psi): host float64 arrays shaped like theta.
    """
    np = B.np
    _check_objective(objective)
    theta = B.to_numpy(theta).astype(np.float64)
    psi = B.to_numpy(psi).astype(np.float64)
    eps = np.zeros(1) if noise is None else B.to_numpy(noise).astype(np.float64).reshape(-1)
    t, p = theta[..., None], psi[..., None]                   # (..., 1) against eps (n,)
    fake = t + eps                                            # (..., n) noisy fake samples
    if objective == "wasserstein":
        v_theta = np.broadcast_to(psi, theta.shape).copy()
        v_psi = -(fake.mean(axis=-1) - eps.mean())            # = -theta
    else:
        real_part = (-sigmoid(-p * eps, np) * eps).mean(axis=-1)  # d/dpsi mean softplus(-psi eps)
        fake_part = (sigmoid(p * fake, np) * fake).mean(axis=-1)   # d/dpsi mean softplus(psi x)
        v_psi = -(real_part + fake_part)
        sign = 1.0 if objective == "minimax" else -1.0
        v_theta = (sigmoid(sign * p * fake, np) * p).mean(axis=-1)
    v_psi = v_psi - gamma * psi
    return v_theta, v_psi


def dirac_jacobian(objective: str = "minimax", gamma: float = 0.0, noise_std: float = 0.0):
    """The Jacobian of the field at the equilibrium (0, 0), in closed form (host (2, 2)).

    Order (theta, psi). Cross-entropy objectives: [[0, 1/2], [-1/2, -gamma - sigma^2/2]];
    Wasserstein: [[0, 1], [-1, -gamma]] (instance noise cancels in its linear loss).
    """
    np = B.np
    _check_objective(objective)
    if objective == "wasserstein":
        return np.array([[0.0, 1.0], [-1.0, -gamma]])
    return np.array([[0.0, 0.5], [-0.5, -gamma - noise_std ** 2 / 2]])


def dirac_trajectory(theta0: float, psi0: float, objective: str = "minimax", lr: float = 0.1,
                     num_steps: int = 200, mode: str = "simultaneous", gamma: float = 0.0,
                     noise=None, optimizer: str = "sgd"):
    """Train the Dirac-GAN with minigan's modules, losses and optimizers; return the path.

    The generator is a ``DiracGenerator``, the discriminator ``linear_discriminator`` (a Dense
    layer), the losses come from ``minigan.losses.get_objective(objective)`` and both players
    step with ``SGD(lr)`` (or, with optimizer="adam", ``Adam(lr, betas=(0.5, 0.999))``, whose
    steps are not h times the field, so ``field_residual`` does not apply to them):

        simultaneous   both gradients at (theta_t, psi_t), then both steps
        alternating    D steps first; G's gradient is taken against the updated D (Algorithm 1)

    gamma > 0 adds the R1 penalty's gradient gamma * psi to D's gradient before its step.
    noise: None or (n,) instance-noise values, added to the n real (0) and n fake (theta)
    samples of every batch. Returns a host float64 array (num_steps + 1, 2) of (theta, psi).
    """
    np = B.np
    _check_objective(objective)
    if mode not in MODES:
        raise ValueError(f"dirac_trajectory: mode must be one of {MODES}, got {mode!r}")
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"dirac_trajectory: optimizer must be 'sgd' or 'adam', got "
                         f"{optimizer!r}")
    G, D = DiracGenerator(theta0), linear_discriminator(psi0)
    if optimizer == "sgd":
        g_optimizer, d_optimizer = SGD(G.parameters(), lr=lr), SGD(D.parameters(), lr=lr)
    else:
        g_optimizer = Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
        d_optimizer = Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    loss = get_objective(objective)
    eps = B.xp.zeros((1, 1), dtype=B.dtype()) if noise is None else \
        B.asarray(B.to_numpy(noise).reshape(-1, 1))                       # (n, 1)
    z = B.xp.zeros((eps.shape[0], 1), dtype=B.dtype())          # only sets the batch size
    real = eps                                                            # delta_0 plus noise

    def d_gradient():
        """d d_loss / d psi at the current (theta, psi) (+ R1), left in D.W.grad."""
        D.zero_grad()
        real_logits = D.forward(real).copy()
        _, grad_real, _ = loss.d_loss(real_logits, real_logits)
        D.backward(grad_real)
        fake_logits = D.forward(G.forward(z) + eps)
        _, _, grad_fake = loss.d_loss(real_logits, fake_logits)
        D.backward(grad_fake)
        D.W.grad += gamma * D.W.data                  # R1: d/dpsi of gamma/2 psi^2

    def g_gradient():
        """d g_loss / d theta at the current (theta, psi), left in G.theta.grad."""
        G.zero_grad()
        _, grad_fake = loss.g_loss(D.forward(G.forward(z) + eps))
        G.backward(D.backward(grad_fake))                # also fills D.W.grad; not used here

    path = np.empty((num_steps + 1, 2))
    path[0] = theta0, psi0
    for step in range(1, num_steps + 1):
        if mode == "simultaneous":
            g_gradient()
            d_gradient()                              # both at (theta_t, psi_t)
            g_optimizer.step()
            d_optimizer.step()
        else:
            d_gradient()
            d_optimizer.step()                        # psi_{t+1}
            g_gradient()                              # against the updated D
            g_optimizer.step()                        # theta_{t+1}
        path[step] = B.scalar(G.theta.data[0]), B.scalar(D.W.data[0, 0])
    return path


def field_residual(path, objective: str = "minimax", lr: float = 0.1,
                   mode: str = "simultaneous", gamma: float = 0.0, noise=None) -> float:
    """How far a trajectory's steps are from h times the closed-form field.

    path: (T + 1, 2) from ``dirac_trajectory``. For simultaneous steps each step should be
    h v(theta_t, psi_t); for alternating steps psi moves by h v_psi(theta_t, psi_t) and theta by
    h v_theta(theta_t, psi_{t+1}). Returns max |step - predicted| / max |step| (0 = exact).
    """
    np = B.np
    _check_mode(mode, "field_residual")
    path = np.asarray(B.to_numpy(path), dtype=np.float64)
    if path.ndim != 2 or path.shape[1] != 2 or path.shape[0] < 2:
        raise ValueError(f"field_residual: path must be (T + 1, 2) with T >= 1, got shape "
                         f"{path.shape}")
    theta, psi = path[:-1, 0], path[:-1, 1]
    _, v_psi = dirac_field(theta, psi, objective, gamma, noise)
    psi_for_g = psi if mode == "simultaneous" else path[1:, 1]
    v_theta, _ = dirac_field(theta, psi_for_g, objective, gamma, noise)
    predicted = lr * np.stack([v_theta, v_psi], axis=1)                 # (T, 2)
    steps = np.diff(path, axis=0)                                       # (T, 2)
    return float(np.abs(steps - predicted).max() / max(np.abs(steps).max(), 1e-300))


def _check_mode(mode, where: str) -> None:
    """ValueError unless mode is one of MODES (a misspelt mode must not run the other one)."""
    if not isinstance(mode, str):
        raise TypeError(f"{where}: mode must be one of {MODES}, got {mode!r} "
                        f"({type(mode).__name__})")
    if mode not in MODES:
        raise ValueError(f"{where}: mode must be one of {MODES}, got {mode!r}")


def normal_quantiles(n: int, std: float):
    """n equally likely values of N(0, std^2): the quantiles at (i + 1/2) / n, i = 0..n-1.

    Host float64 (n,), symmetric about 0, by bisection on the normal CDF.
    """
    np = B.np
    target = (np.arange(n) + 0.5) / n
    lo, hi = np.full(n, -10.0), np.full(n, 10.0)
    erf = np.vectorize(math.erf)
    for _ in range(60):
        mid = (lo + hi) / 2
        below = 0.5 * (1 + erf(mid / math.sqrt(2))) < target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return std * (lo + hi) / 2


def step_map(jacobian, lr: float, mode: str):
    """The linearised update (theta, psi) <- M (theta, psi) of one step near the equilibrium.

    simultaneous: M = I + h J. alternating: psi first, then theta with the new psi:
    M = [[1 + h^2 a b, h a (1 + h c)], [h b, 1 + h c]] for J = [[0, a], [b, c]].
    """
    np = B.np
    _check_mode(mode, "step_map")
    if mode == "simultaneous":
        return np.eye(2) + lr * jacobian
    a, b, c = jacobian[0, 1], jacobian[1, 0], jacobian[1, 1]
    return np.array([[1 + lr * lr * a * b, lr * a * (1 + lr * c)], [lr * b, 1 + lr * c]])
