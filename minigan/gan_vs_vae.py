"""GAN vs VAE with the same layers, the same data and the same number of steps (chapter 6, Q1).

Both are generators x = f(z) of noise z ~ N(0, I). A GAN (``minigan.gan``) trains f against a
discriminator; a VAE (``minigan.vae``) trains it as the decoder of an encoder q(z|x), minimising
the negative ELBO. Here both are built from the same Dense/LeakyReLU stacks (``mlp``): the
VAE's encoder has the discriminator's layers (with 2 * latent_dim outputs), its decoder the
generator's. Two comparisons:

    compare_on_2d(target, settings, seed)     2D mixtures (8-Gaussian ring, 3x3 grid): samples,
                                              reconstructions and codes, scored by
                                              ``minigan.metrics.mode_coverage`` -> Mixture2D
    compare_on_digits(settings, seed)         the built-in digits, dense GAN vs dense VAE, scored
                                              through a digit classifier (Frechet distance of its
                                              features, inception score, classes drawn, grey
                                              pixels) -> DigitComparison
    vae_gradient_check(seed)                  the VAE's hand-derived gradients against finite
                                              differences (minigan.gradcheck) -> VAEGradients

``Settings()`` is the full run's size, ``QUICK`` a smoke test's. The figures: ``figure_2d``,
``figure_digits``.
"""
from __future__ import annotations

import dataclasses
import time

from minigan import backend as B
from minigan import plot
from minigan.classifier import train_classifier
from minigan.data import load_digits
from minigan.gan import GAN
from minigan.gradcheck import check_function
from minigan.metrics import class_histogram, fid_from_features, inception_score, mode_coverage
from minigan.models import dense_discriminator, dense_generator
from minigan.nn import Dense, Flatten, LeakyReLU, ReLU, Reshape, Sequential
from minigan.vae import VAE, train as train_vae

np = B.np                               # host arithmetic on measured numbers

TOY_STD = 0.05                          # std of every mode of the 2D targets
TOY_LATENT_DIM = 2                      # z of both 2D models
TOY_LR = 1e-3                           # Adam, both models (GAN: betas (0.5, 0.999))
DIGIT_LATENT_DIM = 16                   # z of both digit models
DIGIT_GAN_LR, DIGIT_VAE_LR = 5e-4, 1e-3     # Adam; GAN betas (0.5, 0.999), VAE (0.9, 0.999)
IMAGE_SIZE = 28 * 28
GREY = (0.25, 0.75)                     # a pixel in [0, 1] is "grey" (blurred) inside this range


@dataclasses.dataclass(frozen=True)
class Settings:
    """The size of the comparison (defaults: the full run).

    toy_iterations, toy_width, toy_batch   steps, hidden width and batch of both 2D models
    toy_samples                            points drawn from each model to score it
    digit_train, digit_eval                training digits; held-out digits (classifier's
                                           reference and the images reconstructed)
    digit_iterations, digit_batch          steps and batch of both digit models
    digit_hidden                           (small, large) hidden widths of both digit models
    classifier_epochs                      epochs of the digit classifier that scores them
    """

    toy_iterations: int = 3000
    toy_width: int = 128
    toy_batch: int = 256
    toy_samples: int = 2000
    digit_train: int = 10000
    digit_eval: int = 2000
    digit_iterations: int = 2000
    digit_batch: int = 64
    digit_hidden: tuple = (128, 256)
    classifier_epochs: int = 3


QUICK = Settings(toy_iterations=100, toy_width=32, toy_batch=64, toy_samples=400,
                 digit_train=500, digit_eval=200, digit_iterations=30, digit_batch=32,
                 digit_hidden=(32, 64), classifier_epochs=1)


# ---------------------------------------------------------------------------------------------
# The models: the same layers for both kinds of generator

def mlp(sizes):
    """Dense layers of ``sizes``, LeakyReLU(0.2) between them: (N, sizes[0]) -> (N, sizes[-1])."""
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(fan_in, fan_out))
        if i < len(sizes) - 2:
            layers.append(LeakyReLU(0.2))
    return Sequential(*layers)


