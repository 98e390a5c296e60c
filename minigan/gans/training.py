"""The bookkeeping around Algorithm 1: epochs, progress lines, the history of statistics, and stopping.

``gan.train_iteration`` is one iteration of Algorithm 1 (``minigan/gans/gan.py``; a ``ConditionalGAN`` runs
the same loop on (images, labels) minibatches). ``train_epochs`` runs it over the epochs of a ``DataLoader``,
as the MNIST examples do:

    for each epoch:
        for each of len(loader) // k generator steps:      (each takes k real minibatches)
            stats = gan.train_iteration(real_batches)        k D steps, then one G step
            average.update()                                 with an averaged generator: θ_EMA ← β θ_EMA + (1 − β) θ
            every log_every steps, at the end of the epoch and before stopping:
                fetch the statistics of the steps since the last fetch, append them to the history,
                print a progress line, stop if a statistic is not finite   (a NaN is a bug to fix)
            stop after this step if Ctrl-C was pressed       (``StopOnInterrupt``)
        on_epoch_end(epoch)                                  grids, checkpoints (the last, partial epoch too)

Why fetch in blocks: ``train_iteration`` leaves its statistics on the device, and bringing a value to the
host waits for all the work queued before it; fetching every step would make the GPU idle every step.
One transfer per progress line costs that wait once in ``log_every`` steps, and the history holds
exactly the values it would hold if each step were fetched at once. A non-finite statistic is therefore
seen at the next fetch, at most ``log_every − 1`` steps after the step that made it; that step is named,
the history ends with it, and no checkpoint is written after it (every epoch ends with a fetch).

Where a run stands is one number, the GAN's iteration counter t: with s = len(loader) // k steps per
epoch, t = e·s + j means e epochs done and j steps of epoch e + 1 (``position``). A run resumed at t
skips the j·k minibatches of epoch e + 1 that were already used (the loader shuffles epoch e by its seed
and e alone) and draws iteration t's noise from (seed, t), so it continues exactly as the uninterrupted
run would have, wherever it was cut.

Nothing here touches the networks or draws random numbers, so a run's losses depend only on the GAN's
seed and the loader's.
"""

import math
import signal
import threading
import time

from minigan.engine import backend

STATISTICS = ("d_loss", "g_loss", "d_real", "d_fake")  # what every training iteration reports and the history keeps
LOSSES = ("d_loss", "g_loss")

# |loss| beyond this gets a warning. With the standard objective both players' losses are binary
# cross-entropies on D's logit s, and BCE(s) ≈ |s| once D is confidently wrong, so a loss of 10⁴ means
# logits of 10⁴: far past the |s| ≈ 17 where σ(s) rounds to 0 or 1 in float32. A run that learns never
# comes near it; one whose weights blow up (too large a learning rate) passes it long before it reaches
# inf. (The other objectives' losses are raw critic scores (Wasserstein) or their squares (least
# squares), not BCEs; the same bound flags them once those scores blow up.)
LOSS_WARNING_BOUND = 1e4


def progress_line(epoch, epochs, step, steps_in_epoch, stats, rate, remaining, names=("D(x)", "D(G(z))")):
    """One line of progress: where we are, both losses, the mean D on real and fake, speed and ETA.

    ``names``: how to print the mean D(·) of the real and the fake minibatch (a conditional GAN
    prints D(x|y) and D(G(z|y)|y)).
    """
    eta = f"{int(remaining // 60)}m{int(remaining % 60):02d}s" if remaining == remaining else "?"  # NaN-safe
    return (f"epoch {epoch}/{epochs}  step {step}/{steps_in_epoch}  d_loss {stats['d_loss']:.3f}  "
            f"g_loss {stats['g_loss']:.3f}  {names[0]} {stats['d_real']:.3f}  {names[1]} {stats['d_fake']:.3f}  "
            f"{rate:.2f} it/s  ETA {eta}")


