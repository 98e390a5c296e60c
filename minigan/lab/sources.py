"""The code beside the picture: for each view and each step of the page, the function of minigan that computes it.

GAN Lab shows what a GAN does; the lab also shows where it is done. ``code_map(settings)`` names, for
every part of the page, the functions behind it (they depend on the objective and the optimisers chosen),
and ``source(name)`` returns one of them as it is in the installed package, with its file and first line,
so the page can open it beside the picture. Only the functions this map can name are served: the page
asks for a name, never for a path.
"""

import inspect
import os

import minigan
from minigan.engine import optim
from minigan.gans import gan, least_squares, objectives, wasserstein
from . import distributions, playground, views

OBJECTIVE_CLASSES = {"minimax": objectives.Standard, "non-saturating": objectives.Standard,
                     "wgan-gp": wasserstein.WGANGP, "lsgan": least_squares.LeastSquares}
OPTIMIZER_CLASSES = {"sgd": optim.SGD, "adam": optim.Adam}

# Every function the page may show: name → the object. The names are what the page displays.
FUNCTIONS = {
    "GAN.discriminator_step": gan.GAN.discriminator_step,
    "GAN.generator_step": gan.GAN.generator_step,
    "GAN.train_iteration": gan.GAN.train_iteration,
    "GAN.generate": gan.GAN.generate,
    "Lab.advance": playground.Lab.advance,
    "Lab.step": playground.Lab.step,
    "Standard.discriminator_loss": objectives.Standard.discriminator_loss,
    "Standard.generator_loss": objectives.Standard.generator_loss,
    "r1_penalty": objectives.r1_penalty,
    "WGANGP.discriminator_loss": wasserstein.WGANGP.discriminator_loss,
    "WGANGP.generator_loss": wasserstein.WGANGP.generator_loss,
    "LeastSquares.discriminator_loss": least_squares.LeastSquares.discriminator_loss,
    "LeastSquares.generator_loss": least_squares.LeastSquares.generator_loss,
    "SGD.step": optim.SGD.step,
    "Adam.step": optim.Adam.step,
    "sample": distributions.sample,
    "samples": views.samples,
    "discriminator_heatmap": views.discriminator_heatmap,
    "generator_gradients": views.generator_gradients,
    "manifold": views.manifold,
    "divergences": views.divergences,
}


def code_map(settings):
    """What computes each part of the page under ``settings``: part → list of names in ``FUNCTIONS``."""
    objective = OBJECTIVE_CLASSES[settings["objective"]].__name__
    d_loss = [f"{objective}.discriminator_loss"] + (["r1_penalty"] if settings["r1_gamma"] > 0 else [])
    return {
        "real": ["sample"],
        "fake": ["samples", "GAN.generate"],
        "heatmap": ["discriminator_heatmap"],
        "gradients": ["generator_gradients", f"{objective}.generator_loss"],
        "manifold": ["manifold"],
        "metrics": ["divergences"],
        "d_step": ["GAN.discriminator_step", *d_loss, f"{OPTIMIZER_CLASSES[settings['d_optimizer']].__name__}.step"],
        "g_step": ["GAN.generator_step", f"{objective}.generator_loss", f"{OPTIMIZER_CLASSES[settings['g_optimizer']].__name__}.step"],
        "iteration": ["Lab.advance", "GAN.train_iteration"],
        "d_loss": d_loss,
        "g_loss": [f"{objective}.generator_loss"],
    }


def source(name):
    """{"name", "file", "line", "source"} of function ``name`` of ``FUNCTIONS``; a KeyError for any other name."""
    if name not in FUNCTIONS:
        raise KeyError(f"name: expected one of {', '.join(FUNCTIONS)}, got {name!r}")
    function = FUNCTIONS[name]
    lines, first = inspect.getsourcelines(function)
    root = os.path.dirname(os.path.dirname(os.path.abspath(minigan.__file__)))
    return {"name": name, "file": os.path.relpath(inspect.getsourcefile(function), root).replace(os.sep, "/"),
            "line": first, "source": "".join(lines)}
