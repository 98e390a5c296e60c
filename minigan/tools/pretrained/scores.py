"""The scores of a shipped model, measured on its stored weights: the record's, and the test sample's.

``score(model)`` is what the exporter records as ``record["scores"]``: the figures each example prints, on
the examples' sizes. ``score(model, test=True)`` is the same measurement on a fixed small sample, what
``tests/test_pretrained.py`` computes again and compares with ``record["test_sample"]["scores"]``:

    generators       ``evaluate.evaluate_samples`` on sample(n, seed=0): the classifier's label histogram,
                     digit classes present, KL to uniform, the Fréchet distance to the 10,000 test images,
                     and (record only) the Parzen window log-likelihood. n = 10,000 (record), 1,000 (test).
      dcgan          also D's mean probability D(x) on the first n test digits and D(G(z)) on the samples
      wgan_gp        also the critic's mean score on the first n test digits and on the samples, and their
                     difference, the critic's estimate of the Wasserstein distance (Gulrajani et al. 2017)
      conditional_gan, acgan   n/10 samples of each digit: how many the shipped classifier reads as the digit
                     asked for (examples/conditional_gan.py's measurement), in all and per digit
      infogan        also n/10 samples of each category c₁: the share of each category's samples the
                     classifier reads as that category's commonest digit, and how many digits the 10 categories' commonest digits cover
      semi_supervised  D's errors on the first n test digits (the 10,000 for the record, the example's
                     figure), and the generator's evaluation
    translators      the figures their examples print, on the first n test digits (10,000 record, 1,000 test):
      pix2pix        L1 to the true digit, digits read right by the classifier, sharpness (gradient energy
                     over the true digits')
      cyclegan       per direction: digits that survive, median stroke width (pixels ≥ 0.5), L1 to the true
                     partner, the cycle error |F(G(x)) − x|
      srgan          PSNR (dB), digits read right, sharpness

Counts are ints (a sample flips class only when a float32 rounding moves it across a boundary); the rest
are floats. The test sample leaves out what is a function of what it checks (KL of the histogram).
"""

import numpy

RECORD_SIZE, TEST_SIZE = 10000, 1000
SEED = 0


def describe(test, n=None):
    """How the scores of ``score(model, test, n)`` were measured, in words (stored beside them)."""
    n = n or (TEST_SIZE if test else RECORD_SIZE)
    return (f"{n:,} samples with seed {SEED} (sample(n, seed={SEED})) or the first {n:,} test digits; "
            + ("no Parzen window; compared by tests/test_pretrained.py" if test else "with the Parzen window where the example prints it"))


def score(model, test=False, n=None):
    """The scores of ``model`` (a ``Pretrained``): a dict of ints, floats and lists of them (JSON).

    ``test``: the test sample's (no Parzen window, nothing derived from what it checks); ``n``: the number
    of samples or test digits (default ``TEST_SIZE`` or ``RECORD_SIZE``)."""
    n = n or (TEST_SIZE if test else RECORD_SIZE)
    kind, name = model.entry.kind, model.name
    if kind == "translator":
        return _translator_scores(model, n)
    if kind == "conditional":
        return _conditional_scores(model, n, test)
    samples = model.sample(n, seed=SEED)
    scores = _evaluation(samples, test)
    if name in ("dcgan", "wgan_gp"):
        from minigan.tools.data import load_mnist

        real = model.discriminate(load_mnist(split="test", scale="sigmoid")[0][:n])
        fake = model.discriminate(samples)
        if name == "dcgan":
            sigmoid = lambda logits: 1.0 / (1.0 + numpy.exp(-logits.astype(numpy.float64)))
            scores.update(d_real=float(sigmoid(real).mean()), d_fake=float(sigmoid(fake).mean()))
        else:
            scores.update(critic_real=float(real.mean(dtype=numpy.float64)), critic_fake=float(fake.mean(dtype=numpy.float64)),
                          wasserstein=float(real.mean(dtype=numpy.float64) - fake.mean(dtype=numpy.float64)))
    if name == "infogan":
        scores.update(_category_scores(model, n))
    if name == "semi_supervised":
        from minigan.tools.data import load_mnist

        images, labels = (part[:n] for part in load_mnist(split="test", scale="sigmoid"))
        scores["test_errors"] = int((model.classify(images) != labels).sum())
        scores["test_images"] = len(labels)
        if not test:
            scores["test_error"] = scores["test_errors"] / len(labels)
    return scores