def fetch_statistics(pending, names=STATISTICS):
    """[{name: float}] for a list of statistics dicts (as ``train_iteration`` returns them, on the device):
    every value of every step in one device→host transfer."""
    if not pending:
        return []
    values = [stats[name] for stats in pending for name in names]
    xp = backend.array_module(*values)
    host = backend.to_numpy(xp.stack(values)).tolist()  # one transfer; float32 values become exact Python floats
    return [dict(zip(names, host[i * len(names) : (i + 1) * len(names)])) for i in range(len(pending))]


def steps_per_epoch(gan, loader):
    """Generator steps in one pass over the loader: each takes k = ``gan.discriminator_steps`` minibatches."""
    return len(loader) // gan.discriminator_steps


def train_epochs(gan, loader, epochs, history, start_epoch=0, max_steps=None, log_every=50, on_epoch_end=None,
                 names=("D(x)", "D(G(z))"), log=None, start_step=0, should_stop=None, average=None):
    """Train ``gan`` from step ``start_step`` + 1 of epoch ``start_epoch`` + 1 to the end of epoch ``epochs``,
    appending every iteration's statistics.

    Args:
        gan: a ``GAN`` (or ``ConditionalGAN``); ``loader``: a ``DataLoader`` whose ``epoch`` is already
            ``start_epoch`` (it shuffles epoch e by (seed, e)).
        history: a dict of lists, one per name in ``STATISTICS``, extended in place.
        start_step: generator steps of epoch ``start_epoch`` + 1 already made (a run resumed mid-epoch,
            see ``position``); their k·start_step minibatches are skipped.
        max_steps: stop after this many generator steps of this call (None: all the epochs).
        on_epoch_end: called as ``on_epoch_end(epoch)`` after every epoch, the last, partial one too.
        names: passed to ``progress_line``; log: where its lines go (default: printed at once).
        should_stop: a function of no arguments, asked after every iteration (e.g. a ``StopOnInterrupt``);
            when it returns True the statistics are fetched and the epoch ends there, as a partial last
            epoch does.
        average: a ``WeightAverage`` (``averaging.py``) to update after every iteration, or None.

    Returns:
        The number of generator steps made. Raises ``Diverged`` (a ``FloatingPointError``) naming the
        first step with a non-finite statistic, at the fetch that sees it (see the module's docstring);
        logs one warning the first time a loss passes ``LOSS_WARNING_BOUND``. A ``KeyboardInterrupt``
        inside an iteration still puts the statistics of the steps before it into the history.
    """
    log = log or (lambda line: print(line, flush=True))
    per_epoch = steps_per_epoch(gan, loader)
    total = (epochs - start_epoch) * per_epoch - start_step
    total = total if max_steps is None else min(total, max_steps)
    started, done, warned = time.perf_counter(), 0, False
    pending = []  # the statistics of the steps since the last fetch, still on the device

    def fetch(epoch, step):
        """Move the pending statistics (those of steps step − len(pending) + 1 … step) into the history,
        checking each; returns the last."""
        nonlocal warned
        first, first_iteration = step - len(pending) + 1, gan.iteration - len(pending) + 1
        fetched = fetch_statistics(pending)
        pending.clear()
        for offset, stats in enumerate(fetched):
            for name in STATISTICS:
                history[name].append(stats[name])
            warning = check_statistics(stats, epoch, first + offset, first_iteration + offset)  # raises Diverged
            if warning and not warned:
                log(warning)
                warned = True
        return stats

    for epoch in range(start_epoch + 1, epochs + 1):
        if done >= total:
            break
        skipped = start_step if epoch == start_epoch + 1 else 0
        real_batches = epoch_batches(loader, skip=skipped * gan.discriminator_steps)
        made = skipped  # the last step of this epoch whose iteration has finished
        try:
            for step in range(skipped + 1, per_epoch + 1):
                pending.append(gan.train_iteration(real_batches))
                if average is not None:
                    average.update()  # after the iteration's one generator step
                done, made = done + 1, step
                stopping = done >= total or (should_stop is not None and should_stop())
                if step % log_every == 0 or step == per_epoch or stopping:
                    stats = fetch(epoch, step)
                    rate = done / (time.perf_counter() - started)
                    log(progress_line(epoch, epochs, step, per_epoch, stats, rate, (total - done) / rate, names))
                if stopping:
                    break
        except KeyboardInterrupt:  # inside an iteration: the steps finished before it keep their statistics
            if pending:
                fetch(epoch, made)
            raise
        if on_epoch_end is not None:
            on_epoch_end(epoch)
        if should_stop is not None and should_stop():
            break
    return done


