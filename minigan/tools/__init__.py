"""The tools around training: data, files, pictures, judging samples, exploring the latent space.

    data/        MNIST, shipped with the package, and seeded minibatches; a 2-D ring of 8 Gaussians
    io           atomic files and pickle-free checkpoints
    plots        sample grids and training curves
    classifier   a small MNIST CNN trained with minigan, to judge samples
    evaluate     label histogram, modes, Fréchet distance, Parzen window (python -m minigan.tools.evaluate)
    image_metrics  image-to-image outputs judged image by image: L1 to the truth, PSNR, sharpness, stroke width
    latent       interpolation (lerp, slerp) and vector arithmetic in a generator's noise space
    cli          argument types shared by the command-line programs (examples, evaluator, benchmarks)
    pretrained/  trained networks shipped with the package, loaded by name (pretrained.load("dcgan").sample(64))
    runs/        a training run around Algorithm 1, for every example and your own script: --resume, --out,
                 a checkpoint every epoch, Ctrl-C, one-line errors (start with runs/harness.py)

Imported on demand (``from minigan.tools import plots``), so that ``import minigan`` stays light.
"""