def toy_gan(data_sample, latent_dim, width, batch_size, lr=TOY_LR):
    """G: z (N, latent_dim) -> (N, 2) and D: (N, 2) -> logit, two hidden layers of ``width``."""
    G = mlp([latent_dim, width, width, 2])
    D = mlp([2, width, width, 1])
    return GAN(G, D, data_sample, latent_dim=latent_dim, batch_size=batch_size, lr_g=lr, lr_d=lr)


def toy_vae(latent_dim, width, observation_std):
    """The GAN's layers rearranged: encoder = D's with 2 * latent_dim outputs, decoder = G's."""
    encoder = mlp([2, width, width, 2 * latent_dim])
    decoder = mlp([latent_dim, width, width, 2])
    return VAE(encoder, decoder, latent_dim, likelihood="gaussian", observation_std=observation_std)


def digit_gan(latent_dim, hidden, data, batch_size):
    """Document 003's dense GAN (``minigan.models``), narrower: G z -> hidden -> 784 (tanh),
    D 784 -> reversed(hidden) -> 1 with Dropout(0.3)."""
    G = dense_generator(latent_dim, hidden=hidden, output="tanh")
    D = dense_discriminator(hidden=hidden[::-1])
    return GAN(G, D, data, latent_dim=latent_dim, batch_size=batch_size, lr_g=DIGIT_GAN_LR,
               lr_d=DIGIT_GAN_LR)


def digit_vae(latent_dim, hidden):
    """The same widths: encoder = D's layers -> (mu, logvar), decoder = G's layers -> 784 logits."""
    small, large = hidden
    encoder = Sequential(Flatten(), Dense(IMAGE_SIZE, large), LeakyReLU(0.2), Dense(large, small),
                         LeakyReLU(0.2), Dense(small, 2 * latent_dim))
    decoder = Sequential(Dense(latent_dim, small), ReLU(), Dense(small, large), ReLU(),
                         Dense(large, IMAGE_SIZE), Reshape(1, 28, 28))
    return VAE(encoder, decoder, latent_dim, likelihood="bernoulli")


# ---------------------------------------------------------------------------------------------
# The VAE's gradients, checked like every layer's

@dataclasses.dataclass
class VAEGradients:
    """Largest relative error of a small VAE's gradients (input and every parameter) of its
    loss against finite differences, float64, per likelihood."""

    gaussian: float
    bernoulli: float


def elbo_gradient_errors(vae: VAE, x, seed: int = 0) -> dict:
    """Relative errors of the gradients of L = vae.loss(vae.forward(x), target) -- the input's
    (through the encoder; the target is a separate copy of x) and every parameter's -- against
    centred differences (``minigan.gradcheck.check_function``). eps is fixed by reseeding
    minigan's generator before every pass. Build the VAE and x inside
    ``B.precision("float64")``. Returns {"input": err, "<parameter name>": err, ...}."""
    target = x.copy()

    def loss_and_grad_x():
        B.seed(seed)
        vae.zero_grad()
        value, grad_outputs = vae.loss(vae.forward(x), target)
        return value, vae.backward(grad_outputs)

    errors = {"input": check_function(lambda _: loss_and_grad_x(), x)}
    for name, p in vae.named_parameters():
        errors[name] = check_function(lambda _, p=p: (loss_and_grad_x()[0], p.grad.copy()),
                                      p.data)
    return errors


def vae_gradient_check(seed: int) -> VAEGradients:
    """``elbo_gradient_errors`` of a VAE 6 -> 5 -> 4 | 2 -> 5 -> 6 on 4 points in (0.1, 0.9)^6,
    for both likelihoods; the largest error of each."""
    worst = {}
    with B.precision("float64"):
        for likelihood in ("gaussian", "bernoulli"):
            B.seed(seed)
            vae = VAE(mlp([6, 5, 4]), mlp([2, 5, 6]), 2, likelihood=likelihood,
                      observation_std=0.5)
            x = B.rand(4, 6) * 0.8 + 0.1                            # valid Bernoulli targets too
            worst[likelihood] = max(elbo_gradient_errors(vae, x, seed).values())
    return VAEGradients(**worst)


# ---------------------------------------------------------------------------------------------
# GAN vs VAE on 2D mixtures

