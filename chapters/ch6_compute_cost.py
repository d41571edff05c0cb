# %% [markdown]
# # Chapter 6, Q2 -- how much compute does a GAN need?
#
# Mirrors section 6 of the documents (附录常见问题与解答): 000 §6 ("more, because training
# is more complex") and 003 §6 Q1 ("use a higher learning rate, more GPUs and more complex networks
# to speed training up"). The other questions of chapter 6: ``ch6_gan_vs_vae.py`` (Q1),
# ``ch6_limits.py`` (Q3), ``ch6_learning_rates.py`` (Q4).
#
# A step of ``minigan.gan.GAN`` runs D forward and backward three times (real, fake, and for G's
# gradient) and G forward twice and backward once. A dense layer with P = in * out weights costs
# 2NP flops forward and 4NP backward (dW and dx), so with P_D, P_G weights in D and G
#
#     GAN step ~ (18 P_D + 8 P_G) N flops,        VAE step ~ 6 (P_encoder + P_decoder) N flops,
#
# and with mirrored sizes a GAN step does about twice the arithmetic of a VAE step (Q1's VAE has
# the GAN's layers). At a large batch the time grows with width squared, so "more complex
# networks" make training slower, not faster; a small step is dominated by per-operation
# overhead, a small fraction of the machine's matmul peak -- which is also why a GPU pays off
# only for large arrays.
#
# The default run times a step of a dense GAN and a dense VAE on 784-d data for hidden widths
# 64 to 1,024 and batches 16, 64 and 256 (median of 5 steps each) on the active backend, and on
# CuPy beside NumPy where a GPU is available (``minigan.compute_cost``): an estimated 10 s on 2
# cores (short runs scaled up); ``--quick``, a smoke test, took 3-5 s.
#
# Run:  python chapters/ch6_compute_cost.py [--quick] [--seed S] [--backend numpy|cupy] [--out DIR]

# %% Imports
import os
import time

from minigan import chapter  # first: it turns a bad MINIGAN_BACKEND into one line
from minigan import backend as B
from minigan import compute_cost

TITLE = "Chapter 6, Q2 -- how much compute does a GAN need? A training step timed"

# %% Settings: as a script, the command line; in a notebook, edit `notebook` ("" for the full run)
args = chapter.parse_args(chapter.make_parser(TITLE, "ch6_compute_cost"), notebook="--quick")
settings = compute_cost.QUICK if args.quick else compute_cost.Settings()
start = time.perf_counter()
out = chapter.start(args)            # backend, dtype and seed set; the folder for the figures

# %% [markdown]
# ## A training step, timed
# Each row: the median time of one step at that width and batch, the GAN's time over the VAE's,
# the GAN step's arithmetic rate and its share of the float32 matmul peak measured in the same
# run (``minigan.flops.matmul_peak``). Timings depend on the machine and on what else runs on
# it; compare rows of one run, not runs.

# %%
cost = compute_cost.measure(settings, args.seed)
print(compute_cost.format_table(cost))
figures = [chapter.show(compute_cost.figure(os.path.join(out, "compute_cost.png"), cost))]

# %% What was measured
largest, smallest = cost.largest(B.name()), cost.smallest(B.name())
peak = cost.peaks[B.name()]
numbers = {"matmul_peak_gflops": peak,
           "largest_gan_step_ms": largest.gan_ms,
           "largest_gan_over_vae": largest.gan_ms / largest.vae_ms,
           "largest_gan_fraction_of_peak": largest.gan_gflops / peak,
           "smallest_gan_fraction_of_peak": smallest.gan_gflops / peak,
           "gan_over_vae_flops": largest.gan_flops / largest.vae_flops,
           "seconds": time.perf_counter() - start}
result = {**chapter.report(numbers, figures, args), "cost_tables": cost.tables}
