"""Chapter 6 -- the FAQ, answered with experiments: GAN vs VAE, compute cost, what a GAN can't make.

Mirrors section 6 of the documents (附录常见问题与解答): 000 §6 (all three questions), 001 §6.1,
002 §8 ("what data can a GAN generate?"), 003 §6 Q1 (how to train faster), 004 §6.1, §6.2 (how
to adjust the learning rate) and §6.3.
The documents answer in one sentence each; here each answer is measured.

Run:  python chapters/ch6_faq.py [--quick] [--seed S] [--backend numpy|cupy] [--out DIR]
or open it as a notebook and run its cells in order (the settings cell takes the same options;
the cells above it only define).
"""
# %% Imports and constants
import os
import time

import numpy as np
from matplotlib import colormaps
from matplotlib.patches import Rectangle

from minigan import chapter  # first: it turns a bad MINIGAN_BACKEND into one line
from minigan import backend as B
from minigan import plot
from minigan.classifier import train_classifier
from minigan.data import Grid, Ring, load_digits
from minigan.flops import dense_flops, matmul_peak
from minigan.gan import GAN, TrainingDiverged
from minigan.metrics import (class_histogram, fid_from_features, inception_score, mode_coverage,
                             precision_recall)
from minigan.models import (dcgan_discriminator, dcgan_generator, dense_discriminator,
                            dense_generator)
from minigan.nn import Dense, Flatten, LeakyReLU, ReLU, Reshape, Sequential
from minigan.optim import Adam
from minigan.vae import VAE, check_gradients, train as train_vae

TITLE = ("Chapter 6 -- the FAQ, answered with experiments: GAN vs VAE, compute cost, what a GAN "
         "can't make")
TOY_STD = 0.05                          # std of every mode of the 2D targets
TOY_LATENT_DIM = 2                      # z of both 2D models
TOY_LR = 1e-3                           # Adam, both models (GAN: betas (0.5, 0.999))
DIGIT_LATENT_DIM = 16                   # z of both digit models
DIGIT_GAN_LR, DIGIT_VAE_LR = 5e-4, 1e-3     # Adam; GAN betas (0.5, 0.999), VAE (0.9, 0.999)
IMAGE_SIZE = 28 * 28
GREY = (0.25, 0.75)                     # a pixel in [0, 1] is "grey" (blurred) inside this range
SQUARE_HALF_WIDTH = 1.0                 # Q3's 2D target: uniform on [-1, 1]^2
Z_SWEEP = np.linspace(-3.0, 3.0, 600)   # the 1D latent line drawn through G
SWEEP_SNAPSHOTS = 5                     # earlier positions of that line drawn in grey

FULL = dict(
    toy_iterations=3000, toy_width=128, toy_batch=256, toy_samples=2000,
    digit_train=10000, digit_eval=2000, digit_iterations=2000, digit_batch=64,
    digit_hidden=(128, 256), classifier_epochs=3,
    cost_widths=(64, 128, 256, 512, 1024), cost_batches=(16, 64, 256), cost_repeats=5,
    cost_peak_size=1024,
    limit_iterations=2500, limit_batch=128, dimension_samples=2000,
    lr_grid=(1e-4, 4e-4, 1.6e-3, 6.4e-3, 2.56e-2), lr_iterations=3000, lr_eval_every=250,
    lr_width=64, lr_batch=64, lr_seeds=3, lr_samples=1000, adam_rates=(1e-4, 1e-3, 1e-2),
    adam_iterations=300,
    dcgan_lr_grid=(5e-5, 2e-4, 8e-4, 3.2e-3), dcgan_iterations=600, dcgan_eval_every=100,
    dcgan_channels=(64, 32), dcgan_batch=64, dcgan_samples=1000,
)
QUICK = dict(
    toy_iterations=100, toy_width=32, toy_batch=64, toy_samples=400,
    digit_train=500, digit_eval=200, digit_iterations=30, digit_batch=32,
    digit_hidden=(32, 64), classifier_epochs=1,
    cost_widths=(32, 64), cost_batches=(16, 64), cost_repeats=2, cost_peak_size=256,
    limit_iterations=100, limit_batch=64, dimension_samples=1000,
    lr_grid=(1e-4, 2.56e-2), lr_iterations=100, lr_eval_every=50, lr_width=32, lr_batch=64,
    lr_seeds=1, lr_samples=200, adam_rates=(1e-4, 1e-2), adam_iterations=60,
    dcgan_lr_grid=(2e-4, 3.2e-3), dcgan_iterations=4, dcgan_eval_every=2,
    dcgan_channels=(8, 4), dcgan_batch=16, dcgan_samples=200,
)


# %% Models: the same layers for both kinds of generator
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


# %% Q1: the VAE's gradients, checked like every layer's
def vae_gradient_check(seed):
    """Largest relative error of a small VAE's gradients (input and every parameter), float64."""
    worst = {}
    with B.precision("float64"):
        for likelihood in ("gaussian", "bernoulli"):
            B.seed(seed)
            vae = VAE(mlp([6, 5, 4]), mlp([2, 5, 6]), 2, likelihood=likelihood,
                      observation_std=0.5)
            x = B.rand(4, 6) * 0.8 + 0.1                            # valid Bernoulli targets too
            worst[likelihood] = max(check_gradients(vae, x).values())
    return worst


# %% Q1: GAN vs VAE on 2D mixtures
def coverage(samples, data):
    """mode_coverage of samples against the mixture's modes, without the counts."""
    result = mode_coverage(samples, data.centres, data.std)
    return {key: result[key] for key in ("modes_covered", "high_quality_fraction", "reverse_kl")}


def compare_on_2d(data, settings, seed):
    """Train a GAN and a VAE of the same widths for the same steps on ``data``; measure both."""
    width, batch = settings["toy_width"], settings["toy_batch"]
    iterations, n = settings["toy_iterations"], settings["toy_samples"]
    B.seed(seed)
    gan = toy_gan(data.sample, TOY_LATENT_DIM, width, batch)
    start = time.perf_counter()
    gan.train(iterations)
    gan_seconds = time.perf_counter() - start
    B.seed(seed)
    vae = toy_vae(TOY_LATENT_DIM, width, observation_std=data.std)
    start = time.perf_counter()
    history = train_vae(vae, data.sample, iterations, batch_size=batch, lr=TOY_LR)
    vae_seconds = time.perf_counter() - start

    real = data.sample(n)
    codes = vae.encoder.forward(real)[:, :TOY_LATENT_DIM]          # mu(x) (N, 2)
    result = {
        "real": B.to_numpy(real), "gan": B.to_numpy(gan.sample(n)),
        "vae": B.to_numpy(vae.sample(n)), "vae_recon": B.to_numpy(vae.reconstruct(real)),
        "codes": B.to_numpy(codes), "history": history,
        "gan_seconds": gan_seconds, "vae_seconds": vae_seconds,
    }
    for key in ("real", "gan", "vae", "vae_recon"):
        result[key + "_coverage"] = coverage(result[key], data)
    nearest = np.linalg.norm(result["real"][:, None] - data.centres[None], axis=2).argmin(1)
    result["mode_of_real"] = nearest
    return result


