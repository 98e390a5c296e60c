"""An averaged generator: the exponential moving average of G's weights (Yazıcı et al. 2019).

``WeightAverage`` averages any module's parameters; the generator is its main use here, and the
semi-supervised GAN's released code measured its test error on the same average of D's weights
(β = 0.9999, Salimans et al. 2016), which ``examples/semi_supervised.py`` reports beside the raw D.

GAN training rarely converges to a point: the players circle around an equilibrium, and the generator
of the last iteration is one point on that orbit. Yazıcı et al. 2019, "The Unusual Effectiveness of
Averaging in GAN Training", sample instead from the average of G's recent weights, the exponential
moving average (their eq. 2)

    θ_EMA⁽ᵗ⁾ = β θ_EMA⁽ᵗ⁻¹⁾ + (1 − β) θ⁽ᵗ⁾,        θ_EMA⁽⁰⁾ = θ⁽⁰⁾,   β = 0.999,

taken after every generator step. The average is never trained and never fed back: training follows
exactly the same path with or without it, and only the pictures and the final samples come from it.
``WeightAverage.update`` is the formula; ``training.train_epochs(..., average=...)`` calls it after
every iteration of Algorithm 1 (one generator step each).

**Batch norm.** A generator with batch norm samples in eval mode with running statistics that were
collected for the *raw* weights; the averaged weights produce different pre-activations. So before
sampling, ``applied`` re-estimates the statistics of the averaged generator from its own outputs
(batches of noise run through it in training mode, the running averages replaced by the plain mean of
the batch statistics, as stochastic weight averaging does, Izmailov et al. 2018, §3.2), from a generator
of its own so that the training stream is never touched. Afterwards the raw weights and statistics are
put back exactly.
"""

import contextlib

import numpy

from minigan.engine import backend, nn
from minigan.engine.autograd import no_grad

BETA = 0.999  # Yazıcı et al. 2019


class WeightAverage:
    """θ_EMA ← β θ_EMA + (1 − β) θ over the parameters of ``generator``, starting at θ_EMA = θ.

    Args:
        generator: the Module being trained, usually G (its parameters are read, never written, except
            inside ``applied``).
        beta: β in [0, 1); 0.999 by default (an average over roughly the last 1/(1 − β) = 1000 steps).

    ``averages`` holds one array per parameter, in ``generator.parameters()`` order, in their dtype;
    ``updates`` counts the steps averaged. ``state_dict``/``load_state_dict`` save and restore both, so a
    resumed run continues the very same average.
    """

    def __init__(self, generator, beta=BETA):
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not 0 <= beta < 1:
            raise ValueError(f"WeightAverage: beta must be a number in [0, 1), got {beta!r}")
        self.generator, self.beta = generator, float(beta)
        self.averages = [p.data.copy() for p in generator.parameters()]  # θ_EMA⁽⁰⁾ = θ⁽⁰⁾
        self.updates = 0

    def update(self):
        """One step of the average: θ_EMA ← β θ_EMA + (1 − β) θ, in place, in each parameter's dtype."""
        for average, parameter in zip(self.averages, self.generator.parameters()):
            dtype = average.dtype.type
            average *= dtype(self.beta)
            average += dtype(1.0 - self.beta) * parameter.data
        self.updates += 1

    @contextlib.contextmanager
    def applied(self, noise_batches=()):
        """Inside the block ``generator`` holds the averaged weights (and, when ``noise_batches`` are given,
        batch-norm statistics re-estimated for them); afterwards its own weights and statistics, bit for bit.

        noise_batches: the generator's inputs, one minibatch each -- a noise Tensor (m, noise_dim), or a
        tuple such as (noise, labels) for a conditional generator -- used to re-estimate the running
        statistics of every batch-norm layer (see the module docstring). Leave it empty for a generator
        without batch norm, or to keep the raw generator's statistics.
        """
        parameters = self.generator.parameters()
        norms = [m for m in self.generator.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
        saved_weights = [p.data.copy() for p in parameters]
        saved_statistics = [(m.running_mean.copy(), m.running_var.copy(), m.momentum) for m in norms]
        try:
            for parameter, average in zip(parameters, self.averages):
                parameter.data[...] = average
                parameter._version += 1  # changed in place (autograd's version counters)
            if norms and noise_batches:
                self._reestimate_statistics(norms, noise_batches)
            yield self.generator
        finally:
            for parameter, weight in zip(parameters, saved_weights):
                parameter.data[...] = weight
                parameter._version += 1
            for module, (mean, var, momentum) in zip(norms, saved_statistics):
                module.running_mean[...], module.running_var[...], module.momentum = mean, var, momentum

    def _reestimate_statistics(self, norms, noise_batches):
        """Running statistics = the mean of the batch statistics over ``noise_batches`` (momentum 1/(i + 1))."""
        was_training = self.generator.training
        self.generator.train()
        try:
            with no_grad():
                for i, inputs in enumerate(noise_batches):
                    for module in norms:
                        module.momentum = 1.0 / (i + 1)  # r ← (1 − 1/(i+1)) r + x_i/(i+1): the mean of x_0 … x_i
                    self.generator(*(inputs if isinstance(inputs, tuple) else (inputs,)))
        finally:
            self.generator.train(was_training)

    # ----- saving and resuming -----------------------------------------------------------------------
    def state_dict(self):
        """{"beta", "updates", "parameters": {name: NumPy array}}, names as in ``generator.named_parameters()``."""
        names = [name for name, _ in self.generator.named_parameters()]
        return {"beta": numpy.array(self.beta), "updates": numpy.array(self.updates),
                "parameters": {name: backend.to_numpy(a).copy() for name, a in zip(names, self.averages)}}

    def load_state_dict(self, state):
        """Restore an average saved by ``state_dict``; its names, shapes and β must match this one's."""
        names = [name for name, _ in self.generator.named_parameters()]
        saved = state["parameters"]
        if sorted(saved) != sorted(names):
            raise KeyError(f"WeightAverage.load_state_dict: the saved average covers parameters {sorted(saved)}, "
                           f"this generator has {sorted(names)}")
        if float(state["beta"]) != self.beta:
            raise ValueError(f"WeightAverage.load_state_dict: the saved average has beta {float(state['beta'])}, "
                             f"this one {self.beta}")
        for name, average in zip(names, self.averages):
            if tuple(saved[name].shape) != average.shape:
                raise ValueError(f"WeightAverage.load_state_dict: {name!r} has shape {tuple(saved[name].shape)} in "
                                 f"the state but {average.shape} in the generator")
            average[...] = backend.array_module(average).asarray(saved[name], dtype=average.dtype)
        self.updates = int(state["updates"])
        return self

    def __repr__(self):
        return f"WeightAverage(beta={self.beta}, updates={self.updates})"
