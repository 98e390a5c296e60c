"""Train the MNIST classifier that ``minigan.tools.evaluate`` uses, with minigan itself, and report its test accuracy.

    python examples/train_classifier.py                                      # 6 epochs -> runs/classifier.npz
    python examples/train_classifier.py --out minigan/tools/data/classifier.npz --overwrite   # replace the shipped weights

Trains on x_train[:50000], keeps the epoch with the best accuracy on the validation images
x_train[50000:], then measures the accuracy on the 10,000 test images once, at the end, and stores it
in the checkpoint's metadata. The network and the recipe are described in ``minigan/tools/classifier.py``.
--out is checked before training (a file we can write, and none there yet unless --overwrite), and a
progress line is printed every --log-every minibatches.
"""

import argparse
import os
import sys
import time

import minigan
from minigan import backend
from minigan.tools.classifier import SHIPPED_PATH, accuracy, save_classifier, train_classifier
from minigan.tools.cli import positive_int, seed_value
from minigan.tools.data import load_mnist
from minigan.tools.data.mnist import TRAIN_SIZE
from minigan.tools.runs import EXIT_STATUS_HELP, check_free_space, check_trainable_batches, prepare_output_file, run_script


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Train minigan's MNIST classifier (for GAN evaluation) and print its test accuracy.",
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                     epilog="--out must not exist yet unless --overwrite is given. " + EXIT_STATUS_HELP)
    parser.add_argument("--epochs", type=positive_int, default=6, help="passes over the 50,000 training images")
    parser.add_argument("--seed", type=seed_value, default=0, help="fixes the initial weights and the minibatch order")
    parser.add_argument("--batch-size", type=positive_int, default=128, help="minibatch size")
    parser.add_argument("--out", default=os.path.join("runs", "classifier.npz"),
                        help="where to write the weights (minigan/tools/data/classifier.npz, with --overwrite, replaces the shipped ones)")
    parser.add_argument("--overwrite", action="store_true", help="replace the file at --out if there is one")
    parser.add_argument("--backend", choices=backend.BACKEND_NAMES, default=None, help="array backend (default: $MINIGAN_BACKEND, else numpy)")
    parser.add_argument("--log-every", type=positive_int, default=50, help="print a progress line every this many minibatches")
    return parser.parse_args(argv)


def train(args):
    if args.backend:
        backend.set_backend(args.backend)
    prepare_output_file(args.out, overwrite=args.overwrite)  # before training, not minutes after it
    check_free_space(os.path.dirname(os.path.abspath(args.out)), 2 * os.path.getsize(SHIPPED_PATH), "the classifier's weights")
    check_trainable_batches(TRAIN_SIZE, args.batch_size, data="the shipped MNIST")
    print(f"training the classifier for {args.epochs} epochs, seed {args.seed}, batch {args.batch_size}, "
          f"backend {backend.get_backend().name}", flush=True)
    classifier = train_classifier(epochs=args.epochs, seed=args.seed, batch_size=args.batch_size,
                                  log=lambda line: print(line, flush=True), log_every=args.log_every)
    x_test, y_test = load_mnist(split="test", scale="sigmoid")
    started = time.perf_counter()
    test = accuracy(classifier, x_test, y_test)
    classifier.metadata["test_accuracy"] = test
    classifier.metadata["minigan_version"] = minigan.__version__
    save_classifier(args.out, classifier)
    meta = classifier.metadata
    print(f"best epoch {meta['best_epoch']}: validation accuracy {meta['validation_accuracy']:.4f}; "
          f"test accuracy {test:.4f} ({len(x_test)} images, {time.perf_counter() - started:.1f} s); "
          f"training took {meta['seconds']:.0f} s; wrote {args.out}")


def main(argv=None):
    args = parse_args(argv)
    return run_script("train_classifier.py", lambda: train(args))


if __name__ == "__main__":
    sys.exit(main())