def figure_2d(path, runs):
    """One row per target: data, GAN samples, VAE samples, VAE reconstructions, VAE codes."""
    columns = ("real", "gan", "vae", "vae_recon")
    titles = {"real": "data", "gan": "GAN samples G(z)", "vae": "VAE samples f(z)",
              "vae_recon": "VAE reconstructions f(mu(x))"}
    colours = {"real": "black", "gan": "tab:green", "vae": "tab:purple", "vae_recon": "tab:purple"}
    fig, axes = plot.new_figure(len(columns) + 1, len(runs), (3.1, 3.1))
    for row, (name, data, run) in enumerate(runs):
        lim = float(np.abs(data.centres).max()) + 1.0
        for col, key in enumerate(columns):
            ax = axes[row, col]
            c = run[key + "_coverage"]
            ax.scatter(data.centres[:, 0], data.centres[:, 1], s=60, facecolors="none",
                       edgecolors="0.6", linewidths=0.8)
            ax.scatter(run[key][:, 0], run[key][:, 1], s=2, color=colours[key], alpha=0.5)
            ax.set_xlim(-lim, lim)
            ax.set_ylim(-lim, lim)
            ax.set_aspect("equal")
            ax.set_title(f"{name}: {titles[key]}\n{c['modes_covered']}/{len(data.centres)} modes, "
                         f"{100 * c['high_quality_fraction']:.0f}% on a mode", fontsize=9)
            ax.tick_params(labelsize=7)
        ax = axes[row, len(columns)]
        angles = np.linspace(0, 2 * np.pi, 200)
        for radius in (1, 2):
            ax.plot(radius * np.cos(angles), radius * np.sin(angles), color="0.6", linewidth=0.8)
        ax.scatter(run["codes"][:, 0], run["codes"][:, 1], s=2, c=run["mode_of_real"],
                   cmap="tab10" if len(data.centres) <= 10 else "tab20", alpha=0.6)
        ax.set_aspect("equal")
        ax.set_title(f"{name}: VAE codes mu(x), coloured by mode\n"
                     f"(grey: 1 and 2 std of the prior)", fontsize=9)
        ax.tick_params(labelsize=7)
    fig.suptitle("Q1  GAN vs VAE with the same layers and steps. The GAN puts most samples on a "
                 "mode, joined by thin bridges;\nthe VAE reconstructs every mode, but the prior's "
                 "mass between the codes (right) decodes to points between the modes", fontsize=11)
    return plot.save(fig, path)


