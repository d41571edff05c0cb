"""The training loop of Goodfellow et al. (2014), Algorithm 1.

    for number of training iterations:
        for k steps:
            sample a minibatch of m noise samples z ~ p_z and m examples x ~ p_data
            update D by ascending its stochastic gradient of
                1/m sum_i [ log D(x_i) + log(1 - D(G(z_i))) ]
        sample a minibatch of m noise samples z ~ p_z
        update G by descending its stochastic gradient of  1/m sum_i log(1 - D(G(z_i)))
        (or, with the non-saturating loss, ascending 1/m sum_i log D(G(z_i)))

Both updates are written as losses to minimise (``minigan.losses``); any objective there can be
used. In code, one discriminator step is

    D.zero_grad()
    real_logits = D.forward(x);  D.backward(grad_real_logits)   # gradients add up in D's parameters
    fake_logits = D.forward(G.forward(z));  D.backward(grad_fake_logits)
    d_optimizer.step()

and one generator step is

    G.zero_grad()
    fake = G.forward(z);  logits = D.forward(fake)
    grad_fake = D.backward(grad_logits)  # dL/d(fake samples); it also adds into D's .grad,
    G.backward(grad_fake)                # harmlessly: D.zero_grad() clears it before D's next step
    g_optimizer.step()

so no "freeze D" trick is needed: backward never changes weights, only optimizers do, and
g_optimizer holds G's parameters alone. The code below skips what each step does not use: the
D step calls D.parameter_backward (no gradient into the batches), the G step D.input_gradient
where D has one (no gradient into D's weights) and G.parameter_backward (no gradient into z) --
the same numbers, less work. (Names: ``d_`` and ``D`` always mean the discriminator --
``d_step``, ``d_loss``, ``d_optimizer``, ``history["d_real"]`` = mean D(x); a gradient is
``grad_<what>``, the derivative of the loss with respect to <what>.)

    gan = GAN(G, D, Gaussian1D(3, 0.5).sample, latent_dim=1, d_steps=1,
              objective="non-saturating", lr_g=1e-3, lr_d=1e-3, batch_size=128)
    gan.train(2000, log_every=500)
    x = gan.sample(1000)               # (1000, 1) generated points
    gan.history["d_real"]              # mean D(x) per iteration

Randomness: every draw (noise, shuffles, and whatever ``real`` draws) comes from minigan's one
generator, in a fixed order, so ``B.seed(s)`` before building the models makes a run repeatable.

A conditional GAN (Mirza & Osindero, 2014) gives both players the label y:

    min_G max_D  E_{x,y} log D(x | y) + E_{z,y} log(1 - D(G(z | y) | y))

Pass the training labels (``labels=``, one per example of ``real``): G then gets
[z, onehot(y)] and D the image with one constant map per class (``minigan.conditioning``);
real batches carry their own labels, fake batches labels drawn uniformly. The generator's gradient is the image channels of D's input gradient.

    gan = GAN(G, D, images, latent_dim=100, labels=digits, num_classes=10)
    gan.sample(10, labels=[0, 1, ..., 9])            # one sample of each digit

A whole run -- both models, both optimizers, the RNG state, iteration, histories, position in
the data -- goes to one file with ``gan.save_checkpoint(path)``; ``gan.load_checkpoint(path)``
on a GAN built the same way continues it exactly where it stopped. With
``gan.train(n, checkpoint_path=path, checkpoint_every=500)`` the run is saved every 500
iterations and on Ctrl-C. Run management -- the loop's logging, checkpoints, Ctrl-C, NaN/Inf
detection (TrainingDiverged), all-or-nothing iterations -- is ``minigan.training.Training``, the
base class GAN inherits ``train``, ``flush``, ``history``, ``save_checkpoint`` and
``load_checkpoint`` from; this module is the algorithm.
"""
from __future__ import annotations

