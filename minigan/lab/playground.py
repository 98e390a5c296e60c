"""The lab's run: one 2-D GAN trained by minigan, stepped by the page one sub-step, one iteration or many at a time.

A ``Lab`` holds a ``GAN`` (``minigan/gans/gan.py``) of two small MLPs and trains it with the library's own
steps: ``GAN.discriminator_step`` and ``GAN.generator_step``. One *iteration* is Algorithm 1's outer loop
(Goodfellow et al. 2014), taken one sub-step at a time so that slow motion can stop between them::

    for k steps:  GAN.discriminator_step(m fresh real points)     # sub-steps "d"
    GAN.generator_step(m)                                          # sub-step "g"

which is what ``GAN.train_iteration`` does in one call; here ``advance`` makes one sub-step of it, and
``step("iteration")`` finishes the iteration under way. ``step("d")`` and ``step("g")`` are the page's
"one D step" and "one G step" buttons: an update of one player outside the iteration's count.

Reproducible from a seed: sub-step number t (counted from the reset) draws its minibatch and its noise
from generators seeded by (seed, t), so the same seed and the same requests give the same run, however
they were grouped into calls (one call of 100 iterations = 100 calls of one = slow motion throughout).

Thread-safe: every public method holds the lab's lock, so two tabs (and the play thread) see one run.
Play: ``play(speed)`` starts a thread that trains in short chunks and publishes a frame after each
(``frame()``: what the page draws), adapting the sub-steps per chunk so that the page redraws at
about FRAME_RATE frames a second; ``pause()`` stops it.
"""

import math
import sys
import threading
import time
import traceback

import numpy

import minigan
from minigan.engine import backend, optim
from minigan.gans.gan import GAN
from minigan.gans.least_squares import LeastSquares
from minigan.gans.models import mlp
from minigan.gans.objectives import Standard
from minigan.gans.wasserstein import WGANGP
from . import views
from .distributions import BOX, sample
from .settings import STRUCTURAL, SettingError, check_settings

SHOWN_POINTS = 500         # real and fake points drawn on the page
REFERENCE_POINTS = 2000    # points of each side the divergences compare
HISTORY_LENGTH = 600       # records kept for the metrics plot; beyond that every other one is dropped
FRAME_RATE = 20            # frames a second the play thread aims for
SLOW_MOTION_DELAY = 0.6    # seconds between sub-steps in slow motion
STEP_LIMIT = 10_000        # the most sub-steps one request may ask for (a request must not hold the lab for minutes)
SPEEDS = ("normal", "slow")


class LabError(ValueError):
    """A request the lab refuses (a count out of range, an unknown speed); one line."""


class RunDiverged(LabError):
    """A step asked of a run that diverged: "diverged at step N …"; a reset starts again."""


def objective_of(settings):
    """The objective the settings name, and the Adam betas its paper trains with."""
    name = settings["objective"]
    if name == "wgan-gp":  # Gulrajani et al. 2017, Algorithm 1: λ = 10, Adam β = (0, 0.9)
        return WGANGP(penalty_weight=10.0), (0.0, 0.9)
    if name == "lsgan":    # Mao et al. 2017, the 0-1 coding, Adam β₁ = 0.5 as DCGAN's
        return LeastSquares.coding("0-1"), (0.5, 0.999)
    return Standard(generator_loss=name, r1_gamma=settings["r1_gamma"]), (0.5, 0.999)  # Radford et al. 2015, §4


def optimizer_of(kind, parameters, lr, betas):
    """SGD (plain: θ ← θ − lr·∇) or Adam with the objective's betas."""
    return optim.SGD(parameters, lr=lr) if kind == "sgd" else optim.Adam(parameters, lr=lr, betas=betas)