# %% Q1: GAN vs VAE on digits
def image_metrics(images01, classifier, reference_features):
    """Measurements of a set of images (N, 1, 28, 28) in [0, 1] through the digit classifier."""
    images = 2 * images01 - 1                                        # the classifier's [-1, 1]
    features = classifier.features(images)
    probs = classifier.predict_proba(images)
    histogram = class_histogram(probs, 10)
    covered = histogram > 0
    splits = max(1, min(10, len(images) // 100))
    return {
        "fid": fid_from_features(reference_features, features),
        "inception_score": inception_score(probs, splits=splits)[0],
        "classes_covered": int(covered.sum()),
        "class_kl_to_uniform": float((histogram[covered] * np.log(histogram[covered] * 10)).sum()),
        "grey_fraction": float(((images01 > GREY[0]) & (images01 < GREY[1])).mean()),
        "histogram": histogram,
    }


def compare_on_digits(settings, seed):
    """Dense GAN and dense VAE with the same widths and steps on the built-in digits."""
    train01, train_labels = load_digits(settings["digit_train"], seed=seed, scale=None)
    eval01, eval_labels = load_digits(settings["digit_eval"], seed=seed + 1, scale=None)
    unseen01, _ = load_digits(settings["digit_eval"], seed=seed + 2, scale=None)  # to reconstruct
    start = time.perf_counter()
    classifier = train_classifier(2 * train01 - 1, train_labels,
                                  epochs=settings["classifier_epochs"], seed=seed)
    classifier_seconds = time.perf_counter() - start
    accuracy = classifier.accuracy(2 * eval01 - 1, eval_labels)
    reference = classifier.features(2 * eval01 - 1)                 # held-out real digits

    latent, hidden = DIGIT_LATENT_DIM, settings["digit_hidden"]
    iterations, batch = settings["digit_iterations"], settings["digit_batch"]
    B.seed(seed)
    gan = digit_gan(latent, hidden, B.asarray(2 * train01 - 1), batch)
    start = time.perf_counter()
    gan.train(iterations)
    gan_seconds = time.perf_counter() - start
    B.seed(seed)
    vae = digit_vae(latent, hidden)
    start = time.perf_counter()
    history = train_vae(vae, B.asarray(train01), iterations, batch_size=batch, lr=DIGIT_VAE_LR)
    vae_seconds = time.perf_counter() - start

    n = settings["digit_eval"]
    sets = {
        "real": train01[:n],                                        # real vs held-out: the floor
        "gan": B.to_numpy(gan.sample(n)) / 2 + 0.5,
        "vae": B.to_numpy(vae.sample(n)),
        "vae_recon": B.to_numpy(vae.reconstruct(B.asarray(unseen01))),
    }
    return {
        "images": sets, "originals": unseen01,
        "metrics": {key: image_metrics(images, classifier, reference)
                    for key, images in sets.items()},
        "classifier": classifier, "reference_features": reference,
        "classifier_accuracy": accuracy, "classifier_seconds": classifier_seconds,
        "gan_seconds": gan_seconds, "vae_seconds": vae_seconds, "vae_history": history,
    }


def figure_digits(path, run, rows=8, cols=8):
    """Real digits, GAN samples, VAE samples, and VAE reconstructions next to their originals."""
    m = run["metrics"]
    recon_pairs = np.empty((rows * cols,) + run["originals"].shape[1:])
    half = rows * cols // 2
    recon_pairs[0::2] = run["originals"][:half]
    recon_pairs[1::2] = run["images"]["vae_recon"][:half]
    panels = [
        (run["images"]["real"], "real digits", m["real"]),
        (run["images"]["gan"], "GAN samples", m["gan"]),
        (run["images"]["vae"], "VAE samples", m["vae"]),
        (recon_pairs, "VAE: original | reconstruction", m["vae_recon"]),
    ]
    fig, axes = plot.new_figure(len(panels) + 1, 1, (3.6, 4.0))
    for ax, (images, title, metrics) in zip(axes[0], panels):
        ax.imshow(plot.tile(images[:rows * cols], cols, (0.0, 1.0)), cmap="gray", vmin=0,
                  vmax=1, interpolation="nearest")
        ax.axis("off")
        ax.set_title(f"{title}\nFD {metrics['fid']:.1f}, grey pixels "
                     f"{100 * metrics['grey_fraction']:.1f}%", fontsize=10)
    ax = axes[0, -1]
    offsets = {"real": -0.27, "gan": 0.0, "vae": 0.27}
    colours = {"real": "0.3", "gan": "tab:green", "vae": "tab:purple"}
    for key, offset in offsets.items():
        ax.bar(np.arange(10) + offset, m[key]["histogram"], width=0.27, color=colours[key],
               label=f"{key} ({m[key]['classes_covered']} classes)")
    ax.axhline(0.1, color="gray", linewidth=0.8, linestyle=":")
    ax.set_xticks(range(10))
    ax.set_xlabel("digit predicted by the classifier")
    ax.set_ylabel("fraction of samples")
    ax.legend(fontsize="small")
    ax.set_title("which digits each model draws", fontsize=10)
    fig.suptitle("Q1  GAN vs VAE on digits (FD: Frechet distance of classifier features to "
                 "held-out real digits; lower is closer)", fontsize=11)
    return plot.save(fig, path)


# %% Q2: compute cost
def time_one_setting(width, batch, repeats, latent_dim=DIGIT_LATENT_DIM):
    """Median seconds of one GAN step and one VAE step, hidden layers of ``width``, 784-d data.

    G: z -> w -> w -> 784, D: 784 -> w -> w -> 1; encoder 784 -> w -> w -> 2 * latent_dim,
    decoder latent_dim -> w -> w -> 784. Every step ends with a Python float of the loss (a
    device-to-host copy under CuPy), so timing each step measures finished work.
    """
    g_sizes, d_sizes = [latent_dim, width, width, IMAGE_SIZE], [IMAGE_SIZE, width, width, 1]
    e_sizes = [IMAGE_SIZE, width, width, 2 * latent_dim]
    data = B.rand(max(batch, 256), IMAGE_SIZE)
    gan = GAN(mlp(g_sizes), mlp(d_sizes), data, latent_dim=latent_dim, batch_size=batch)
    vae = VAE(mlp(e_sizes), mlp(g_sizes), latent_dim, likelihood="bernoulli")
    optimizer = Adam(vae.parameters(), lr=1e-3, betas=(0.9, 0.999))

    def vae_step():
        optimizer.zero_grad()
        vae.forward(data[:batch])
        vae.backward()
        optimizer.step()

    times = {}
    for name, step in (("gan", gan.step), ("vae", vae_step)):
        step()
        step()                                                       # warm-up: buffers, caches
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            step()
            seconds.append(time.perf_counter() - start)
        times[name] = float(np.median(seconds))
    gan_flops = (9 * dense_flops(d_sizes, batch)                     # 3 x (forward + backward)
                 + 4 * dense_flops(g_sizes, batch))                  # 2 forward + 1 backward
    vae_flops = 3 * (dense_flops(e_sizes, batch) + dense_flops(g_sizes, batch))
    return {"width": width, "batch": batch, "gan_ms": 1e3 * times["gan"],
            "vae_ms": 1e3 * times["vae"], "gan_gflops": gan_flops / times["gan"] / 1e9,
            "vae_gflops": vae_flops / times["vae"] / 1e9, "gan_flops": gan_flops,
            "vae_flops": vae_flops}


def cupy_unavailable_reason():
    """None if the CuPy backend can be used here, else why not (the error message)."""
    previous = B.name()
    try:
        B.use("cupy")
        return None
    except RuntimeError as e:
        return str(e)
    finally:
        B.use(previous)


def compute_cost(settings, seed):
    """The timing table on the active backend, and on the other one where it is available."""
    backends = [B.name()]
    other = "cupy" if B.name() == "numpy" else "numpy"
    reason = cupy_unavailable_reason() if other == "cupy" else None
    if reason is None:
        backends.append(other)
    active = B.name()
    tables, peaks = {}, {}
    try:
        for name in backends:
            B.use(name)
            B.seed(seed)
            peaks[name] = matmul_peak(settings["cost_peak_size"], repeats=5)
            tables[name] = [time_one_setting(w, n, settings["cost_repeats"])
                            for w in settings["cost_widths"] for n in settings["cost_batches"]]
    finally:
        B.use(active)
    return {"tables": tables, "peaks": peaks, "cupy_missing": reason}


def print_cost_table(cost):
    for name, table in cost["tables"].items():
        print(f"\n  time per training step on {name} ({B.dtype().name}); matmul peak "
              f"{cost['peaks'][name]:.0f} GFLOP/s")
        print("   width  batch   GAN ms   VAE ms  GAN/VAE   GAN GFLOP/s  % of peak")
        for row in table:
            percent = 100 * row["gan_gflops"] / cost["peaks"][name]
            print(f"  {row['width']:>6d} {row['batch']:>6d} {row['gan_ms']:>8.2f} "
                  f"{row['vae_ms']:>8.2f} {row['gan_ms'] / row['vae_ms']:>8.2f} "
                  f"{row['gan_gflops']:>13.1f} {percent:>9.1f}")
    if len(cost["tables"]) == 2:
        numpy_rows, cupy_rows = cost["tables"]["numpy"], cost["tables"]["cupy"]
        print("\n   width  batch  NumPy GAN ms  CuPy GAN ms  speed-up")
        for a, b in zip(numpy_rows, cupy_rows):
            print(f"  {a['width']:>6d} {a['batch']:>6d} {a['gan_ms']:>13.2f} {b['gan_ms']:>12.2f} "
                  f"{a['gan_ms'] / b['gan_ms']:>9.1f}")
    elif cost["cupy_missing"]:
        print(f"\n  CuPy side by side: not run here ({cost['cupy_missing'].split(':')[0]})")


def figure_cost(path, cost):
    """ms per step against batch size, one line per width; GFLOP/s against width."""
    fig, axes = plot.new_figure(2, 1, (5.2, 4.0))
    styles = {"numpy": "-", "cupy": "--"}
    markers = {"gan": "o", "vae": "s"}
    for name, table in cost["tables"].items():
        widths = sorted({row["width"] for row in table})
        batches = sorted({row["batch"] for row in table})
        colours = dict(zip(widths, plot_colours(len(widths))))
        for w in widths:
            rows = [row for row in table if row["width"] == w]
            axes[0, 0].plot([r["batch"] for r in rows], [r["gan_ms"] for r in rows],
                            styles[name], marker=markers["gan"], color=colours[w],
                            label=f"GAN, width {w} ({name})")
            axes[0, 0].plot([r["batch"] for r in rows], [r["vae_ms"] for r in rows],
                            styles[name], marker=markers["vae"], color=colours[w], alpha=0.5,
                            linewidth=1)
        for n in batches:
            rows = [row for row in table if row["batch"] == n]
            axes[0, 1].plot([r["width"] for r in rows],
                            [100 * r["gan_gflops"] / cost["peaks"][name] for r in rows],
                            styles[name], marker="o", label=f"batch {n} ({name})")
    ax = axes[0, 0]
    ax.plot([], [], "s-", color="0.5", alpha=0.5, linewidth=1, label="VAE step, same colours")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("ms per training step")
    ax.set_title("GAN step (circles) and VAE step (squares, faint)", fontsize=10)
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    ax.set_xscale("log", base=2)
    ax.set_xlabel("hidden width")
    ax.set_ylabel("% of the matmul peak reached by a GAN step")
    ax.set_title("small steps are overhead, not arithmetic", fontsize=10)
    ax.legend(fontsize=7)
    fig.suptitle(f"Q2  compute cost of a dense GAN on 784-d data ({B.dtype().name})", fontsize=11)
    return plot.save(fig, path)


def plot_colours(n):
    cmap = colormaps["viridis"]
    return [cmap(0.1 + 0.8 * i / max(1, n - 1)) for i in range(n)]


# %% Q3: what a continuous generator cannot produce
def two_nn_dimension(points):
    """Intrinsic dimension of a point cloud by the Two-NN estimator (Facco et al., 2017).

    For each point, mu = r2 / r1, the ratio of the distances to its second and first nearest
    neighbours; on a d-dimensional set mu follows a Pareto law P(mu > m) = m^-d, whose maximum-
    likelihood exponent is d = N / sum log mu. points: (N, D) host array -> float.
    """
    x = np.asarray(points, dtype=np.float64)
    sq = (x * x).sum(1)
    dist2 = sq[:, None] + sq[None, :] - 2 * x @ x.T                  # (N, N)
    np.fill_diagonal(dist2, np.inf)
    two = np.sqrt(np.clip(np.partition(dist2, 1, axis=1)[:, :2], 0, None))   # r1, r2
    keep = two[:, 0] > 0
    return float(keep.sum() / np.log(two[keep, 1] / two[keep, 0]).sum())


def sample_square(n):
    """Uniform points on [-1, 1]^2: (n, 2) of the active backend."""
    points = B.rand(n, 2)
    points *= 2 * SQUARE_HALF_WIDTH
    points -= SQUARE_HALF_WIDTH
    return points


def latent_limits(settings, seed):
    """GANs with 1D and 8D latent spaces on the ring, 1D and 2D on the square."""
    ring = Ring(std=TOY_STD)
    width, batch = settings["toy_width"], settings["limit_batch"]
    iterations, n = settings["limit_iterations"], settings["toy_samples"]
    n_dimension = settings["dimension_samples"]
    runs = []
    for target, latent_dim in (("ring", 1), ("ring", 8), ("square", 1), ("square", 2)):
        B.seed(seed)
        sample = ring.sample if target == "ring" else sample_square
        gan = toy_gan(sample, latent_dim, width, batch)
        sweeps = []                                              # the curve G(z) as it moves

        def record_sweep(gan):
            if latent_dim == 1 and gan.iteration % max(1, iterations // SWEEP_SNAPSHOTS) == 0:
                sweeps.append(B.to_numpy(gan.sample(len(Z_SWEEP), z=B.asarray(Z_SWEEP[:, None]))))

        gan.train(iterations, callbacks=[record_sweep])
        samples = B.to_numpy(gan.sample(n))
        run = {"target": target, "latent_dim": latent_dim, "samples": samples,
               "dimension": two_nn_dimension(B.to_numpy(gan.sample(n_dimension)))}
        if latent_dim == 1:
            run["sweep"] = B.to_numpy(gan.sample(len(Z_SWEEP), z=B.asarray(Z_SWEEP[:, None])))
            run["earlier_sweeps"] = sweeps[:-1]
        if target == "ring":
            c = coverage(samples, ring)
            run.update(c, off_mode_fraction=1 - c["high_quality_fraction"])
        runs.append(run)
    real_ring = B.to_numpy(ring.sample(n))
    return {"runs": runs, "ring": ring,
            "square_dimension": two_nn_dimension(B.to_numpy(sample_square(n_dimension))),
            "ring_off_mode_fraction": 1 - coverage(real_ring, ring)["high_quality_fraction"]}


def figure_limits(path, limits):
    fig, axes = plot.new_figure(4, 1, (3.7, 3.7))
    ring = limits["ring"]
    for ax, run in zip(axes[0], limits["runs"]):
        if run["target"] == "ring":
            ax.scatter(ring.centres[:, 0], ring.centres[:, 1], s=80, facecolors="none",
                       edgecolors="0.5", linewidths=0.8)
            detail = (f"{100 * run['off_mode_fraction']:.0f}% of samples off every mode "
                      f"(data {100 * limits['ring_off_mode_fraction']:.1f}%)")
            lim = 3.0
        else:
            ax.add_patch(_square_patch())
            detail = (f"intrinsic dimension {run['dimension']:.2f} "
                      f"(data {limits['square_dimension']:.2f})")
            lim = 1.6
        ax.scatter(run["samples"][:, 0], run["samples"][:, 1], s=2, color="tab:green", alpha=0.5)
        if "sweep" in run:
            for earlier in run["earlier_sweeps"]:
                ax.plot(earlier[:, 0], earlier[:, 1], color="0.75", linewidth=1)
            points = run["sweep"]
            ax.scatter(points[:, 0], points[:, 1], c=Z_SWEEP, cmap="plasma", s=3)
            ax.text(0.03, 0.03, "G(z), z from -3 (dark) to 3 (yellow);\ngrey: the same line "
                    "earlier in training", transform=ax.transAxes, fontsize=7)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_title(f"{run['target']}, latent dimension {run['latent_dim']}\n{detail}", fontsize=9)
        ax.tick_params(labelsize=7)
    fig.suptitle("Q3  a generator's samples lie on G(latent space): connected, and no more "
                 "dimensions than z has", fontsize=11)
    return plot.save(fig, path)


def _square_patch():
    s = SQUARE_HALF_WIDTH
    return Rectangle((-s, -s), 2 * s, 2 * s, fill=False, edgecolor="0.5", linestyle=":")


# %% Q4: how to set the learning rates
ADAM_BETAS = ((0.5, 0.999), (0.9, 0.999), (0.5, 0.99), (0.0, 0.999), (0.9, 0.9))
BETA1_VALUES = (0.5, 0.9)               # DCGAN's choice and Adam's default, at lr = TOY_LR
CONVERGED_MODES = 7                     # of the ring's 8: at most one mode missing ...
CONVERGED_QUALITY = 0.3                 # ... and >= 30% of the samples within 3 std of a mode
FLED_RADIUS = 2.0                       # median |x| beyond 2 ring radii: the samples fled
REGIMES = {"converged": "C", "slow": "S", "collapsed": "M", "diverged": "D"}   # letters drawn


def lr_run(lr_g, lr_d, beta1, settings, seed):
    """Chapter 6's toy GAN on the 8-Gaussian ring, G and D with Adam(lr_g / lr_d, (beta1, 0.999)).

    Scored every ``lr_eval_every`` iterations on ``lr_samples`` samples: modes covered and
    high-quality fraction (``mode_coverage``); at the end also improved precision and recall
    (``minigan.metrics.precision_recall``, k = 3) against as many real points. Returns the curves,
    the final numbers and the regime (``lr_regime``).
    """
    data = Ring(std=TOY_STD)
    width, n = settings["lr_width"], settings["lr_samples"]
    B.seed(seed)
    G = mlp([TOY_LATENT_DIM, width, width, 2])
    D = mlp([2, width, width, 1])
    gan = GAN(G, D, data.sample, latent_dim=TOY_LATENT_DIM, batch_size=settings["lr_batch"],
              g_optimizer=Adam(G.parameters(), lr=lr_g, betas=(beta1, 0.999)),
              d_optimizer=Adam(D.parameters(), lr=lr_d, betas=(beta1, 0.999)))
    real = B.to_numpy(data.sample(n))
    run = {"lr_g": lr_g, "lr_d": lr_d, "beta1": beta1, "iteration": [], "modes": [],
           "high_quality": [], "diverged": False, "precision": 0.0, "recall": 0.0,
           "median_radius": float("inf")}
    while gan.iteration < settings["lr_iterations"]:
        try:
            gan.train(min(settings["lr_eval_every"], settings["lr_iterations"] - gan.iteration))
        except TrainingDiverged:
            run["diverged"] = True
            break
        samples = B.to_numpy(gan.sample(n)).astype(np.float64)
        if not np.isfinite(samples).all():
            run["diverged"] = True
            break
        c = coverage(samples, data)
        run["iteration"].append(gan.iteration)
        run["modes"].append(c["modes_covered"])
        run["high_quality"].append(c["high_quality_fraction"])
    if not run["diverged"]:
        run.update(precision_recall(real, samples))
        run["median_radius"] = float(np.median(np.linalg.norm(samples, axis=1)) / data.radius)
    run["regime"] = lr_regime(run)
    return run


def lr_regime(run) -> str:
    """converged: >= 7 of the 8 modes covered and >= 30% of the samples on one; slow: the modes
    reached but the samples still spread between them; collapsed: modes missing (mode collapse,
    including a generator that piles everything on one point off the modes); diverged: NaN or
    Inf, or the samples fled (their median distance from the centre over twice the ring's)."""
    if run["diverged"] or not run["modes"] or run["median_radius"] > FLED_RADIUS:
        return "diverged"
    modes, quality = run["modes"][-1], run["high_quality"][-1]
    if modes < CONVERGED_MODES:
        return "collapsed"
    return "converged" if quality >= CONVERGED_QUALITY else "slow"


def iterations_to_converge(run):
    """The first scored iteration at which the run counted as converged (None: never)."""
    for iteration, modes, quality in zip(run["iteration"], run["modes"], run["high_quality"]):
        if modes >= CONVERGED_MODES and quality >= CONVERGED_QUALITY:
            return iteration
    return None


def adam_update_sizes(settings, seed):
    """How far one Adam step moves G's parameters, per unit of learning rate.

    For each lr in ``adam_rates`` and each (beta1, beta2) in ADAM_BETAS (and eps = 1e-3 once),
    train the toy GAN for ``adam_iterations`` steps and record the root-mean-square change of G's
    parameters per step, divided by lr; the median over the steps after the first 20.
    Returns {(lr, beta1, beta2, eps): ratio}.
    """
    data = Ring(std=TOY_STD)
    width = settings["lr_width"]
    variants = [(b1, b2, 1e-8) for b1, b2 in ADAM_BETAS] + [(0.5, 0.999, 1e-3)]
    sizes = {}
    for lr in settings["adam_rates"]:
        for beta1, beta2, eps in variants:
            B.seed(seed)
            G = mlp([TOY_LATENT_DIM, width, width, 2])
            D = mlp([2, width, width, 1])
            gan = GAN(G, D, data.sample, latent_dim=TOY_LATENT_DIM,
                      batch_size=settings["lr_batch"],
                      g_optimizer=Adam(G.parameters(), lr=lr, betas=(beta1, beta2), eps=eps),
                      d_optimizer=Adam(D.parameters(), lr=lr, betas=(0.5, 0.999)))
            before = [np.concatenate([B.to_numpy(p.data).ravel() for p in G.parameters()])]
            ratios = []

            def record(gan, before=before, ratios=ratios, lr=lr):
                now = np.concatenate([B.to_numpy(p.data).ravel()
                                      for p in gan.generator.parameters()])
                ratios.append(float(np.sqrt(np.mean((now - before[0]) ** 2))) / lr)
                before[0] = now
            gan.train(settings["adam_iterations"], callbacks=[record])
            sizes[(lr, beta1, beta2, eps)] = float(np.median(ratios[20:]))
    return sizes


def learning_rate_study(settings, seed):
    """Q4's experiments: the lr_G x lr_D grid (one run each), the diagonal lr_G = lr_D over
    ``lr_seeds`` seeds (the grid's run is the first), beta1 0.5 vs 0.9 at TOY_LR, Adam's steps."""
    rates = settings["lr_grid"]
    start = time.perf_counter()
    grid = {(lr_g, lr_d): lr_run(lr_g, lr_d, 0.5, settings, seed)
            for lr_g in rates for lr_d in rates}
    diagonal = {lr: [grid[(lr, lr)]] + [lr_run(lr, lr, 0.5, settings, seed + s)
                                        for s in range(1, settings["lr_seeds"])]
                for lr in rates}
    beta1 = {b: [lr_run(TOY_LR, TOY_LR, b, settings, seed + s)
                 for s in range(settings["lr_seeds"])] for b in BETA1_VALUES}
    adam = adam_update_sizes(settings, seed)
    return {"rates": rates, "grid": grid, "diagonal": diagonal, "beta1": beta1, "adam": adam,
            "seconds": time.perf_counter() - start}


def print_rate_grid(title, grid, rates, cell, width):
    """Print ``title`` and the lr_G x lr_D table of ``grid`` (rows lr_G, columns lr_D): each
    run's regime letter and ``cell(run)``, in columns ``width`` characters wide."""
    print(title)
    print("lr_G \\ lr_D " + "".join(f"{lr:>{width}.1e}" for lr in rates))
    for lr_g in rates:
        cells = [f"{REGIMES[grid[(lr_g, lr_d)]['regime']]} {cell(grid[(lr_g, lr_d)])}"
                 for lr_d in rates]
        print(f"{lr_g:>11.1e} " + "".join(f"{c:>{width}}" for c in cells))


def print_learning_rate_study(study):
    rates = study["rates"]
    print_rate_grid("Q4: regime after training (rows lr_G, columns lr_D; C converged, S slow, "
                    "M mode collapse, D diverged), modes covered / precision / recall",
                    study["grid"], rates,
                    lambda run: f"{run['modes'][-1] if run['modes'] else 0}/8 "
                                f"{run['precision']:.2f}/{run['recall']:.2f}", 18)
    for lr, runs in study["diagonal"].items():
        arrivals = [iterations_to_converge(r) for r in runs]
        print(f"lr_G = lr_D = {lr:.1e}: converged at iteration "
              + ", ".join("never" if a is None else str(a) for a in arrivals))
    for b, runs in study["beta1"].items():
        arrivals = [iterations_to_converge(r) for r in runs]
        print(f"beta1 = {b}: converged at iteration "
              + ", ".join("never" if a is None else str(a) for a in arrivals)
              + "; final high-quality fraction "
              + ", ".join(f"{r['high_quality'][-1]:.2f}" for r in runs if r["high_quality"])
              + "; modes " + ", ".join(str(r["modes"][-1]) for r in runs if r["modes"]))
    ratios = list(study["adam"].values())
    print(f"Adam: RMS update per step / lr between {min(ratios):.2f} and {max(ratios):.2f} over "
          f"every (beta1, beta2, eps) and lr tried")


def figure_learning_rates(path, study):
    """Precision and recall over the lr grid (regime letters), convergence against lr on the
    diagonal, beta1 0.5 vs 0.9, and Adam's step size against lr for several betas."""
    rates = study["rates"]
    fig, axes = plot.new_figure(3, 2, (4.4, 3.9))
    for ax, key, title in ((axes[0, 0], "precision", "precision (fidelity)"),
                           (axes[0, 1], "recall", "recall (diversity)")):
        values = np.array([[study["grid"][(g, d)][key] for d in rates] for g in rates])
        image = ax.imshow(values, origin="lower", cmap="viridis", vmin=0, vmax=1)
        fig.colorbar(image, ax=ax, fraction=0.046)
        for i, g in enumerate(rates):
            for j, d in enumerate(rates):
                run = study["grid"][(g, d)]
                mode_count = run["modes"][-1] if run["modes"] else 0
                ax.text(j, i, f"{REGIMES[run['regime']]}\n{mode_count}/8", ha="center",
                        va="center", fontsize=7, color="white" if values[i, j] < 0.6 else "black")
        labels = [f"{lr:.2g}" for lr in rates]
        ax.set_xticks(range(len(rates)), labels, fontsize=7)
        ax.set_yticks(range(len(rates)), labels, fontsize=7)
        ax.set_xlabel("lr_D")
        ax.set_ylabel("lr_G")
        ax.set_title(f"{title}; C/S/M/D and modes", fontsize=9)
    ax = axes[0, 2]
    never = 1.08 * max(max(run["iteration"], default=1) for runs in study["diagonal"].values()
                       for run in runs)
    for lr, runs in study["diagonal"].items():
        for k, run in enumerate(runs):
            arrival = iterations_to_converge(run)
            ax.scatter(lr * (1 + 0.06 * (k - 1)), never if arrival is None else arrival,
                       marker="x" if arrival is None else "o", s=30,
                       color="tab:red" if arrival is None else "tab:blue")
    ax.axhline(never, color="0.6", linewidth=0.8)
    ax.text(min(rates), never, " never (x)", va="bottom", fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel("lr_G = lr_D")
    ax.set_ylabel("iterations until converged (C)")
    ax.set_title("003 Q1 'a higher rate trains faster': up to a point", fontsize=9)
    ax = axes[1, 0]
    for colour, (b, runs) in zip(("tab:green", "tab:red"), study["beta1"].items()):
        for k, run in enumerate(runs):
            ax.plot(run["iteration"], run["high_quality"], color=colour, linewidth=1,
                    label=f"beta1 = {b}" if k == 0 else None)
    ax.axhline(CONVERGED_QUALITY, color="0.5", linestyle=":", linewidth=1)
    ax.set_xlabel("iteration")
    ax.set_ylabel("fraction of samples on a mode")
    ax.set_title(f"Adam's beta1 at lr = {TOY_LR:g}", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[1, 1]
    variants = sorted({key[1:] for key in study["adam"]})
    for variant in variants:
        lrs = sorted(lr for (lr, *rest) in study["adam"] if tuple(rest) == variant)
        steps = [study["adam"][(lr, *variant)] * lr for lr in lrs]
        ax.plot(lrs, steps, marker="o", linewidth=1,
                label=f"betas ({variant[0]}, {variant[1]})" + (f", eps {variant[2]:g}"
                                                               if variant[2] != 1e-8 else ""))
    lrs = np.array(sorted({key[0] for key in study["adam"]}))
    ax.plot(lrs, lrs, color="black", linestyle="--", linewidth=1, label="step = lr")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("learning rate lr")
    ax.set_ylabel("RMS change of G's parameters per step")
    ax.set_title("the step follows lr; the betas barely move it", fontsize=9)
    ax.legend(fontsize=6)
    axes[1, 2].axis("off")
    counts = {r: sum(run["regime"] == r for run in study["grid"].values()) for r in REGIMES}
    axes[1, 2].text(0, 0.5, "regimes over the grid:\n" + "\n".join(
        f"  {letter} {r}: {counts[r]}" for r, letter in REGIMES.items())
        + f"\n\nC: >= {CONVERGED_MODES}/8 modes, >= {100 * CONVERGED_QUALITY:.0f}% on a mode\n"
        "S: modes reached, samples still spread\nM: modes missing (mode collapse)\n"
        "D: NaN, or the samples fled the data", fontsize=8, va="center")
    fig.suptitle("Q4  how to set a GAN's learning rates (004 §6.2): the toy GAN on the "
                 "8-Gaussian ring", fontsize=11)
    return plot.save(fig, path)


# %% Q4 (full run): the same question on chapter 4's DCGAN
DCGAN_LATENT_DIM = 100
DCGAN_MIN_DIGIT = 0.03                  # every digit >= 3% of the samples (chapter 4's rule) ...
DCGAN_CONVERGED_FD = 20.0               # ... and FD to held-out digits below this: "converged"


def dcgan_lr_run(lr_g, lr_d, images, settings, digits, seed):
    """Chapter 4's DCGAN (``minigan.models``, document 004's dropout D; channels
    ``dcgan_channels``) on ``images`` (N, 1, 28, 28) in [-1, 1], G and D with
    Adam(lr_g / lr_d, (0.5, 0.999)).

    Scored every ``dcgan_eval_every`` iterations on ``dcgan_samples`` samples by the digit
    classifier of Q1 (``digits["classifier"]``): the Frechet distance (FD) of its features to the
    held-out digits' and the share of the rarest digit. Returns the curves, the final numbers and
    the regime (``dcgan_regime``).
    """
    classifier, reference = digits["classifier"], digits["reference_features"]
    B.seed(seed)
    c0, c1 = settings["dcgan_channels"]
    G = dcgan_generator(DCGAN_LATENT_DIM, channels=(c0, c1))
    D = dcgan_discriminator(channels=(c1, c0))
    gan = GAN(G, D, images, latent_dim=DCGAN_LATENT_DIM,
              batch_size=settings["dcgan_batch"],
              g_optimizer=Adam(G.parameters(), lr=lr_g, betas=(0.5, 0.999)),
              d_optimizer=Adam(D.parameters(), lr=lr_d, betas=(0.5, 0.999)))
    run = {"lr_g": lr_g, "lr_d": lr_d, "iteration": [], "fd": [], "rarest_digit": [],
           "diverged": False}
    while gan.iteration < settings["dcgan_iterations"]:
        try:
            gan.train(min(settings["dcgan_eval_every"],
                          settings["dcgan_iterations"] - gan.iteration))
        except TrainingDiverged:
            run["diverged"] = True
            break
        samples = B.to_numpy(gan.sample(settings["dcgan_samples"]))
        if not np.isfinite(samples).all():
            run["diverged"] = True
            break
        histogram = class_histogram(classifier.predict_proba(samples), 10)
        run["iteration"].append(gan.iteration)
        run["fd"].append(fid_from_features(reference, classifier.features(samples)))
        run["rarest_digit"].append(float(histogram.min()))
    run["samples"] = samples[:4] if not run["diverged"] else None
    run["regime"] = dcgan_regime(run)
    return run


def dcgan_regime(run) -> str:
    """converged: every digit >= 3% of the samples and FD <= DCGAN_CONVERGED_FD; slow: every
    digit drawn but the samples still far from digits; collapsed: a digit under 3% (mode
    collapse); diverged: NaN or Inf."""
    if run["diverged"] or not run["fd"]:
        return "diverged"
    if run["rarest_digit"][-1] < DCGAN_MIN_DIGIT:
        return "collapsed"
    return "converged" if run["fd"][-1] <= DCGAN_CONVERGED_FD else "slow"


def dcgan_learning_rate_study(settings, digits, seed):
    """The lr_G x lr_D grid of ``dcgan_lr_grid`` on the DCGAN, one run each (seed ``seed``)."""
    rates = settings["dcgan_lr_grid"]
    start = time.perf_counter()
    images = B.asarray(load_digits(settings["digit_train"], seed=seed)[0])   # Q1's digits
    grid = {(lr_g, lr_d): dcgan_lr_run(lr_g, lr_d, images, settings, digits, seed)
            for lr_g in rates for lr_d in rates}
    return {"rates": rates, "grid": grid, "seconds": time.perf_counter() - start,
            "real_fd": digits["metrics"]["real"]["fid"]}


def figure_dcgan_learning_rates(path, study):
    """FD and the rarest digit's share over the DCGAN's lr grid (regime letters), FD over
    training on the diagonal lr_G = lr_D, and four samples of every run."""
    rates, grid = study["rates"], study["grid"]
    fig, axes = plot.new_figure(4, 1, (4.4, 4.2))
    labels = [f"{lr:.2g}" for lr in rates]
    panels = ((axes[0, 0], "fd", "FD to held-out digits (log colour)"),
              (axes[0, 1], "rarest_digit", "share of the rarest digit"))
    for ax, key, title in panels:
        values = np.array([[grid[(g, d)][key][-1] if grid[(g, d)][key] else np.nan
                            for d in rates] for g in rates])
        if key == "fd":                 # from real digits' FD (best) to 100 (no digits)
            values = np.log10(np.maximum(values, 1e-3))
            limits = (np.log10(study["real_fd"]), 2.0)
        else:                           # from none of the samples to a fair 10% each
            limits = (0.0, 0.1)
        image = ax.imshow(values, origin="lower", cmap="viridis_r" if key == "fd" else "viridis",
                          vmin=limits[0], vmax=limits[1])
        fig.colorbar(image, ax=ax, fraction=0.046,
                     label="log10 FD" if key == "fd" else "fraction of samples")
        for i, g in enumerate(rates):
            for j, d in enumerate(rates):
                run = grid[(g, d)]
                text = REGIMES[run["regime"]]
                if run[key]:
                    text += f"\n{run[key][-1]:.1f}" if key == "fd" else f"\n{run[key][-1]:.2f}"
                ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white")
        ax.set_xticks(range(len(rates)), labels, fontsize=7)
        ax.set_yticks(range(len(rates)), labels, fontsize=7)
        ax.set_xlabel("lr_D")
        ax.set_ylabel("lr_G")
        ax.set_title(title, fontsize=9)
    ax = axes[0, 2]
    for lr in rates:
        run = grid[(lr, lr)]
        if run["fd"]:
            ax.plot(run["iteration"], run["fd"], marker="o", markersize=3, linewidth=1,
                    label=f"lr_G = lr_D = {lr:.2g} ({REGIMES[run['regime']]})")
    ax.axhline(DCGAN_CONVERGED_FD, color="0.5", linestyle=":", linewidth=1)
    ax.axhline(study["real_fd"], color="black", linestyle="--", linewidth=0.8,
               label="real digits")
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("FD to held-out digits")
    ax.set_title("003 Q1 'a higher rate trains faster', on the DCGAN", fontsize=9)
    ax.legend(fontsize=6)
    ax = axes[0, 3]
    for i, g in enumerate(rates):
        for j, d in enumerate(rates):
            run = grid[(g, d)]
            if run["samples"] is None:
                ax.text(j, i, "NaN", ha="center", va="center", fontsize=8)
            else:
                ax.imshow(plot.tile(run["samples"], 2, (-1.0, 1.0)), cmap="gray", vmin=0,
                          vmax=1, extent=(j - 0.45, j + 0.45, i - 0.45, i + 0.45))
    ax.set_xlim(-0.5, len(rates) - 0.5)
    ax.set_ylim(-0.5, len(rates) - 0.5)
    ax.set_xticks(range(len(rates)), labels, fontsize=7)
    ax.set_yticks(range(len(rates)), labels, fontsize=7)
    ax.set_xlabel("lr_D")
    ax.set_ylabel("lr_G")
    ax.set_title("four samples of each run", fontsize=9)
    fig.suptitle("Q4 on chapter 4's DCGAN (built-in digits; C converged, S slow, M a digit "
                 f"under {100 * DCGAN_MIN_DIGIT:.0f}%, D diverged)", fontsize=11)
    return plot.save(fig, path)


def print_dcgan_learning_rate_study(study):
    print_rate_grid("Q4 on the DCGAN: regime (rows lr_G, columns lr_D), FD to held-out digits / "
                    "share of the rarest digit", study["grid"], study["rates"],
                    lambda run: f"{run['fd'][-1]:.1f}/{run['rarest_digit'][-1]:.2f}"
                                if run["fd"] else "-", 16)


# %% Settings: as a script, the command line; in a notebook, edit `notebook` (e.g. "--quick")
args = chapter.parse_args(chapter.make_parser(TITLE, "ch6_faq"), notebook="")
settings = QUICK if args.quick else FULL
start = time.perf_counter()
out = chapter.start(args)            # backend, dtype and seed set; the folder for the figures


# %% [markdown]
# Q1. How do GANs differ from VAEs? (000, 001 §6.1, 004 §6.1)
# Both are generators x = f(z) of noise z ~ N(0, I) built from the same layers; they differ in the
# signal that trains f. A GAN's generator G never sees a data point: it follows the gradient of a
# discriminator D that is trained to tell G(z) from data,
#
#     min_G max_D  E_x log D(x) + E_z log(1 - D(G(z))).
#
# A variational autoencoder (Kingma & Welling, 2014; ``minigan.vae``) adds an encoder
# q(z|x) = N(mu(x), diag exp(logvar(x))) and minimises, per data point, the negative ELBO
#
#     E_{z ~ q(z|x)} [-log p(x|z)] + KL(q(z|x) || N(0, I))   >=  -log p(x),
#
# a reconstruction error plus a pull of every code towards the prior. 

# %% Q1 -- the VAE's hand-derived gradients against finite differences
gradient_errors = vae_gradient_check(args.seed)
print("VAE gradients, largest relative error:", gradient_errors)


# %% [markdown]
# Trained with the same widths
# for the same number of steps on the same 2D mixtures and digits:
#   * The VAE reconstructs every mode (its loss punishes each data point it cannot reconstruct),
#     but its encoder puts the modes' codes in separate clusters, and the prior's mass between the
#     clusters decodes to points between the modes: few of its samples land on a mode
#     (``mode_coverage``'s high-quality fraction; seed 0: 8% on the ring, 4% on the grid) and its
#     digits are blurred (more grey pixels).
#   * Most of the GAN's samples land on a mode (seed 0: 83% on the ring, 67% on the grid), joined by
#     thin bridges -- its generator is a continuous map too (Q3) -- and its digits have crisper
#     strokes and a smaller Frechet distance to real digits in the classifier's feature space. No
#     term of its loss asks it to cover every mode, though; chapter 5 shows it dropping some.
# 001 §6.1 says the other models "learn a representation or compression of the data" while a GAN
# learns the distribution: a VAE is a generative model of p(x) just as much -- its decoder is a
# generator fed with prior noise -- and the experiment draws new samples from both.

# %% Q1 -- GAN vs VAE on two 2D mixtures
targets = (("ring", Ring(std=TOY_STD)), ("grid", Grid(size=3, std=TOY_STD)))
runs_2d = [(name, data, compare_on_2d(data, settings, args.seed + i))
           for i, (name, data) in enumerate(targets)]
figures = [chapter.show(figure_2d(os.path.join(out, "gan_vs_vae_2d.png"), runs_2d))]

# %% Q1 -- GAN vs VAE on digits
digits = compare_on_digits(settings, args.seed)
figures.append(chapter.show(figure_digits(os.path.join(out, "gan_vs_vae_digits.png"), digits)))


# %% [markdown]
# Q2. How much compute does a GAN need? (000: "more, because training is more complex";
# 003 Q1: "use a higher learning rate, more GPUs and more complex networks to speed training up")
# A step of ``minigan.gan.GAN`` runs D forward and backward three times (real, fake, and for G's
# gradient) and G forward twice and backward once. A dense layer with P = in * out weights costs
# 2NP flops forward and 4NP backward (dW and dx), so with P_D, P_G weights in D and G
#
#     GAN step ~ (18 P_D + 8 P_G) N flops,        VAE step ~ 6 (P_encoder + P_decoder) N flops,
#
# and with mirrored sizes a GAN step does about twice the arithmetic of a VAE step. The table
# times both against width and batch size on the active backend (and CuPy beside NumPy where a GPU
# is available): at a large batch the time grows with width squared, so "more complex networks"
# make training slower, not faster; small steps are dominated by per-operation overhead (a small
# fraction of the matmul peak), which is also why a GPU pays off only for large arrays.

# %% Q2 -- compute cost
cost = compute_cost(settings, args.seed)
print_cost_table(cost)
figures.append(chapter.show(figure_cost(os.path.join(out, "compute_cost.png"), cost)))


# %% [markdown]
# Q3. Can a GAN generate any data? (000: "no, only data like the training set";
# 002: "any kind, given the right network")
# The generator is a continuous map, so its samples lie on G(R^k): the image of the latent space.
# Two consequences no amount of training can undo:
#   * G(R^k) is connected. A target made of separate pieces (the 8-Gaussian ring) can only be
#     approached by a curve or sheet that also passes through the gaps: some samples always fall
#     between the modes. More latent dimensions make the bridges thinner; they cannot remove them.
#   * G(R^k) has dimension at most k. With a 1D latent space the samples of a 2D target (the
#     uniform square) lie on a curve: their intrinsic dimension is 1 (the Two-NN estimate of Facco
#     et al., 2017), the data's 2. Such a curve is not even a stable compromise: every curve has
#     measure zero in the square, so a discriminator can always separate it from the data
#     (JSD = log 2 for every curve, Arjovsky & Bottou, 2017), and training drags it about without
#     settling -- the grey lines in the figure are the same curve earlier in training.
# 004 §6.3's "convolutions handle the high dimensionality of images" conflates the two: the layers
# set how the sheet is shaped, the latent dimension sets how many directions it has.

# %% Q3 -- what a generator cannot produce
limits = latent_limits(settings, args.seed)
figures.append(chapter.show(figure_limits(os.path.join(out, "latent_limits.png"), limits)))

# %% [markdown]
# Q4. How should the learning rate be adjusted while training a GAN? (004 §6.2)
# 004 answers: use Adam and "tune its beta1, beta2 and epsilon to get different learning rates".
# That is an erratum. Adam (Kingma & Ba, 2015; ``minigan.optim.Adam``) moves a parameter by
#
#     m <- beta1 m + (1 - beta1) g,      v <- beta2 v + (1 - beta2) g^2,
#     theta <- theta - lr * m_hat / (sqrt(v_hat) + eps)      (m_hat, v_hat: bias-corrected)
#
# and m_hat / sqrt(v_hat) is a gradient divided by its own running RMS: a number of order one.
# The step is about lr whatever the betas; beta1 and beta2 set how many steps the two averages
# remember (about 1 / (1 - beta): 2 steps for 0.5, 10 for 0.9, 1,000 for 0.999), and eps only
# matters for gradients as small as itself. The learning rate is lr.
# Measured (``adam_update_sizes``): over (beta1, beta2) = (0, 0.999), (0.5, 0.99), (0.5, 0.999),
# (0.9, 0.9), (0.9, 0.999), G's parameters move by 0.40 to 1.34 times lr per step (RMS), at most
# 2.5x apart at any one rate, while lr from 1e-4 to 1e-2 makes the step 55x larger. eps = 1e-3
# halves the step at lr = 1e-3, because it is then comparable to the gradients' RMS: it damps small
# gradients, a different thing from a learning rate.
#
# What does set a GAN's training is the pair (lr_G, lr_D). The toy GAN of Q1 (the 8-Gaussian
# ring, widths 64, batch 64, 3,000 iterations) over a grid of both, one run each (seed 0),
# scored by modes covered, the fraction of samples on a mode and improved precision and recall:
#   * it converges in a band -- lr_G from 4e-4 to 6.4e-3, with lr_D from a quarter of lr_G to
#     16 times it (9 of the 25 runs);
#   * a generator 4x or more faster than its discriminator collapses: 0 or 1 modes, its samples
#     piled up off the modes (lr_G >= 1.6e-3 against a slower D);
#   * the reverse extreme collapses too: lr_G = 1e-4 against a D 16x or more faster keeps 2-3
#     modes, with precision 0.50-0.77 but recall 0.17-0.33 -- fidelity without diversity;
#   * lr_G = 2.56e-2 collapses whatever lr_D; 1e-4 on both is too slow (every mode reached, 4%
#     of the samples on one after 3,000 iterations). No run produced NaN: Adam bounds its step
#     by about lr, so here a rate that is too high shows as mode collapse, not as divergence.
# 003 Q1's "a higher learning rate speeds training up", with lr_G = lr_D over three seeds: the
# runs converge (>= 7 modes, >= 30% on a mode) after 1,750-2,000 iterations at 4e-4 and
# 1,000-1,250 at 1.6e-3 -- faster, as claimed -- but after 1,750-2,250 at 6.4e-3, and never at
# 2.56e-2 (collapse) or 1e-4 (too slow). Faster up to a point, then slower, then not at all.
# beta1 at lr = 1e-3 (three seeds): 0.5 -- the value DCGAN (Radford et al., 2015) chose --
# converges after 1,000-1,500 iterations, Adam's default 0.9 after 2,000-2,500; both end with
# every mode covered and 60-72% of the samples on a mode.
#
# The two time-scale update rule (Heusel et al., 2017) gives D the larger rate; chapter 5's
# mode-collapse table has it as the row "GAN + two time-scales" (chapters/ch5_mode_collapse.py).

# %% Q4 -- the learning rates of G and D, Adam's betas
lr_study = learning_rate_study(settings, args.seed)
print_learning_rate_study(lr_study)
figures.append(chapter.show(figure_learning_rates(os.path.join(out, "learning_rates.png"),
                                                  lr_study)))

# %% [markdown]
# The same grid on chapter 4's DCGAN (convolutional G and D, document 004's dropout; half its
# channels, (64, 32), to keep the 16 runs short), on the built-in digits, 600 iterations of batch 64
# each, scored by Q1's digit classifier: the Frechet distance (FD) of its features to held-out
# digits (real digits: 2.5) and the rarest digit's share. C: every digit >= 3% and FD <= 20; S:
# every digit >= 3%, FD higher; M: a digit under 3%; D: NaN.
# Measured (seed 0; 703 s for the 16 runs, most of this chapter's 15 minutes): no run reaches
# FD 20 in 600 iterations -- chapter 4 trains this model for 4,680 -- so the grid shows how fast
# each pair makes progress, and which pairs fail outright:
#   * lr_G = 5e-5 fails whatever lr_D: against a D at 2e-4 or faster, D wins and G's samples stay
#     grey blots (FD 597-741); at 5e-5 on both, both crawl (FD 204);
#   * a D at 5e-5 against a faster G does no better: FD 191-607, a digit under 1% of samples;
#   * on the diagonal lr_G = lr_D the FD after 600 iterations falls with the rate -- 204 (5e-5),
#     60 (2e-4, DCGAN's rate), 46 (8e-4), 25 (3.2e-3) -- so 003 Q1's "a higher rate trains
#     faster" holds for this model's first epochs up to the highest rate tried, where the toy GAN
#     above already collapsed at 2.56e-2; off the diagonal, lr_D = 4 lr_G (8e-4 / 3.2e-3: FD 25.7)
#     is as fast. No run produced NaN: as on the toy GAN, Adam keeps each step near lr.
# What a fast start leaves after many epochs is not measured here; chapter 4 trains with DCGAN's
# 2e-4 for G and 1e-4 for D, which it measured to cover every digit.

# %% Q4 -- the same grid on the DCGAN
dcgan_lr = dcgan_learning_rate_study(settings, digits, args.seed)
print_dcgan_learning_rate_study(dcgan_lr)
figures.append(chapter.show(figure_dcgan_learning_rates(
    os.path.join(out, "learning_rates_dcgan.png"), dcgan_lr)))

# %% What was measured
numbers = {"vae_gradcheck_" + k: v for k, v in gradient_errors.items()}
for name, _, run in runs_2d:
    for key in ("real", "gan", "vae", "vae_recon"):
        c = run[key + "_coverage"]
        numbers[f"{name}_{key}_modes"] = c["modes_covered"]
        numbers[f"{name}_{key}_high_quality"] = c["high_quality_fraction"]
        numbers[f"{name}_{key}_reverse_kl"] = c["reverse_kl"]
numbers["digit_classifier_accuracy"] = digits["classifier_accuracy"]
for key, m in digits["metrics"].items():
    for metric in ("fid", "inception_score", "classes_covered", "grey_fraction"):
        numbers[f"digits_{key}_{metric}"] = m[metric]
numbers["digits_gan_seconds"] = digits["gan_seconds"]
numbers["digits_vae_seconds"] = digits["vae_seconds"]
active = cost["tables"][B.name()]
largest = max(active, key=lambda r: (r["width"], r["batch"]))
smallest = min(active, key=lambda r: (r["width"], r["batch"]))
numbers["matmul_peak_gflops"] = cost["peaks"][B.name()]
numbers["largest_gan_step_ms"] = largest["gan_ms"]
numbers["largest_gan_over_vae"] = largest["gan_ms"] / largest["vae_ms"]
numbers["largest_gan_fraction_of_peak"] = largest["gan_gflops"] / cost["peaks"][B.name()]
numbers["smallest_gan_fraction_of_peak"] = smallest["gan_gflops"] / cost["peaks"][B.name()]
for run in limits["runs"]:
    tag = f"{run['target']}_latent{run['latent_dim']}"
    numbers[f"{tag}_dimension"] = run["dimension"]
    if "off_mode_fraction" in run:
        numbers[f"{tag}_off_mode_fraction"] = run["off_mode_fraction"]
numbers["ring_data_off_mode_fraction"] = limits["ring_off_mode_fraction"]
numbers["square_data_dimension"] = limits["square_dimension"]
for regime in REGIMES:
    numbers[f"lr_grid_{regime}"] = sum(r["regime"] == regime for r in lr_study["grid"].values())
for lr, runs in lr_study["diagonal"].items():
    arrivals = [iterations_to_converge(r) for r in runs]
    numbers[f"lr_equal_{lr:.1e}_converged_runs"] = sum(a is not None for a in arrivals)
    numbers[f"lr_equal_{lr:.1e}_first_converged"] = min((a for a in arrivals if a is not None),
                                                        default=-1)
for b, runs in lr_study["beta1"].items():
    numbers[f"beta1_{b}_high_quality"] = float(np.mean([r["high_quality"][-1] if r["modes"]
                                                        else 0.0 for r in runs]))
adam_steps = lr_study["adam"]
plain = [key for key in adam_steps if key[3] == 1e-8]              # eps at its default
numbers["adam_step_over_lr_min"] = min(adam_steps[key] for key in plain)
numbers["adam_step_over_lr_max"] = max(adam_steps[key] for key in plain)
by_rate = [[adam_steps[k] for k in plain if k[0] == lr] for lr in settings["adam_rates"]]
numbers["adam_step_spread_over_betas"] = max(max(steps) / min(steps) for steps in by_rate)
low, high = min(settings["adam_rates"]), max(settings["adam_rates"])
numbers["adam_step_growth_with_lr"] = (adam_steps[(high, 0.5, 0.999, 1e-8)] * high
                                       / (adam_steps[(low, 0.5, 0.999, 1e-8)] * low))
numbers["lr_study_seconds"] = lr_study["seconds"]
for regime in REGIMES:
    numbers[f"dcgan_lr_grid_{regime}"] = sum(r["regime"] == regime
                                             for r in dcgan_lr["grid"].values())
for (lr_g, lr_d), run in dcgan_lr["grid"].items():
    if lr_g == lr_d:
        numbers[f"dcgan_lr_equal_{lr_g:.1e}_fd"] = run["fd"][-1] if run["fd"] else float("nan")
numbers["dcgan_lr_study_seconds"] = dcgan_lr["seconds"]
numbers["seconds"] = time.perf_counter() - start
result = {**chapter.report(numbers, figures), "cost_tables": cost["tables"]}