@dataclasses.dataclass
class Scored:
    """Points scored against a mixture's modes (``minigan.metrics.mode_coverage``, 3 std)."""

    modes: int                      # modes with at least one point within 3 std
    high_quality: float             # fraction of the points within 3 std of a mode
    reverse_kl: float               # KL of their histogram over the modes to the uniform one
    points: object = dataclasses.field(repr=False)       # (n, 2) host array


def score(points, mixture) -> Scored:
    """``points`` (n, 2) on the host against ``mixture``'s modes."""
    c = mode_coverage(points, mixture.centres, mixture.std)
    return Scored(int(c["modes_covered"]), float(c["high_quality_fraction"]),
                  float(c["reverse_kl"]), points)


@dataclasses.dataclass
class Mixture2D:
    """GAN vs VAE on one 2D mixture: the data, GAN samples G(z), VAE samples f(z) and VAE
    reconstructions f(mu(x)) of data points, each scored; the VAE's codes mu(x)."""

    target: str
    real: Scored
    gan: Scored
    vae: Scored
    vae_recon: Scored
    mixture: object = dataclasses.field(repr=False)
    codes: object = dataclasses.field(repr=False)         # (n, latent) mu(x) of the data
    mode_of_real: object = dataclasses.field(repr=False)  # (n,) nearest mode of each data point
    gan_seconds: float = dataclasses.field(repr=False, default=0.0)
    vae_seconds: float = dataclasses.field(repr=False, default=0.0)


def compare_on_2d(target: str, mixture, settings: Settings, seed: int) -> Mixture2D:
    """Train a GAN and a VAE of the same widths for the same steps on ``mixture`` (a
    ``minigan.data`` 2D mixture named ``target``); score their samples and reconstructions."""
    width, batch = settings.toy_width, settings.toy_batch
    iterations, n = settings.toy_iterations, settings.toy_samples
    B.seed(seed)
    gan = toy_gan(mixture.sample, TOY_LATENT_DIM, width, batch)
    start = time.perf_counter()
    gan.train(iterations)
    gan_seconds = time.perf_counter() - start
    B.seed(seed)
    vae = toy_vae(TOY_LATENT_DIM, width, observation_std=mixture.std)
    start = time.perf_counter()
    train_vae(vae, mixture.sample, iterations, batch_size=batch, lr=TOY_LR)
    vae_seconds = time.perf_counter() - start

    real = mixture.sample(n)
    codes = vae.encoder.forward(real)[:, :TOY_LATENT_DIM]          # mu(x) (N, 2)
    real_host = B.to_numpy(real)
    nearest = np.linalg.norm(real_host[:, None] - mixture.centres[None], axis=2).argmin(1)
    return Mixture2D(
        target=target, real=score(real_host, mixture),
        gan=score(B.to_numpy(gan.sample(n)), mixture),
        vae=score(B.to_numpy(vae.sample(n)), mixture),
        vae_recon=score(B.to_numpy(vae.reconstruct(real)), mixture),
        mixture=mixture, codes=B.to_numpy(codes), mode_of_real=nearest,
        gan_seconds=gan_seconds, vae_seconds=vae_seconds)


def figure_2d(path, runs) -> str:
    """One row per Mixture2D: data, GAN samples, VAE samples, VAE reconstructions, VAE codes."""
    columns = ("real", "gan", "vae", "vae_recon")
    titles = {"real": "data", "gan": "GAN samples G(z)", "vae": "VAE samples f(z)",
              "vae_recon": "VAE reconstructions f(mu(x))"}
    colours = {"real": "black", "gan": "tab:green", "vae": "tab:purple", "vae_recon": "tab:purple"}
    fig, axes = plot.new_figure(len(columns) + 1, len(runs), (3.1, 3.1))
    for row, run in enumerate(runs):
        centres = run.mixture.centres
        lim = float(np.abs(centres).max()) + 1.0
        for col, key in enumerate(columns):
            ax = axes[row, col]
            scored = getattr(run, key)
            ax.scatter(centres[:, 0], centres[:, 1], s=60, facecolors="none",
                       edgecolors="0.6", linewidths=0.8)
            ax.scatter(scored.points[:, 0], scored.points[:, 1], s=2, color=colours[key],
                       alpha=0.5)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.set_title(f"{run.target}: {titles[key]}\n{scored.modes}/{len(centres)} modes, "
                         f"{100 * scored.high_quality:.0f}% on a mode", fontsize=9)
            ax.tick_params(labelsize=7)
        ax = axes[row, len(columns)]
        angles = np.linspace(0, 2 * np.pi, 200)
        for radius in (1, 2):
            ax.plot(radius * np.cos(angles), radius * np.sin(angles), color="0.6", linewidth=0.8)
        ax.scatter(run.codes[:, 0], run.codes[:, 1], s=2, c=run.mode_of_real,
                   cmap="tab10" if len(centres) <= 10 else "tab20", alpha=0.6)
        ax.set_aspect("equal")
        ax.set_title(f"{run.target}: VAE codes mu(x), coloured by mode\n"
                     f"(grey: 1 and 2 std of the prior)", fontsize=9)
        ax.tick_params(labelsize=7)
    fig.suptitle("Q1  GAN vs VAE with the same layers and steps: samples, reconstructions and "
                 "the VAE's codes\n(each title: modes reached and the share of points within "
                 "3 std of a mode)", fontsize=11)
    return plot.save(fig, path)