def _evaluation(samples, test):
    """``evaluate_samples``'s numbers, as JSON values: the record's all of them, with the Parzen window; the
    test sample's the histogram, the modes and the Fréchet distance, from the evaluator's own functions
    with the 10,000 test images' features computed once (``evaluate_samples`` computes them, and the
    validation images', on every call: most of its time at 1,000 samples)."""
    from minigan.tools import evaluate
    from minigan.tools.classifier import shipped_classifier

    if test:
        classifier = shipped_classifier()
        features = classifier.features(samples)
        histogram = evaluate.label_histogram(classifier.predict(samples))
        return {"n": len(samples), "histogram": [int(c) for c in histogram], "modes": int(evaluate.count_modes(histogram)),
                "frechet": float(evaluate.frechet_distance(features, _test_features()))}
    result = evaluate.evaluate_samples(samples)
    return {"n": int(result["n"]), "histogram": [int(c) for c in result["histogram"]], "modes": int(result["modes"]),
            "kl_uniform": float(result["kl_uniform"]), "frechet": float(result["frechet"]),
            "frechet_reference": float(result["frechet_reference"]), "parzen_mean": result["parzen_mean"],
            "parzen_stderr": result["parzen_stderr"], "parzen_sigma": result["sigma"]}


_features = {}  # backend name -> the shipped classifier's features of the 10,000 test images


def _test_features():
    from minigan.engine.backend import get_backend
    from minigan.tools.classifier import shipped_classifier
    from minigan.tools.data import load_mnist

    name = get_backend().name
    if name not in _features:
        _features[name] = shipped_classifier().features(load_mnist(split="test", scale="sigmoid")[0])
    return _features[name]


def _conditional_scores(model, n, test):
    """examples/conditional_gan.py's measurement: n/10 samples drawn for each digit, read by the classifier."""
    from minigan.tools.classifier import predict

    per_digit = n // 10
    asked = numpy.repeat(numpy.arange(10), per_digit)
    samples = model.sample(len(asked), seed=SEED, labels=asked)
    read = predict(samples)
    right = [int((read[asked == digit] == digit).sum()) for digit in range(10)]
    scores = {"per_digit": per_digit, "read_as_asked": int(sum(right)), "read_as_asked_per_digit": right}
    if not test:
        scores["read_as_asked_share"] = sum(right) / len(asked)
    scores.update(_evaluation(samples, test))
    return scores


def _category_scores(model, n):
    """InfoGAN without labels: does each value of c₁ draw one digit? n/10 samples per value, c₂, c₃ from the prior."""
    from minigan.gans.infogan import Codes
    from minigan.tools.classifier import predict

    per = n // 10
    categories = numpy.repeat(numpy.arange(10), per)
    continuous = numpy.random.default_rng([SEED, 1]).uniform(-1.0, 1.0, size=(len(categories), 2)).astype(numpy.float32)
    read = predict(model.sample(len(categories), seed=SEED, codes=Codes(categories, continuous)))
    commonest, agreeing = [], 0
    for category in range(10):
        counts = numpy.bincount(read[categories == category], minlength=10)
        commonest.append(int(counts.argmax()))
        agreeing += int(counts.max())
    return {"per_category": per, "category_commonest_digit": commonest, "category_agreeing": agreeing,
            "digits_covered": len(set(commonest))}


def _translator_scores(model, n):
    from minigan.tools.classifier import predict
    from minigan.tools.data import load_mnist
    from minigan.tools.image_metrics import gradient_energy, mean_absolute_error, psnr, stroke_width

    digits, labels = (part[:n] for part in load_mnist(split="test", scale="sigmoid"))
    scores = {"test_images": len(digits)}
    if model.name == "pix2pix":
        outputs = model.translate(model.inputs(digits))
        scores.update(l1=float(mean_absolute_error(outputs, digits).mean()), classifier_right=int((predict(outputs) == labels).sum()),
                      sharpness=float(gradient_energy(outputs).mean() / gradient_energy(digits).mean()))
    elif model.name == "srgan":
        outputs = model.translate(model.inputs(digits))
        scores.update(psnr=float(psnr(outputs, digits).mean()), classifier_right=int((predict(outputs) == labels).sum()),
                      sharpness=float(gradient_energy(outputs).mean() / gradient_energy(digits).mean()))
    else:  # cyclegan, both ways: x thinned → G → thick, y thickened → F → thin
        for direction, back in (("thin_to_thick", "thick_to_thin"), ("thick_to_thin", "thin_to_thick")):
            inputs, partners = model.inputs(digits, direction), model.inputs(digits, back)
            outputs = model.translate(inputs, direction)
            widths = stroke_width(outputs)
            scores[direction] = {"classifier_right": int((predict(outputs) == labels).sum()),
                                 "no_ink": int(numpy.isnan(widths).sum()),
                                 "median_width": float(numpy.nanmedian(widths)) if not numpy.isnan(widths).all() else None,
                                 "l1_partner": float(mean_absolute_error(outputs, partners).mean()),
                                 "cycle": float(mean_absolute_error(model.translate(outputs, back), inputs).mean())}
    return scores
