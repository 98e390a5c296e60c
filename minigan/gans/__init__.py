"""The GANs, built on the engine: Algorithm 1 and its variants, the models, and epochs of training.

    gan              Goodfellow et al. 2014, Algorithm 1: k discriminator steps, then one generator step
    objectives       what the players minimise: Standard (minimax or non-saturating G loss, label smoothing, R1)
    wasserstein      Arjovsky et al. 2017 and Gulrajani et al. 2017: WGAN's clipped critic, WGAN-GP's penalty
    least_squares    Mao et al. 2017: LSGAN, least-squares losses for D and G
    boundary_seeking  Hjelm et al. 2018: G puts its samples on D's decision boundary, ½ E[(log D − log(1 − D))²]
    conditional_gan  Mirza & Osindero 2014: the label fed to G and D, a digit on demand
    acgan            Odena et al. 2017: D also names the class of real and generated images
    infogan          Chen et al. 2016: latent codes whose mutual information with G(z, c) a head Q maximises
    semi_supervised  Salimans et al. 2016, §5: D as a K + 1 class classifier trained on few labels
    context_conditional  Denton et al. 2016: the semi-supervised D judging digits whose random hole G fills in
    bigan            Donahue et al. 2017: an encoder E beside G, D judging (x, E(x)) against (G(z), z)
    adversarial_autoencoder  Makhzani et al. 2016: an autoencoder whose codes a D on codes pushes towards a prior
    averaging        Yazıcı et al. 2019: an exponential moving average of G's weights, sampled instead of G
    image_to_image   the loop on (source, target) image pairs: G(s) instead of G(z), D alone or on [s, image]
    pix2pix          Isola et al. 2017: U-Net G, PatchGAN D on (source, image), cGAN + 100·L1
    cyclegan         Zhu et al. 2017: G and F, D_X and D_Y, least-squares GAN, cycle and identity losses
    srgan            Ledig et al. 2016: residual G with pixel-shuffle upsampling, content + 10⁻³ adversarial
    context_encoder  Pathak et al. 2016: an encoder-decoder fills a digit's hidden centre, 0.999·L2 + 0.001·adversarial
    dualgan          Yi et al. 2017: CycleGAN's two translators with clipped Wasserstein critics, λ-weighted L1 reconstruction, RMSProp
    simgan           Shrivastava et al. 2017: a refiner of simulated images, local adversarial loss, L1 self-regularisation, a history buffer
    cogan            Liu & Tuzel 2016: two GANs sharing G's first and D's last layers, a pair of domains from one z
    ctgan            Xu et al. 2019: tables of mixed columns, Gumbel-softmax outputs, conditioning trained by sampling, packed WGAN-GP
    models           the MLP GAN and DCGAN for MNIST, and their training recipes
    training         epochs of Algorithm 1: the history of statistics, progress lines, a stop at the first NaN

Imported on demand (``from minigan.gans import gan``), so that ``import minigan`` stays light.
"""
