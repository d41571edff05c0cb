"""Instability measured on the Dirac-GAN (Mescheder, Geiger & Nowozin, 2018): chapter 5's study 1.

Five cases -- the minimax, non-saturating and Wasserstein objectives, and the minimax objective
with an R1 penalty or instance noise -- each trained by simultaneous and by alternating SGD from
one start (``minigan.dirac``, float64), every step checked against the closed-form field; the
linear analysis (eigenvalues of the Jacobian at the equilibrium, spectral radius of one step);
and 001 §5's remedy, Adam, on the minimax game. ``dirac_study`` returns a ``DiracStudy``.
"""
from __future__ import annotations

import dataclasses
import math

from minigan import backend as B
from minigan import plot
from minigan.dirac import (MODES, DiracGenerator, dirac_field, dirac_jacobian, dirac_trajectory,
                           field_residual, linear_discriminator, normal_quantiles, step_map)
from minigan.gan import GAN
from minigan.optim import SGD
from minigan.penalty import GradientPenalty

np = B.np                     # host float64: trajectories, eigenvalues, figures

LR = 0.05                     # h, the SGD step of both players
STEPS, QUICK_STEPS = 1000, 200
START = (1.0, 1.0)            # (theta, psi)
R1_GAMMA = 0.5                # R1 penalty weight
NOISE_STD = 1.0               # instance noise: the same damping as R1 with gamma = std^2 / 2
NOISE_POINTS = 64             # the fixed set of noise values (normal quantiles)


@dataclasses.dataclass(frozen=True)
class Case:
    """One game: an objective of minigan.dirac, optionally regularised ("r1" | "noise")."""
    objective: str
    regulariser: str | None
    label: str

    @property
    def key(self) -> str:
        """'minimax', 'minimax+r1', ...: how the records name the case."""
        return self.objective if self.regulariser is None else \
            f"{self.objective}+{self.regulariser}"

    def extra(self) -> dict:
        """Keyword arguments of dirac_trajectory / dirac_field for the regulariser."""
        if self.regulariser == "r1":
            return {"gamma": R1_GAMMA}
        if self.regulariser == "noise":
            return {"noise": normal_quantiles(NOISE_POINTS, NOISE_STD)}
        return {}


CASES = (
    Case("minimax", None, "minimax (standard)"),
    Case("non-saturating", None, "non-saturating"),
    Case("wasserstein", None, "Wasserstein"),
    Case("minimax", "r1", f"minimax + R1, gamma = {R1_GAMMA:g}"),
    Case("minimax", "noise", f"minimax + instance noise, std = {NOISE_STD:g}"),
)


@dataclasses.dataclass
class LinearRow:
    """The linearisation of one case at (0, 0): the Jacobian's eigenvalues (complex (2,)) and
    the spectral radius of one simultaneous and one alternating step."""
    label: str
    eigenvalues: object
    radius_simultaneous: float
    radius_alternating: float


@dataclasses.dataclass
class DiracStudy:
    """What the Dirac-GAN study measured.

    paths: {(case key, mode): (steps + 1, 2) trajectory}; adam: the minimax game under
    simultaneous Adam; final_distance: {(case key, mode): |(theta, psi)| after the last step};
    final_distance_adam; field_residual: the largest relative deviation of any step from
    h * field; wgan_growth / wgan_growth_predicted: radius ratio of simultaneous WGAN, measured
    and (1 + h^2)^(steps/2); wgan_invariant_drift: the largest relative change of
    theta^2 + psi^2 - h theta psi under alternating WGAN; linear: a LinearRow per case."""
    steps: int
    paths: dict = dataclasses.field(repr=False)
    adam: object = dataclasses.field(repr=False)
    final_distance: dict
    final_distance_adam: float
    field_residual: float
    wgan_growth: float
    wgan_growth_predicted: float
    wgan_invariant_drift: float
    linear: list


def dirac_study(steps: int = STEPS) -> DiracStudy:
    """Every case under both schemes for ``steps`` SGD steps from START, in float64."""
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"dirac_study: steps must be a positive int, got {steps!r}")
    paths, residual = {}, 0.0
    with B.precision("float64"):
        for case in CASES:
            for mode in MODES:
                path = dirac_trajectory(*START, case.objective, LR, steps, mode, **case.extra())
                paths[case.key, mode] = path
                residual = max(residual, field_residual(path, case.objective, LR, mode,
                                                        **case.extra()))
        adam = dirac_trajectory(*START, "minimax", LR, steps, "simultaneous", optimizer="adam")
    wgan = paths["wasserstein", "simultaneous"]
    theta, psi = paths["wasserstein", "alternating"].T
    invariant = theta ** 2 + psi ** 2 - LR * theta * psi
    noise_rms = math.sqrt(float((normal_quantiles(NOISE_POINTS, NOISE_STD) ** 2).mean()))
    linear = []
    for case in CASES:
        jacobian = dirac_jacobian(case.objective,
                                  gamma=R1_GAMMA if case.regulariser == "r1" else 0.0,
                                  noise_std=noise_rms if case.regulariser == "noise" else 0.0)
        radii = [float(np.abs(np.linalg.eigvals(step_map(jacobian, LR, m))).max())
                 for m in MODES]
        linear.append(LinearRow(case.label, np.linalg.eigvals(jacobian), *radii))
    return DiracStudy(
        steps=steps, paths=paths, adam=adam,
        final_distance={key: float(np.hypot(*path[-1])) for key, path in paths.items()},
        final_distance_adam=float(np.hypot(*adam[-1])), field_residual=residual,
        wgan_growth=float(np.hypot(*wgan[-1]) / np.hypot(*wgan[0])),
        wgan_growth_predicted=(1 + LR ** 2) ** (steps / 2),
        wgan_invariant_drift=float(np.abs(invariant / invariant[0] - 1).max()),
        linear=linear)