from minigan import arguments
from minigan import backend as B
from minigan import training
from minigan.conditioning import condition_images, condition_noise, image_gradient
from minigan.data.batches import Batches
from minigan.losses import OBJECTIVE_NAMES, get_objective, sigmoid
from minigan.nn.module import Module
from minigan.optim import Adam
from minigan.penalty import GradientPenalty, get_penalty, interpolate
from minigan.training import (NonFiniteLossError, TrainingDiverged,  # noqa: F401  (public here)
                              TrainingInterrupted)

HISTORY_KEYS = ("d_loss", "g_loss", "d_real", "d_fake")


class GAN(training.Training):
    """A generator, a discriminator, their optimizers, and Algorithm 1 to train them.

    Arguments
        generator       Module mapping noise (N, *latent_shape) to samples (N, ...)
        discriminator   Module mapping samples (N, ...) to logits (N, 1) (no final sigmoid)
        real            either a callable ``sample_real(n)`` returning a batch (n, ...) of the
                        active backend, or an array (num_examples, ...) of training data, which
                        is minibatched by reshuffling each epoch (an incomplete last batch is
                        dropped)
        latent_dim      size of z: an int, or a tuple for shaped noise, e.g. (100, 1, 1)
        noise           "normal" (z ~ N(0, I)) or "uniform" (z ~ U[-1, 1]^d)
        objective       a name from minigan.losses.OBJECTIVE_NAMES, or an Objective (any object
                        with its d_loss / g_loss methods)
        d_steps         k of Algorithm 1: discriminator steps per generator step
        batch_size      m of Algorithm 1, for the real, the fake and the generator's batches
        g_optimizer, d_optimizer   optimizers over G's / D's parameters; by default
                        Adam(lr, betas=(0.5, 0.999)) with lr = lr_g / lr_d (default 2e-4)
        labels          for a conditional GAN: integer class labels (num_examples,) of the
                        training data array; G's input is then (N, latent_dim + num_classes),
                        D's (N, C + num_classes, H, W)
        num_classes     number of classes of a conditional GAN (default: max(labels) + 1)
        penalty         a gradient penalty on D, added to D's loss with any objective
                        (``minigan.penalty``): None, "r1" (on the real batch), "r2" (on the
                        fake batch), "wgan-gp" (between them), or a GradientPenalty(name,
                        weight); saved in checkpoints and restored from them

    State (what a checkpoint must keep besides the two models, the two optimizers and
    ``B.get_rng_state()``) is ``state_dict()``:
        iteration       generator steps taken so far
        history         {"d_loss", "g_loss", "d_real", "d_fake": [float per iteration]}
                        (d_loss includes the gradient penalty's value, if any);
                        d_real / d_fake are the mean D output on the real / fake batch of the
                        iteration's last D step: the probability sigmoid(logit) for the
                        cross-entropy objectives, the raw output otherwise
        epoch, data_order, data_position    where the shuffled pass over ``real`` stands (an
                        array of training data only)
        num_classes, num_examples    what the run was trained on: a load refuses a run of
                        another conditioning or another number of training examples
    """

    def __init__(self, generator: Module, discriminator: Module, real, latent_dim,
                 noise: str = "normal", objective="non-saturating", d_steps: int = 1,
                 batch_size: int = 64, g_optimizer=None, d_optimizer=None,
                 lr_g: float | None = None, lr_d: float | None = None, labels=None,
                 num_classes: int | None = None, penalty=None):
        for name, module in (("generator", generator), ("discriminator", discriminator)):
            if not isinstance(module, Module):
                raise TypeError(f"GAN: {name} must be a minigan Module, got "
                                f"{type(module).__name__}")
        if generator is discriminator:
            raise ValueError("GAN: generator and discriminator are the same object; the two "
                             "players need separate models (each trained by its own optimizer)")
        for name, value in (("d_steps", d_steps), ("batch_size", batch_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"GAN: {name} must be a positive int, got {value!r}")
        if noise not in ("normal", "uniform"):
            raise ValueError(f"GAN: noise must be 'normal' or 'uniform', got {noise!r}")
        self.latent_shape = ((latent_dim,) if isinstance(latent_dim, int) else
                             tuple(latent_dim) if isinstance(latent_dim, (tuple, list)) else ())
        if not self.latent_shape or any(not isinstance(s, int) or isinstance(s, bool) or s < 1
                                        for s in self.latent_shape):
            raise ValueError(f"GAN: latent_dim must be a positive int or a tuple of them, "
                             f"got {latent_dim!r}")
        self.generator = generator
        self.discriminator = discriminator
        self.noise = noise
        # a name, or any object with d_loss / g_loss like minigan.losses.Objective
        self.objective = get_objective(objective) if isinstance(objective, str) else objective
        if not all(callable(getattr(self.objective, f, None)) for f in ("d_loss", "g_loss")):
            raise TypeError(f"GAN: objective must be one of {', '.join(OBJECTIVE_NAMES)} or an "
                            f"object with d_loss and g_loss methods (a minigan.losses.Objective)"
                            f", got {objective!r} ({type(objective).__name__})")
        self.d_steps = d_steps
        self.batch_size = batch_size
        self.penalty = get_penalty(penalty)
        if self.penalty is not None:
            self.penalty.check(discriminator)
        self.g_optimizer = self._optimizer("g", g_optimizer, lr_g, generator)
        self.d_optimizer = self._optimizer("d", d_optimizer, lr_d, discriminator)
        # zero_grad() on these lists is G.zero_grad() / D.zero_grad() without the module walk
        self._g_parameters = generator.parameters()
        self._d_parameters = discriminator.parameters()
        # g_step: dL/d(fake) through D.input_gradient (no D weight gradients) where D has one
        self._d_input_gradient = discriminator.second_order_refusal() is None
        self._dtype = B.dtype()             # the precision of the run: noise, data, checkpoints
        self.check_players("GAN")

        if callable(real):
            self.sample_real, self.data = real, None
        elif real is None or isinstance(real, (str, bytes)):
            raise TypeError(f"GAN: real must be a function n -> n real examples, or an array of "
                            f"training data, got {real!r}")
        elif hasattr(real, "sample"):
            raise TypeError(f"GAN: pass the sampling function, e.g. {type(real).__name__}(...)"
                            f".sample, or an array of training data as `real`")
        else:
            self.sample_real, self.data = None, real if B.is_array(real) else B.asarray(real)
            if self.data.ndim < 1 or self.data.shape[0] < batch_size:
                raise ValueError(f"GAN: the training data must hold at least batch_size="
                                 f"{batch_size} examples along axis 0, got shape "
                                 f"{tuple(self.data.shape)}")
        self.labels, self.num_classes = self._check_labels(labels, num_classes)
        self.iteration = 0
        self._history = {key: [] for key in HISTORY_KEYS}
        self._pending = []              # on a device: (iteration, numbers, checks) not yet read
        # the shuffled pass over the data: epoch, data_order, data_position (properties below)
        self._batches = Batches(0 if self.data is None else self.data.shape[0])

    @staticmethod
    def _optimizer(player, optimizer, lr, module):
        if optimizer is not None:
            if lr is not None:
                raise ValueError(f"GAN: give either {player}_optimizer or lr_{player}, not both "
                                 f"(the optimizer carries its own learning rate)")
            return optimizer
        return Adam(module.named_parameters(f"{player.upper()}."),
                    lr=2e-4 if lr is None else lr, betas=(0.5, 0.999))

    def _check_labels(self, labels, num_classes):
        """(labels on the backend, num_classes), or (None, None) for an unconditional GAN."""
        if labels is None:
            if num_classes is not None:
                raise ValueError("GAN: num_classes given without labels; a conditional GAN needs "
                                 "the label of every training example (labels=...)")
            return None, None
        if self.data is None:
            raise ValueError("GAN: labels need the training data as an array (label i belongs "
                             "to example i), not a sampling function")
        host = B.to_numpy(labels)
        if host.shape != (self.data.shape[0],) or host.dtype.kind not in "iu":
            raise ValueError(f"GAN: labels must be ({self.data.shape[0]},) integers, one per "
                             f"training example, got shape {host.shape} dtype {host.dtype}")
        if num_classes is None:
            num_classes = int(host.max()) + 1
        if host.min() < 0 or host.max() >= num_classes:
            raise ValueError(f"GAN: labels must lie in [0, num_classes={num_classes}), got "
                             f"{host.min()}..{host.max()}")
        return B.xp.asarray(host), int(num_classes)

    def check_players(self, where: str = "GAN") -> None:
        """Raise ValueError unless each optimizer holds exactly its own player's parameters: not
        the other's (swapped), not another model's, not one of them replaced since the optimizer
        was built (it would update the old one), none shared by G and D, and the two optimizers
        distinct. Run when the GAN is built and at the start of ``train``."""
        g_params, d_params = self.generator.parameters(), self.discriminator.parameters()
        g_ids, d_ids = {id(p) for p in g_params}, {id(p) for p in d_params}
        if g_ids & d_ids:
            raise ValueError(f"{where}: the generator and the discriminator share "
                             f"{len(g_ids & d_ids)} parameter(s) (a module used in both?); each "
                             f"player's optimizer would update them")
        if self.g_optimizer is self.d_optimizer:
            raise ValueError(f"{where}: g_optimizer and d_optimizer are the same object; give "
                             f"each player its own optimizer")
        for player, optimizer, own, other in (("g", self.g_optimizer, g_ids, d_ids),
                                              ("d", self.d_optimizer, d_ids, g_ids)):
            params = getattr(optimizer, "params", None)
            if params is None:
                continue                          # an optimizer of another kind: not checked
            held = {id(p) for p in params}
            if held == own:
                continue
            name = "generator" if player == "g" else "discriminator"
            if held == other:
                problem = (f"holds the {'discriminator' if player == 'g' else 'generator'}'s "
                           f"parameters (are g_optimizer and d_optimizer swapped?)")
            elif held - own - other:
                problem = (f"holds {len(held - own)} parameter(s) that are not the {name}'s "
                           f"(an optimizer over another model, or a parameter of the {name} "
                           f"replaced after the optimizer was built)")
            else:
                problem = (f"misses {len(own - held)} of the {name}'s parameters (a parameter "
                           f"added or replaced after the optimizer was built?)")
            raise ValueError(f"{where}: {player}_optimizer {problem}; build it over "
                             f"{name}.parameters()")
        self._g_parameters, self._d_parameters = g_params, d_params
        self.__dict__.pop("_buffer_owners", None)     # Training finds the buffers' modules anew

    @property
    def conditional(self) -> bool:
        """True for a conditional GAN (built with labels)."""
        return self.labels is not None

    # -- drawing batches -------------------------------------------------------------------------
    def sample_noise(self, n: int):
        """z: (n, *latent_shape) from p_z, in the active dtype."""
        if self.noise == "normal":
            return B.randn(n, *self.latent_shape)
        z = B.rand(n, *self.latent_shape)
        z *= 2
        z -= 1
        return z

    def sample_labels(self, n: int):
        """n class labels drawn uniformly (a conditional GAN's fake batches)."""
        return B.integers(0, self.num_classes, n)

    def generator_input(self, z, labels=None):
        """G's input: z, or [z, onehot(labels)] (N, latent_dim + num_classes) when conditional."""
        return z if labels is None else condition_noise(z, labels, self.num_classes)

    def discriminator_input(self, x, labels=None):
        """D's input: x, or x with num_classes label maps (N, C + num_classes, H, W)."""
        return x if labels is None else condition_images(x, labels, self.num_classes)

    def real_batch(self, n: int):
        """A minibatch (n, ...) of real examples: from sample_real, or the next n shuffled ones."""
        return self.real_batch_with_labels(n)[0]

    def real_batch_with_labels(self, n: int):
        """(x, labels): n real examples and their labels (None for an unconditional GAN)."""
        if self.sample_real is not None:
            x = self.sample_real(n)
            if getattr(x, "shape", (None,))[:1] != (n,):
                raise ValueError(f"GAN: the real sampler was asked for {n} examples and returned "
                                 + (f"shape {tuple(x.shape)}" if hasattr(x, "shape") else
                                    f"a {type(x).__name__}")
                                 + "; it must return an array of n examples along axis 0")
            return x, None
        index = self._batches.next(n)
        return self.data[index], None if self.labels is None else self.labels[index]

    @property
    def epoch(self) -> int:
        """Completed passes over the training data (``minigan.data.batches.Batches``)."""
        return self._batches.epoch

    @epoch.setter
    def epoch(self, value):
        self._batches.epoch = value

    @property
    def data_order(self):
        """The permutation of the training data of the current epoch (None before the first)."""
        return self._batches.order

    @data_order.setter
    def data_order(self, value):
        self._batches.order = value

    @property
    def data_position(self) -> int:
        """Index into data_order of the next training example."""
        return self._batches.position

    @data_position.setter
    def data_position(self, value):
        self._batches.position = value

    # -- one iteration of Algorithm 1 ---------------------------------------------------------
    def d_step(self):
        """One discriminator update on fresh real and fake batches.

        Returns (d_loss, real_logits, fake_logits), d_loss a 0-d array (with a gradient
        penalty, its value included: R1 runs on the real batch's forward, R2 on the fake
        batch's, WGAN-GP on a forward of its own, each right after that batch's backward).
        Every objective in
        minigan.losses is a sum of a real-batch term and a fake-batch term, so the gradient for
        the real logits is known before the fake batch goes through D (a module caches one
        forward pass at a time).
        """
        D, m = self.discriminator, self.batch_size
        for p in self._d_parameters:                                     # D.zero_grad()
            p.zero_grad()
        real, real_labels = self.real_batch_with_labels(m)
        real_logits = D.forward(self.discriminator_input(real, real_labels)).copy()   # (m, 1)
        self._check_logits(real_logits)
        real_loss, grad_real_logits = self._d_loss_real(real_logits)
        D.parameter_backward(grad_real_logits)        # D's .grad only: nothing flows into x
        if self.penalty is not None and self.penalty.batch == "real":        # R1
            real_loss = real_loss + self.penalty.apply(D, logits=real_logits)
        z = self.sample_noise(m)
        fake_labels = self.sample_labels(m) if self.conditional else None
        fake = self.generator.forward(self.generator_input(z, fake_labels))          # (m, ...)
        fake_logits = D.forward(self.discriminator_input(fake, fake_labels))         # (m, 1)
        fake_loss, grad_fake_logits = self._d_loss_fake(real_logits, fake_logits)
        D.parameter_backward(grad_fake_logits)
        if self.penalty is not None and self.penalty.batch != "real":        # R2, WGAN-GP
            fake_logits = fake_logits.copy()           # WGAN-GP runs D again: keep these
            fake_loss = fake_loss + self._penalty_term(D, real, real_labels, fake, fake_logits)
        d_loss = real_loss + fake_loss
        training.check_loss(d_loss, "GAN.d_step")              # before the optimizer changes D
        self.d_optimizer.step()
        return d_loss, real_logits, fake_logits

    def _penalty_term(self, D, real, real_labels, fake, fake_logits):
        """R2 on the fake batch D has just seen, or WGAN-GP on points between the real and fake
        batches (with the real batch's labels): the penalty's value, its gradient added to D's."""
        if self.penalty.batch == "fake":
            return self.penalty.apply(D, logits=fake_logits)
        xhat = interpolate(real, fake, fake_logits.shape[0])                 # one eps a pack
        return self.penalty.apply(D, x=self.discriminator_input(xhat, real_labels))

    def _d_loss_real(self, real_logits):
        """(real term of d_loss, its gradient); from d_loss itself for an objective that does not
        split its loss (any object with d_loss / g_loss may serve)."""
        if hasattr(self.objective, "d_loss_real"):
            return self.objective.d_loss_real(real_logits)
        return 0.0, self.objective.d_loss(real_logits, real_logits)[1]

    def _d_loss_fake(self, real_logits, fake_logits):
        """(fake term of d_loss, its gradient); for an objective that does not split its loss,
        the whole d_loss (the real term is then counted here, not in _d_loss_real)."""
        if hasattr(self.objective, "d_loss_fake"):
            return self.objective.d_loss_fake(fake_logits)
        value, _, grad_fake_logits = self.objective.d_loss(real_logits, fake_logits)
        return value, grad_fake_logits

    def _check_logits(self, logits) -> None:
        """D must give one number per example (per pack with PacGAN's Pack): (k, 1) or (k,)."""
        if logits.ndim > 2 or (logits.ndim == 2 and logits.shape[1] != 1) or logits.ndim == 0:
            raise ValueError(f"GAN: the discriminator must output one logit per example, shape "
                             f"(N, 1), got {tuple(logits.shape)}; end D with a layer of one "
                             f"output, e.g. Dense(..., 1)")

    def g_step(self):
        """One generator update on a fresh noise batch; returns the generator's loss (0-d)."""
        G, D = self.generator, self.discriminator
        for p in self._g_parameters:                                     # G.zero_grad()
            p.zero_grad()
        z = self.sample_noise(self.batch_size)
        labels = self.sample_labels(self.batch_size) if self.conditional else None
        fake = G.forward(self.generator_input(z, labels))
        g_loss, grad_logits = self.objective.g_loss(
            D.forward(self.discriminator_input(fake, labels)))
        grad_input = self._discriminator_input_gradient(grad_logits)
        G.parameter_backward(grad_input if labels is None       # G's .grad; no dL/dz needed
                             else image_gradient(grad_input, fake.shape[1]))
        training.check_loss(g_loss, "GAN.g_step")              # before the optimizer changes G
        self.g_optimizer.step()
        return g_loss

    def _discriminator_input_gradient(self, grad_logits):
        """dL/d(D's input) for the generator's step. D's own parameter gradients are not wanted
        here, so a D whose layers all have input_gradient (minigan.penalty's first half: every
        layer but BatchNorm) runs that and skips them -- in a DCGAN D, the weight gradient of
        every convolution; any other D runs backward (its .grad fills up, cleared in d_step)."""
        D = self.discriminator
        if self._d_input_gradient:
            return D.input_gradient(grad_logits)
        return D.backward(grad_logits)

    def step(self) -> dict:
        """One iteration: ``d_steps`` discriminator steps, then one generator step.

        Returns this iteration's numbers {"iteration", "d_loss", "g_loss", "d_real", "d_fake"}
        and adds them to ``history``. A NaN or Inf loss, D output or gradient raises
        TrainingDiverged naming the iteration, the player, the entry and the last finite losses;
        on the host the iteration is then undone whole (``Training._snapshot``: the models,
        D's optimizer, the random generator and the data position are as before it).
        A backend dtype changed since the GAN was built raises TypeError before anything runs.

        On the host the numbers are Python floats and a NaN raises at once. On a device nothing
        is read back during the step (a read waits for the GPU): the numbers stay 0-d device
        arrays, and they and the step's checks are read together by ``flush()`` -- when
        ``history`` is read, at logging and checkpoint time, and at the end of ``train``.
        """
        if B.dtype() != self._dtype:
            raise TypeError(f"GAN.step: the backend's dtype is {B.dtype()} but this GAN was "
                            f"built in {self._dtype} (its noise and data would be {B.dtype()}, "
                            f"its weights {self._dtype}); call B.set_dtype('{self._dtype}') "
                            f"back, or build a new GAN after B.set_dtype")
        checks, snapshot = [], self._snapshot()
        try:
            for _ in range(self.d_steps):
                (d_loss, real_logits, fake_logits), d_checks = self._finite_step(
                    "discriminator", self.d_step)
                checks += d_checks
            g_loss, g_checks = self._finite_step("generator", self.g_step)
        except BaseException:
            self._restore(snapshot)          # on the host: as if the iteration never began
            raise
        self.iteration += 1
        record = {"d_loss": d_loss, "g_loss": g_loss,
                  "d_real": self._mean_output(real_logits),
                  "d_fake": self._mean_output(fake_logits)}
        if B.on_host():
            record = {key: float(value) for key, value in record.items()}
            for key, value in record.items():
                self._history[key].append(value)
        else:
            values = B.xp.stack([v if B.is_array(v) else B.xp.asarray(v, dtype=real_logits.dtype)
                                 for v in record.values()])
            self._pending.append((self.iteration, values, checks + g_checks))
        return {"iteration": self.iteration, **record}

    # -- using the models ----------------------------------------------------------------------
    def sample(self, n: int, z=None, labels=None, chunk_size: int = 65536):
        """n generated samples (n, ...) from fresh noise, or G(z) for a given z (n = len(z)).

        A conditional GAN draws sample i of class labels[i] (labels: (n,) integers; uniformly
        random classes if None). The generator runs in eval mode (BatchNorm uses its running
        statistics, Dropout is off) and is put back in its previous mode. Large n is processed
        in chunks.
        """
        if labels is not None and not self.conditional:
            raise ValueError("GAN.sample: labels given, but this GAN is not conditional (build "
                             "it with labels=... to condition on them)")
        arguments.integer(chunk_size, "chunk_size", "GAN.sample", minimum=1)
        if z is not None:
            _check_array(z, "z", "GAN.sample")
        if z is None:
            arguments.integer(n, "n", "GAN.sample", minimum=1)
            z = self.sample_noise(n)
        if self.conditional:
            labels = self.sample_labels(z.shape[0]) if labels is None else B.xp.asarray(labels)
            if labels.shape != (z.shape[0],):
                raise ValueError(f"GAN.sample: need one label per sample, {z.shape[0]}, got "
                                 f"labels of shape {tuple(labels.shape)}")
            z = self.generator_input(z, labels)
        return _in_eval(self.generator, z, chunk_size)

    def discriminate(self, x, labels=None, chunk_size: int = 65536):
        """D's output on x (N, ...) -> (N,): the probability D(x) for the cross-entropy
        objectives, the raw output (critic value, score) otherwise. Eval mode, chunked.
        A conditional GAN needs the labels (N,) of x."""
        arguments.integer(chunk_size, "chunk_size", "GAN.discriminate", minimum=1)
        _check_array(x, "x", "GAN.discriminate")
        if self.conditional:
            if labels is None:
                raise ValueError("GAN.discriminate: this GAN is conditional; pass the labels of "
                                 "x (labels=...)")
            x = self.discriminator_input(x, B.xp.asarray(labels))
        logits = _in_eval(self.discriminator, x, chunk_size).reshape(x.shape[0])
        return sigmoid(logits) if self._probabilities() else logits

    def _probabilities(self) -> bool:
        """Whether D's output is the logit of a probability: the objective says so."""
        return getattr(self.objective, "outputs_probability", False)

    def _mean_output(self, logits):
        """The mean of D's output (a probability or a raw score) as a 0-d array."""
        return (sigmoid(logits) if self._probabilities() else logits).mean()

    # -- state for checkpoints ------------------------------------------------------------------
    def state_dict(self) -> dict:
        """The loop's own state (models and optimizers have their own state_dict())."""
        return {"iteration": self.iteration,
                "history": {key: list(values) for key, values in self.history.items()},
                "epoch": self.epoch,
                "data_order": None if self.data_order is None else B.to_numpy(self.data_order),
                "data_position": self.data_position,
                "penalty": None if self.penalty is None else self.penalty.state_dict(),
                "num_classes": self.num_classes,
                "num_examples": None if self.data is None else int(self.data.shape[0])}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state_dict(); the histories are copied. Changes nothing if it raises."""
        self.prepare_load(state)()

    def prepare_load(self, state: dict):
        """Check and convert a state_dict(), changing nothing; return a function of no arguments
        that installs it (and cannot fail). See ``Module.prepare_load``.

        Refused (ValueError; TypeError for an entry of the wrong kind): a negative iteration,
        epoch or data position, histories that are not lists of finite numbers of one length,
        a data order that is not a permutation of this GAN's training examples (another number
        of examples, or a run that sampled from a function), a position beyond the data."""
        where = "GAN.load_state_dict"
        if not isinstance(state, dict):
            raise TypeError(f"{where}: expects a dict, got {type(state).__name__}")
        missing = [k for k in ("iteration", "history", "epoch", "data_order", "data_position")
                   if k not in state]
        if missing:
            raise ValueError(f"{where}: missing entries {missing}")
        if not isinstance(state["history"], dict) or set(state["history"]) != set(HISTORY_KEYS):
            keys = sorted(state["history"]) if isinstance(state["history"], dict) else None
            raise ValueError(f"{where}: history has keys {keys}, expected {sorted(HISTORY_KEYS)}")
        iteration = arguments.integer(state["iteration"], "iteration", where, minimum=0)
        epoch = arguments.integer(state["epoch"], "epoch", where, minimum=0)
        position = arguments.integer(state["data_position"], "data_position", where, minimum=0)
        history = {}
        for key in HISTORY_KEYS:
            values = state["history"][key]
            if not isinstance(values, (list, tuple)):
                raise TypeError(f"{where}: history[{key!r}] must be a list of numbers, got "
                                f"{type(values).__name__}")
            history[key] = [arguments.real(v, f"history[{key!r}][{i}]", where)
                            for i, v in enumerate(values)]
        lengths = {key: len(values) for key, values in history.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"{where}: the histories have different lengths {lengths}; they "
                             f"hold one number per iteration each")
        order = state["data_order"]
        if order is not None:
            host = B.to_numpy(order)
            if host.ndim != 1 or host.dtype.kind not in "iu":
                raise ValueError(f"{where}: data_order must be a 1-D array of indices, got "
                                 f"shape {host.shape} dtype {host.dtype}")
            if self.data is None:
                raise ValueError(f"{where}: the state holds an order over {host.size} training "
                                 f"examples, but this GAN draws real batches from a function")
            n = self.data.shape[0]
            if host.size != n or not B.np.array_equal(B.np.sort(host), B.np.arange(n)):
                raise ValueError(f"{where}: data_order is not a permutation of this GAN's "
                                 f"{n} training examples (it has {host.size} entries"
                                 f"{'' if host.size != n else ', some repeated or out of range'}"
                                 f"); was the run trained on other data?")
            if position > n:
                raise ValueError(f"{where}: data_position {position} is beyond the {n} "
                                 f"training examples")
            order = B.xp.asarray(host.astype(B.np.int64))
        for key, here in (("num_classes", self.num_classes),
                          ("num_examples", None if self.data is None else self.data.shape[0])):
            if key in state and state[key] != here:       # (absent from older checkpoints)
                raise ValueError(f"{where}: the run had {key}={state[key]!r}, this GAN has "
                                 f"{key}={here!r}; "
                                 + ("a conditional and an unconditional GAN, or two numbers "
                                    "of classes, do not continue each other" if
                                    key == "num_classes" else
                                    "resume it on the same training data"))
        penalty = self.penalty                           # a state from before penalties: kept
        if "penalty" in state:
            penalty = GradientPenalty.from_state(state["penalty"])
            if penalty is not None:
                penalty.check(self.discriminator)

        def install():
            self.iteration, self.epoch, self.data_position = iteration, epoch, position
            self._history, self._pending, self.data_order = history, [], order
            self.penalty = penalty
        return install

    def __repr__(self) -> str:
        return (f"GAN(objective={getattr(self.objective, 'name', self.objective)!r}, "
                f"d_steps={self.d_steps}, batch_size={self.batch_size}, "
                f"iteration={self.iteration})")


def _check_array(x, name: str, where: str) -> None:
    """TypeError unless x is an array of the active backend (a list or a host array on a
    device would fail later with NumPy's or CuPy's words)."""
    if not B.is_array(x):
        raise TypeError(f"{where}: {name} must be a {B.xp.__name__}.ndarray, got "
                        f"{type(x).__name__}; convert it with B.asarray({name})")


def _in_eval(module: Module, x, chunk_size: int):
    """module.forward(x) in eval mode, chunk by chunk along axis 0; restores the mode."""
    with module.eval_mode():
        if x.shape[0] <= chunk_size:
            return module.forward(x)
        parts = [module.forward(x[i:i + chunk_size]) for i in range(0, x.shape[0], chunk_size)]
        return B.xp.concatenate(parts, axis=0)
