"""The GANs, built on the engine: Algorithm 1 and its variants, the models, and epochs of training.

    gan              Goodfellow et al. 2014, Algorithm 1: k discriminator steps, then one generator step
    objectives       what the players minimise: Standard (minimax or non-saturating G loss, label smoothing)
    conditional_gan  Mirza & Osindero 2014: the label fed to G and D, a digit on demand
    models           the MLP GAN and DCGAN for MNIST, and their training recipes
    training         epochs of Algorithm 1: the history of statistics, progress lines, a stop at the first NaN

Imported on demand (``from minigan.gans import gan``), so that ``import minigan`` stays light.
"""
