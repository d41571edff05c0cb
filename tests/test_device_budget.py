"""The GPU path is fast by construction: a training iteration on the CuPy test double makes no
host sync and uploads (almost) nothing.

At DCGAN sizes a GPU step is a few hundred small kernels; a read of a device value (``float``,
``bool``, ``.get()``) makes the host wait for all of them, and an upload per step (noise and
dropout masks drawn on the host) costs more than the arithmetic. fakecupy counts both, and the
operations (roughly, kernel launches). The budget: one iteration of the DCGAN and of the
conditional GAN of chapter 4, batch 64, document 004's Dropout(0.3): **0 syncs and under 64 KB
host -> device**. The counts are printed (``pytest -s``) for the README's GPU section.
"""
import numpy as np
import pytest

import fakecupy
from minigan import backend as B
from minigan.gan import GAN, TrainingDiverged
from minigan.models import (conditional_discriminator, conditional_generator,
                            dcgan_discriminator, dcgan_generator)

BATCH = 64
BUDGET_BYTES = 64 * 1024


def dcgan(conditional: bool) -> GAN:
    """Chapter 4's DCGAN (or conditional GAN) on 128 random 28x28 'images', on the double."""
    host = np.random.default_rng(0)
    images = B.asarray(host.uniform(-1, 1, (2 * BATCH, 1, 28, 28)).astype(np.float32))
    if conditional:
        labels = B.asarray(host.integers(0, 10, 2 * BATCH))
        return GAN(conditional_generator(100, 10), conditional_discriminator(10, dropout=0.3),
                   images, latent_dim=100, batch_size=BATCH, lr_g=2e-4, lr_d=2e-4,
                   labels=labels, num_classes=10)
    return GAN(dcgan_generator(100), dcgan_discriminator(dropout=0.3), images, latent_dim=100,
               batch_size=BATCH, lr_g=2e-4, lr_d=2e-4)


@pytest.mark.parametrize("conditional", [False, True], ids=["dcgan", "cgan"])
def test_one_iteration_makes_no_sync_and_uploads_under_64_kb(fake, conditional):
    gan = dcgan(conditional)
    gan.step()                       # the first iteration sets up buffers (once per run)
    gan.step()                       # an epoch boundary: 128 examples, two batches
    counters = fakecupy.reset_counters()
    gan.step()
    name = "conditional GAN" if conditional else "DCGAN"
    print(f"\n{name} iteration, batch {BATCH}, on the CuPy double: {counters.syncs} syncs, "
          f"{counters.host_to_device_bytes} bytes host -> device, {counters.operations} "
          f"device operations")
    assert counters.syncs == 0, counters
    assert counters.host_to_device_bytes < BUDGET_BYTES, counters
    assert counters.operations > 100         # the counter sees the work (not vacuous)
    reads = fakecupy.reset_counters()
    history = gan.history                    # the deferred read: one transfer of the numbers,
    assert len(history["d_loss"]) == 3       # one of the checks
    assert reads.syncs == 2, reads
    assert all(np.isfinite(history[key]).all() for key in history)


def test_training_with_logging_reads_only_at_the_log_lines(fake, capsys):
    gan = dcgan(False)
    counters = fakecupy.reset_counters()
    gan.train(4, log_every=2)                         # log lines after iterations 2 and 4
    assert counters.syncs == 2 * 2, counters         # two log lines, each one flush (2 reads)
    assert capsys.readouterr().out.count("iter ") == 2


def test_divergence_on_the_device_names_the_iteration_and_player_when_read(fake):
    """NaN data at the 3rd real batch: nothing is read during the steps, and the flush at the
    end of train() reports the discriminator step of iteration 3."""
    draws = []

    def real(n):
        draws.append(n)
        x = B.randn(n, 1) + 2.0
        if len(draws) == 3:
            x[0, 0] = float("nan")
        return x

    from minigan.nn import Dense, LeakyReLU, Sequential
    G = Sequential(Dense(1, 8), LeakyReLU(0.2), Dense(8, 1))
    D = Sequential(Dense(1, 8), LeakyReLU(0.2), Dense(8, 1))
    gan = GAN(G, D, real, latent_dim=1, batch_size=8)
    with pytest.raises(TrainingDiverged) as info:
        gan.train(6)
    assert info.value.iteration == 3 and info.value.player == "discriminator"
    assert "real_logits contain non-finite values" in str(info.value)
    assert len(gan.history["d_loss"]) == 2                 # the finite iterations
    assert info.value.last_losses == {"d_loss": gan.history["d_loss"][-1],
                                      "g_loss": gan.history["g_loss"][-1]}


def test_the_double_refuses_what_cupy_lacks(fake):
    """Names CuPy does not have fail on the double as they would on a GPU."""
    with pytest.raises(AttributeError, match="errstate"):
        fakecupy.errstate
    with pytest.raises(AttributeError, match="resize"):
        fakecupy.zeros(3).resize(4)
    with pytest.raises(TypeError):           # no __index__: a 0-d device array is not an index
        range(fakecupy.asarray(3))
    assert fakecupy.lib.stride_tricks.as_strided is not None
    with pytest.raises(AttributeError, match="cupy.linalg has no attribute 'not_in_cupy'"):
        fakecupy.linalg.not_in_cupy