@dataclasses.dataclass(frozen=True)
class GeneralR1:
    """The Dirac-GAN with R1 trained as any GAN is -- ``GAN(..., penalty="r1")``, whose penalty
    gradient comes from the second backward pass of minigan.penalty through D's Dense layer --
    against minigan.dirac's trajectory, whose R1 is the closed form gamma psi.

    max_deviation: the largest |difference| of (theta, psi) between the two over every step;
    final_distance: |(theta, psi)| after the last step of the general path."""
    objective: str
    gamma: float
    steps: int
    max_deviation: float
    final_distance: float


def r1_through_the_general_path(steps: int = STEPS, objective: str = "minimax",
                                gamma: float = R1_GAMMA) -> GeneralR1:
    """Alternating SGD (one D step, then one G step: Algorithm 1 with k = 1) from START, in
    float64, through GAN and minigan.penalty; compared with the closed form step by step."""
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"r1_through_the_general_path: steps must be a positive int, got "
                         f"{steps!r}")
    with B.precision("float64"):
        G, D = DiracGenerator(START[0]), linear_discriminator(START[1])
        gan = GAN(G, D, lambda n: B.xp.zeros((n, 1)), latent_dim=1, batch_size=1,
                  objective=objective, penalty=GradientPenalty("r1", gamma),
                  g_optimizer=SGD(G.parameters(), lr=LR), d_optimizer=SGD(D.parameters(), lr=LR))
        path = [START]
        for _ in range(steps):
            gan.step()
            path.append((B.scalar(G.theta.data[0]), B.scalar(D.W.data[0, 0])))
        closed = dirac_trajectory(*START, objective, LR, steps, "alternating", gamma=gamma)
    path = np.array(path)
    return GeneralR1(objective=objective, gamma=gamma, steps=steps,
                     max_deviation=float(np.abs(path - closed).max()),
                     final_distance=float(np.hypot(*path[-1])))


def linear_table(study: DiracStudy) -> str:
    """The linear analysis as text: eigenvalues and one step's spectral radius per case."""
    lines = ["Dirac-GAN near the equilibrium: eigenvalues of the Jacobian and spectral radius "
             "of one step",
             f"  {'case':<38} {'eigenvalues':<26} {'simultaneous':>12} {'alternating':>12}"]
    for row in study.linear:
        shown = ", ".join(f"{e.real:+.3f}{e.imag:+.3f}i" for e in row.eigenvalues)
        lines.append(f"  {row.label:<38} {shown:<26} {row.radius_simultaneous:12.6f} "
                     f"{row.radius_alternating:12.6f}")
    return "\n".join(lines)


def field_figure(path: str, study: DiracStudy, title: str) -> str:
    """Vector field and trajectories: a column per case, a row per update scheme."""
    fig, axes = plot.new_figure(len(CASES), 2, (3.3, 3.75))
    span = 2.0
    grid = np.linspace(-span, span, 15)
    theta, psi = np.meshgrid(grid, grid)
    for column, case in enumerate(CASES):
        v_theta, v_psi = dirac_field(theta, psi, case.objective, **case.extra())
        length = np.hypot(v_theta, v_psi) + 1e-12           # arrows show the direction only
        for row, mode in enumerate(MODES):
            ax = axes[row, column]
            trajectory = study.paths[case.key, mode]
            ax.quiver(theta, psi, v_theta / length, v_psi / length, color="0.6", angles="xy",
                      scale_units="xy", scale=4.5, width=0.004)
            ax.plot(trajectory[:, 0], trajectory[:, 1], color="tab:red", linewidth=1.2)
            ax.plot(*trajectory[0], "o", color="black", markersize=4)
            ax.plot(*trajectory[-1], "s", color="tab:red", markersize=4)
            ax.plot(0, 0, "*", color="tab:blue", markersize=10)
            ax.set_xlim(-span, span)
            ax.set_ylim(-span, span)
            ax.set_aspect("equal")
            start, end = np.hypot(*trajectory[0]), np.hypot(*trajectory[-1])
            ax.set_title(f"{case.label}\n{mode}: distance {start:.2f} $\\to$ {end:.2g}",
                         fontsize=9)
            ax.set_xlabel(r"$\theta$ (generator)")
            ax.set_ylabel(r"$\psi$ (discriminator)")
    fig.suptitle(title)
    return plot.save(fig, path)


def distance_figure(path: str, study: DiracStudy, title: str) -> str:
    """Distance to the equilibrium against the step, every case and scheme, log scale."""
    fig, axes = plot.new_figure(1, 1, (6.4, 4.2))
    ax = axes[0, 0]
    colours = ("tab:red", "tab:orange", "tab:purple", "tab:green", "tab:blue")
    for colour, case in zip(colours, CASES):
        for mode, style in zip(MODES, ("-", "--")):
            ax.plot(np.hypot(*study.paths[case.key, mode].T), style, color=colour,
                    linewidth=1.3, label=f"{case.label}, {mode}")
    ax.plot(np.hypot(*study.adam.T), ":", color="black", linewidth=1.5,
            label="minimax, simultaneous, Adam")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(r"$|(\theta, \psi)|$, distance to the equilibrium")
    ax.set_title(title)
    ax.legend(fontsize="x-small", ncol=2)
    return plot.save(fig, path)