class Lab:
    """One 2-D GAN run: its settings, its GAN, its counters, its history, and what the page draws."""

    def __init__(self, seed=0, settings=None):
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)  # notified whenever the version moves
        self.version = 0
        self.playing, self.speed, self._player = False, "normal", None
        self.steps_per_frame = 1
        self.reset(seed, settings)

    # ----- building and changing the run ------------------------------------------------------------
    def reset(self, seed=None, settings=None):
        """A new run from ``seed`` (default: the current one) with ``settings`` (default: the current ones)."""
        with self.lock:
            self.seed = self.seed if seed is None else backend.check_seed(seed, "seed")
            self.settings = check_settings({}, settings if settings is not None else getattr(self, "settings", None))
            minigan.seed(self.seed)
            s = self.settings
            generator = mlp((s["noise_dim"], *[s["g_width"]] * s["g_layers"], 2))
            discriminator = mlp((2, *[s["d_width"]] * s["d_layers"], 1))
            objective, self.betas = objective_of(s)
            self.gan = GAN(generator, discriminator,
                           optimizer_of(s["g_optimizer"], generator.parameters(), s["g_lr"], self.betas),
                           optimizer_of(s["d_optimizer"], discriminator.parameters(), s["d_lr"], self.betas),
                           noise_dim=s["noise_dim"], discriminator_steps=s["k"], objective=objective)
            # The noise behind the fake points shown and measured: fixed for the run, so a point's motion
            # on the page is G changing, not new noise. Its own stream: training never draws from it.
            self.shown_noise = self.gan.sample_noise(REFERENCE_POINTS, rng=numpy.random.default_rng([self.seed, 1]))
            self._new_reference()
            self.substeps = 0          # sub-steps since the reset: the step number t of the seeding
            self.phase = 0             # D steps done of the iteration under way
            self.last_substep = None   # "d" or "g": the part of the model overview to light up
            self.diverged = None
            self.playing = False       # the play thread sees it and stops; play again to train the new run
            self.history, self._pending = [], {"d_loss": [], "g_loss": []}
            self.last_losses = {"d_loss": None, "g_loss": None}
            self._touch()

    def configure(self, changes):
        """Apply ``changes`` (a dict of settings) to the next step; returns True if the networks were rebuilt.

        A structural setting (a layer count or width, the noise dimension) rebuilds both networks from
        the seed, as a reset; the others change the run in place (see ``settings.py``).
        """
        with self.lock:
            settings = check_settings(changes, self.settings)
            old, self.settings = self.settings, settings
            if any(settings[name] != old[name] for name in STRUCTURAL):
                self.reset(settings=settings)
                return True
            gan = self.gan
            gan.discriminator_steps = settings["k"]
            objective, betas = objective_of(settings)
            if (settings["objective"], settings["r1_gamma"]) != (old["objective"], old["r1_gamma"]):
                gan.objective = objective
            for player, network in (("g", gan.generator), ("d", gan.discriminator)):
                attribute = "generator_optimizer" if player == "g" else "discriminator_optimizer"
                optimizer, lr = getattr(gan, attribute), settings[f"{player}_lr"]
                if settings[f"{player}_optimizer"] != old[f"{player}_optimizer"] or (betas != self.betas and isinstance(optimizer, optim.Adam)):
                    # A new optimiser (or Adam with the new objective's betas) starts with fresh moments.
                    optimizer.release()
                    setattr(gan, attribute, optimizer_of(settings[f"{player}_optimizer"], network.parameters(), lr, betas))
                else:
                    optimizer.lr = lr
            self.betas = betas
            if (settings["data"], settings["drawn"]) != (old["data"], old["drawn"]):
                self._new_reference()
            self._touch()
            return False

    def _new_reference(self):
        """The real points shown and measured, from the data's own fixed stream."""
        s = self.settings
        self.reference_real = sample(s["data"], REFERENCE_POINTS, numpy.random.default_rng([self.seed, 2]), s["drawn"])

    # ----- training -------------------------------------------------------------------------------
    def step(self, what, count=1):
        """``count`` D steps ("d"), G steps ("g") or iterations ("iteration") of Algorithm 1."""
        if what not in ("d", "g", "iteration"):
            raise LabError(f"what: expected one of d, g, iteration, got {what!r}")
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= STEP_LIMIT:
            raise LabError(f"count: expected an integer in [1, {STEP_LIMIT}], got {count!r}")
        with self.lock:
            if what == "iteration" and count * (self.settings["k"] + 1) > STEP_LIMIT:
                raise LabError(f"count: {count} iterations of k + 1 = {self.settings['k'] + 1} sub-steps exceed "
                               f"{STEP_LIMIT} sub-steps; ask for at most {STEP_LIMIT // (self.settings['k'] + 1)}")
            self._check_not_diverged()
            for _ in range(count):
                if what == "iteration":
                    self._finish_iteration()
                else:
                    self._substep(what)
                if self.diverged:  # this request's steps broke the run: stop here, and say so in the state
                    break
            self._touch()

    def advance(self):
        """One sub-step of the iteration under way: a D step while fewer than k were made, else the G step."""
        if self.phase < self.gan.discriminator_steps:
            self._substep("d")
            self.phase += 1
        else:
            self._substep("g")
            self.phase = 0
            self.gan.iteration += 1

    def _finish_iteration(self):
        """The rest of the iteration under way (all of it when none is): its D steps, then its G step."""
        self.advance()
        while self.phase != 0 and not self.diverged:
            self.advance()

    def _substep(self, what):
        """Sub-step t: a D step on m fresh real points, or a G step, with noise and data seeded by (seed, t)."""
        self._check_not_diverged()
        m = self.settings["batch_size"]
        backend.seed(int(numpy.random.SeedSequence([self.seed, self.substeps]).generate_state(1)[0]))
        # A run that blows up overflows on its way to NaN; the check below reports it on the page in one
        # line, so NumPy's warnings would only repeat it on the terminal, once per op.
        with numpy.errstate(over="ignore", invalid="ignore", divide="ignore"):
            if what == "d":
                real = sample(self.settings["data"], m, numpy.random.default_rng([self.seed, self.substeps, 3]), self.settings["drawn"])
                loss = float(self.gan.discriminator_step(real)["d_loss"])
            else:
                loss = float(self.gan.generator_step(m)["g_loss"])
        self.substeps += 1
        self.last_substep = what
        name = f"{what}_loss"
        self.last_losses[name] = loss
        self._pending[name].append(loss)
        if not math.isfinite(loss):
            self.diverged = f"diverged at step {self.substeps}: {'D' if what == 'd' else 'G'}'s loss is {loss}; reset to go on"
            self.playing = False

    def _check_not_diverged(self):
        if self.diverged:
            raise RunDiverged(self.diverged)

    # ----- play -----------------------------------------------------------------------------------
    def play(self, speed="normal"):
        """Train in the background until ``pause``: in chunks that fill a frame's time (normal), or one
        sub-step every SLOW_MOTION_DELAY seconds (slow)."""
        if speed not in SPEEDS:
            raise LabError(f"speed: expected one of {', '.join(SPEEDS)}, got {speed!r}")
        with self.lock:
            self._check_not_diverged()
            self.speed = speed
            if not self.playing:
                self.playing = True
                self._player = threading.Thread(target=self._play, name="minigan-lab-play", daemon=True)
                self._player.start()
            self._touch()

    def pause(self):
        with self.lock:
            self.playing = False
            self._touch()

    def _play(self):
        """The play thread's body, guarded: an error in training ends play with one line on the page (and
        the traceback on the server's terminal), rather than a thread that dies while the page says playing."""
        try:
            self._play_loop()
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            with self.lock:
                self.playing = False
                self.diverged = f"stopped at step {self.substeps}: {type(error).__name__}: {error}; reset to go on"
                self._touch()

    def _play_loop(self):
        """The play thread: a chunk of training, a new frame, and again, while playing.

        A chunk is a number of sub-steps (``advance``), not of iterations, so that a GAN whose iteration is
        long (WGAN-GP's 5 critic steps) still shows frames between its steps. The chunk's length adapts:
        after each chunk the sub-steps per frame are scaled so that training takes about half of a frame's
        1/FRAME_RATE seconds, leaving the rest for the frame and the page.
        """
        while True:
            with self.lock:
                if not self.playing or self._player is not threading.current_thread():
                    return  # paused, reset, or replaced by a newer play thread
                started = time.perf_counter()
                if self.speed == "slow":
                    self.advance()
                else:
                    for _ in range(self.steps_per_frame):
                        self.advance()
                        if self.diverged:
                            break
                    spent = time.perf_counter() - started
                    wanted = 0.5 / FRAME_RATE
                    scale = min(2.0, max(0.5, wanted / max(spent, 1e-6)))
                    self.steps_per_frame = max(1, min(STEP_LIMIT, round(self.steps_per_frame * scale)))
                self._touch()
                self.frame()  # computed here, once, for every tab that waits on it
            time.sleep(SLOW_MOTION_DELAY if self.speed == "slow" else 0.002)  # let requests take the lock

    # ----- what the page draws ----------------------------------------------------------------------
    def _touch(self):
        """Something changed: a new version for the page, and the waiting requests woken."""
        self.version += 1
        self._frame = None
        self.changed.notify_all()

    def wait_for_change(self, after, timeout):
        """Block until the version is past ``after`` (or ``timeout`` seconds passed): a long poll."""
        with self.lock:
            self.changed.wait_for(lambda: self.version > after, timeout=timeout)

    def frame(self):
        """Everything the page draws for the run as it is now, as a JSON-ready dict (computed once per version)."""
        with self.lock:
            if self._frame is None:
                with numpy.errstate(over="ignore", invalid="ignore", divide="ignore"):  # as in _substep
                    self._frame = self._compute_frame()
            return self._frame

    def _compute_frame(self):
        gan, s = self.gan, self.settings
        fake = views.samples(gan, self.shown_noise)
        finite = bool(numpy.isfinite(fake).all())
        if not finite and not self.diverged:
            self.diverged = f"diverged at step {self.substeps}: G's samples are not finite; reset to go on"
            self.playing = False
        record = self._record(fake if finite else None)
        shown = fake[:SHOWN_POINTS]
        heatmap, kind = views.discriminator_heatmap(gan) if finite else (numpy.zeros(views.HEATMAP_SIZE ** 2), "probability")
        heatmap = numpy.nan_to_num(heatmap)  # a D gone to NaN is painted as 0, its range read from what is painted
        arrows = views.generator_gradients(gan, shown) if finite else numpy.zeros_like(shown)
        lines = views.manifold(gan) if finite else None
        return {
            "version": self.version, "seed": self.seed, "settings": s,
            "counters": {"iteration": gan.iteration, "discriminator_steps": gan.discriminator_step_count,
                         "generator_steps": gan.generator_step_count, "substeps": self.substeps, "phase": self.phase},
            "last_substep": self.last_substep, "playing": self.playing, "speed": self.speed,
            "steps_per_frame": self.steps_per_frame, "diverged": self.diverged,
            "losses": {name: _finite_or_none(value) for name, value in self.last_losses.items()},  # JSON has no NaN
            "box": BOX,
            "real": _rounded(self.reference_real[:SHOWN_POINTS]),
            "fake": _rounded(shown),
            "gradients": _rounded(arrows),
            "heatmap": {"size": views.HEATMAP_SIZE, "kind": kind, "values": _rounded(heatmap),
                        "low": float(heatmap.min()), "high": float(heatmap.max())},
            "manifold": None if lines is None else [_rounded(line) for line in lines],
            "history": self.history,
            "divergences": record,
        }

    def _record(self, fake):
        """A point of the metrics plot: the mean losses since the last one and the divergences now."""
        pending, self._pending = self._pending, {"d_loss": [], "g_loss": []}
        measured = views.divergences(self.reference_real, fake) if fake is not None else {"kl": None, "js": None}
        if self.history and self.history[-1]["step"] == self.substeps:
            return measured
        record = {"step": self.substeps, "iteration": self.gan.iteration,
                  **{name: _mean(values) for name, values in pending.items()}, **measured}
        self.history.append(record)
        if len(self.history) > HISTORY_LENGTH:  # halve the resolution, keep the whole run
            self.history = self.history[::2]
        return measured


def _mean(values):
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else None


def _finite_or_none(value):
    return value if value is not None and math.isfinite(value) else None


def _rounded(array):
    """A NumPy array as nested lists of floats with 4 decimals (a quarter of the JSON, nothing the eye can
    see), NaN as 0 and ±inf as the largest floats: JSON has neither."""
    return numpy.round(numpy.nan_to_num(numpy.asarray(array, dtype=numpy.float64)), 4).tolist()


__all__ = ["Lab", "LabError", "RunDiverged", "SettingError", "STEP_LIMIT"]