# ----- where a run stands, and how it continues -------------------------------------------------------
def position(iteration, per_epoch):
    """Where a run that has made ``iteration`` generator steps stands, with ``per_epoch`` steps an epoch:
    ``(epochs_done, step)``, the finished epochs and the steps already made in the next one (0 ≤ step < per_epoch).

    ``train_epochs(..., start_epoch=epochs_done, start_step=step)`` (with ``loader.epoch = epochs_done``)
    continues from there.
    """
    return divmod(int(iteration), int(per_epoch))


def epoch_batches(loader, skip=0):
    """The next epoch of ``loader`` as an iterator, with its first ``skip`` minibatches already taken.

    The loader shuffles an epoch from its seed and the epoch's number alone, so the skipped minibatches
    are exactly those the interrupted run used, and the rest come in the order it would have seen them.
    """
    batches = iter(loader)
    for _ in range(skip):
        next(batches)
    return batches


# ----- stopping: divergence and Ctrl-C ------------------------------------------------------------------
class Diverged(FloatingPointError):
    """A training statistic is not finite: the run stopped there (a NaN is a bug or too large a step, not
    something to train through). ``epoch``, ``step``, ``iteration``, ``statistic``, ``value`` say where and what
    (``epoch`` and ``step`` are None for a loop that counts iterations only)."""

    def __init__(self, epoch, step, iteration, statistic, value):
        self.epoch, self.step, self.iteration, self.statistic, self.value = epoch, step, iteration, statistic, value
        super().__init__(f"training diverged at {_where(epoch, step, iteration)}: {statistic} is {value}")


def _where(epoch, step, iteration):
    return f"iteration {iteration}" if epoch is None else f"epoch {epoch} step {step} (generator step {iteration})"


def check_statistics(stats, epoch, step, iteration):
    """Raise ``Diverged`` if a statistic of this iteration is not finite; return a warning line if a loss
    has grown past ``LOSS_WARNING_BOUND`` (else None). ``epoch`` and ``step`` may be None (see ``Diverged``)."""
    for name, value in stats.items():
        if not math.isfinite(value):
            raise Diverged(epoch, step, iteration, name, value)
    for name in LOSSES:
        if abs(stats[name]) > LOSS_WARNING_BOUND:
            return (f"warning: {name} is {stats[name]:.3g} at {_where(epoch, step, iteration)}, "
                    f"beyond {LOSS_WARNING_BOUND:.0e}, which no learning run reaches: training is probably diverging "
                    f"(too large a learning rate?)")
    return None


class StopOnInterrupt:
    """Inside ``with StopOnInterrupt() as stop:``, Ctrl-C (SIGINT) asks training to stop instead of raising
    ``KeyboardInterrupt`` wherever Python happens to be, half-way through an Adam update or inside col2im.

    ``train_epochs(..., should_stop=stop)`` asks after every iteration: the iteration in progress
    finishes, the epoch ends there (``on_epoch_end`` writes its checkpoint) and the call returns;
    ``stop.requested`` then says it was asked. A second Ctrl-C raises ``KeyboardInterrupt`` at once, for a
    step that takes too long. ``notice(line)`` is called at the first Ctrl-C, to say what will happen.
    Signals reach only the main thread; elsewhere this does nothing.
    """

    def __init__(self, notice=None):
        self.requested, self.notice, self._previous = False, notice, None

    def __call__(self):
        return self.requested

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._interrupted)
        return self

    def _interrupted(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        if self.notice is not None:
            self.notice("Ctrl-C: stopping after this iteration (press it again to stop at once, without a checkpoint)")

    def __exit__(self, *exception):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        return False