# ---------------------------------------------------------------------------------------------
# GAN vs VAE on digits

@dataclasses.dataclass
class DigitJudge:
    """A digit classifier trained on the training digits, and its features of held-out digits
    (the reference every set of images is compared with)."""

    accuracy: float                 # on the held-out digits
    real_fd: float                  # FD of training digits to the held-out ones: the floor
    classifier: object = dataclasses.field(repr=False)
    reference_features: object = dataclasses.field(repr=False)
    seconds: float = dataclasses.field(repr=False, default=0.0)


def digit_judge(settings: Settings, seed: int) -> DigitJudge:
    """Train the digit classifier on ``digit_train`` digits (seed ``seed``) for
    ``classifier_epochs``; its reference: the features of ``digit_eval`` held-out digits
    (seed + 1)."""
    train01, train_labels = load_digits(settings.digit_train, seed=seed, scale=None)
    eval01, eval_labels = load_digits(settings.digit_eval, seed=seed + 1, scale=None)
    start = time.perf_counter()
    classifier = train_classifier(2 * train01 - 1, train_labels,
                                  epochs=settings.classifier_epochs, seed=seed)
    seconds = time.perf_counter() - start
    reference = classifier.features(2 * eval01 - 1)                 # held-out real digits
    real_fd = fid_from_features(reference,
                                classifier.features(2 * train01[:settings.digit_eval] - 1))
    return DigitJudge(accuracy=float(classifier.accuracy(2 * eval01 - 1, eval_labels)),
                      real_fd=float(real_fd),
                      classifier=classifier, reference_features=reference, seconds=seconds)


@dataclasses.dataclass
class ImageScores:
    """A set of images (N, 1, 28, 28) in [0, 1] through the digit classifier."""

    fid: float                      # Frechet distance of its features to the held-out digits'
    inception_score: float
    classes_covered: int            # digits predicted for at least one image
    class_kl_to_uniform: float      # KL of the predicted-digit histogram to the uniform one
    grey_fraction: float            # pixels in GREY: blur
    histogram: object = dataclasses.field(repr=False)    # (10,) share of each predicted digit
    images: object = dataclasses.field(repr=False)


