"""The tools around training: data, files, pictures, judging samples, exploring the latent space.

    data/        MNIST, shipped with the package, and seeded minibatches; a 2-D ring of 8 Gaussians; simulated
                 camera records and their encoding for a tabular GAN
    io           atomic files and pickle-free checkpoints
    plots        sample grids and training curves
    classifier   a small MNIST CNN trained with minigan, to judge samples
    evaluate     label histogram, modes, Fréchet distance, Parzen window (python -m minigan.tools.evaluate)
    image_metrics  image-to-image outputs judged image by image: L1 to the truth, PSNR, sharpness, stroke width, slant
    table_metrics  synthetic tables judged against real ones: marginals, Cramér's V, train on synthetic / test on real, DCR
    latent       interpolation (lerp, slerp) and vector arithmetic in a generator's noise space
    completion   image completion by searching a trained G's noise space for the z that fits an image's known pixels
    editing      IcGAN: encoders that invert a conditional G, to redraw a digit as another in the same handwriting
    poisson_blending  a source pasted into an image's hole keeping its gradients and the image's values at the edge
    cli          argument types shared by the command-line programs (examples, evaluator, benchmarks)
    pretrained/  trained networks shipped with the package, loaded by name (pretrained.load("dcgan").sample(64))
    runs/        a training run around Algorithm 1, for every example and your own script: --resume, --out,
                 a checkpoint every epoch, Ctrl-C, one-line errors (start with runs/harness.py)

Imported on demand (``from minigan.tools import plots``), so that ``import minigan`` stays light.
"""
