"""Benchmarks for minigan: per-op timings (``bench_ops.py``) and whole training iterations
(``bench_training.py``), with PyTorch as the reference where it is installed. See README.md here."""