def image_scores(images01, judge: DigitJudge) -> ImageScores:
    """Score ``images01`` (N, 1, 28, 28) host images in [0, 1] with ``judge``."""
    images = 2 * images01 - 1                                        # the classifier's [-1, 1]
    classifier = judge.classifier
    probs = classifier.predict_proba(images)
    histogram = class_histogram(probs, 10)
    covered = histogram > 0
    splits = max(1, min(10, len(images) // 100))
    return ImageScores(
        fid=float(fid_from_features(judge.reference_features, classifier.features(images))),
        inception_score=float(inception_score(probs, splits=splits)[0]),
        classes_covered=int(covered.sum()),
        class_kl_to_uniform=float((histogram[covered] * np.log(histogram[covered] * 10)).sum()),
        grey_fraction=float(((images01 > GREY[0]) & (images01 < GREY[1])).mean()),
        histogram=histogram, images=images01)


@dataclasses.dataclass
class DigitComparison:
    """Dense GAN vs dense VAE on the built-in digits: real digits (the floor), GAN samples, VAE
    samples and VAE reconstructions of unseen digits, each scored by the judge."""

    classifier_accuracy: float
    real: ImageScores
    gan: ImageScores
    vae: ImageScores
    vae_recon: ImageScores
    originals: object = dataclasses.field(repr=False)     # the unseen digits reconstructed
    judge: DigitJudge = dataclasses.field(repr=False, default=None)
    gan_seconds: float = dataclasses.field(repr=False, default=0.0)
    vae_seconds: float = dataclasses.field(repr=False, default=0.0)


def compare_on_digits(settings: Settings, seed: int) -> DigitComparison:
    """Dense GAN and dense VAE with the same widths and steps on the built-in digits."""
    train01, _ = load_digits(settings.digit_train, seed=seed, scale=None)
    unseen01, _ = load_digits(settings.digit_eval, seed=seed + 2, scale=None)   # to reconstruct
    judge = digit_judge(settings, seed)
    latent, hidden = DIGIT_LATENT_DIM, settings.digit_hidden
    iterations, batch = settings.digit_iterations, settings.digit_batch
    B.seed(seed)
    gan = digit_gan(latent, hidden, B.asarray(2 * train01 - 1), batch)
    start = time.perf_counter()
    gan.train(iterations)
    gan_seconds = time.perf_counter() - start
    B.seed(seed)
    vae = digit_vae(latent, hidden)
    start = time.perf_counter()
    train_vae(vae, B.asarray(train01), iterations, batch_size=batch, lr=DIGIT_VAE_LR)
    vae_seconds = time.perf_counter() - start

    n = settings.digit_eval
    return DigitComparison(
        classifier_accuracy=judge.accuracy,
        real=image_scores(train01[:n], judge),                     # real vs held-out: the floor
        gan=image_scores(B.to_numpy(gan.sample(n)) / 2 + 0.5, judge),
        vae=image_scores(B.to_numpy(vae.sample(n)), judge),
        vae_recon=image_scores(B.to_numpy(vae.reconstruct(B.asarray(unseen01))), judge),
        originals=unseen01, judge=judge, gan_seconds=gan_seconds, vae_seconds=vae_seconds)


def figure_digits(path, run: DigitComparison, rows: int = 8, cols: int = 8) -> str:
    """Real digits, GAN samples, VAE samples, and VAE reconstructions next to their originals;
    the share of each predicted digit."""
    recon_pairs = np.empty((rows * cols,) + run.originals.shape[1:])
    half = rows * cols // 2
    recon_pairs[0::2] = run.originals[:half]
    recon_pairs[1::2] = run.vae_recon.images[:half]
    panels = [(run.real.images, "real digits", run.real),
              (run.gan.images, "GAN samples", run.gan),
              (run.vae.images, "VAE samples", run.vae),
              (recon_pairs, "VAE: original | reconstruction", run.vae_recon)]
    fig, axes = plot.new_figure(len(panels) + 1, 1, (3.6, 4.0))
    for ax, (images, title, scores) in zip(axes[0], panels):
        ax.imshow(plot.tile(images[:rows * cols], cols, (0.0, 1.0)), cmap="gray", vmin=0,
                  vmax=1, interpolation="nearest")
        ax.axis("off")
        ax.set_title(f"{title}\nFD {scores.fid:.1f}, grey pixels "
                     f"{100 * scores.grey_fraction:.1f}%", fontsize=10)
    ax = axes[0, -1]
    bars = (("real", run.real, -0.27, "0.3"), ("gan", run.gan, 0.0, "tab:green"),
            ("vae", run.vae, 0.27, "tab:purple"))
    for key, scores, offset, colour in bars:
        ax.bar(np.arange(10) + offset, scores.histogram, width=0.27, color=colour,
               label=f"{key} ({scores.classes_covered} classes)")
    ax.axhline(0.1, color="gray", linewidth=0.8, linestyle=":")
    ax.set_xticks(range(10))
    ax.set_xlabel("digit predicted by the classifier")
    ax.set_ylabel("fraction of samples")
    ax.legend(fontsize="small")
    ax.set_title("which digits each model draws", fontsize=10)
    fig.suptitle("Q1  GAN vs VAE on digits (FD: Frechet distance of classifier features to "
                 "held-out real digits; lower is closer)", fontsize=11)
    return plot.save(fig, path)
