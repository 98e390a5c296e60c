"""The bookkeeping around Algorithm 1: epochs, progress lines, the history of statistics.

``gan.train_iteration`` is one iteration of Algorithm 1 (``minigan/gans/gan.py``; a ``ConditionalGAN`` runs
the same loop on (images, labels) minibatches). ``train_epochs`` runs it over the epochs of a ``DataLoader``,
as the MNIST examples do:

    for each epoch:
        for each of len(loader) // k generator steps:      (each takes k real minibatches)
            stats = gan.train_iteration(real_batches)        k D steps, then one G step
            every log_every steps, and at the end of the epoch:
                fetch the statistics of the steps since the last fetch, append them to the history,
                print a progress line, stop if a statistic is not finite   (a NaN is a bug to fix)
        on_epoch_end(epoch)                                  grids, checkpoints

Why fetch in blocks: ``train_iteration`` leaves its statistics on the device, and bringing a value to the
host waits for all the work queued before it; fetching every step would make the GPU idle every step.
One transfer per progress line costs that wait once in ``log_every`` steps, and the history holds
exactly the values it would hold if each step were fetched at once. A non-finite statistic is therefore
seen at the next fetch, at most ``log_every − 1`` steps after the step that made it; that step is named,
the history ends with it, and no checkpoint is written after it (every epoch ends with a fetch).

Nothing here touches the networks or draws random numbers, so a run's losses depend only on the GAN's
seed and the loader's.
"""

import math
import time

from minigan.engine import backend

STATISTICS = ("d_loss", "g_loss", "d_real", "d_fake")  # what every training iteration reports and the history keeps


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
                 names=("D(x)", "D(G(z))"), log=None):
    """Train ``gan`` from epoch ``start_epoch`` + 1 to ``epochs``, appending every iteration's statistics.

    Args:
        gan: a ``GAN`` (or ``ConditionalGAN``); ``loader``: a ``DataLoader`` whose ``epoch`` is already
            ``start_epoch`` (it shuffles epoch e by (seed, e)).
        history: a dict of lists, one per name in ``STATISTICS``, extended in place.
        max_steps: stop after this many generator steps of this call (None: all the epochs).
        on_epoch_end: called as ``on_epoch_end(epoch)`` after every epoch, the last, partial one too.
        names: passed to ``progress_line``; log: where its lines go (default: printed at once).

    Returns:
        The number of generator steps made. Raises ``FloatingPointError`` naming the first step with a
        non-finite statistic, at the fetch that sees it (see the module's docstring).
    """
    log = log or (lambda line: print(line, flush=True))
    per_epoch = steps_per_epoch(gan, loader)
    total = (epochs - start_epoch) * per_epoch
    total = total if max_steps is None else min(total, max_steps)
    started, done = time.perf_counter(), 0
    for epoch in range(start_epoch + 1, epochs + 1):
        if done >= total:
            break
        real_batches = iter(loader)
        pending = []  # the statistics of the steps since the last fetch, still on the device
        for step in range(1, per_epoch + 1):
            pending.append(gan.train_iteration(real_batches))
            done += 1
            if step % log_every == 0 or step == per_epoch or done == total:
                first = step - len(pending) + 1
                for offset, stats in enumerate(fetch_statistics(pending)):
                    for name in STATISTICS:
                        history[name].append(stats[name])
                    if not all(math.isfinite(stats[name]) for name in STATISTICS):
                        raise FloatingPointError(f"non-finite statistics at epoch {epoch} step {first + offset}: {stats}")
                pending.clear()
                rate = done / (time.perf_counter() - started)
                log(progress_line(epoch, epochs, step, per_epoch, stats, rate, (total - done) / rate, names))
            if done >= total:
                break
        if on_epoch_end is not None:
            on_epoch_end(epoch)
    return done
