"""The notebooks (``notebooks/NN-name.ipynb``): listed in their order, committed without outputs, and each
executed top to bottom.

Every notebook is checked on every backend for what is committed: code cells without outputs or
execution counts (a notebook's outputs are what a reader's run makes, never text typed into the file),
the ``python3`` kernel, and an import of minigan. Executing them is the NumPy run's: a notebook is user code
on the default backend, and the library it calls is covered on the strict device double by the rest of
the suite. Each runs in a fresh kernel with its working directory ``notebooks/``, one BLAS thread (the CI
machine has two cores) and this checkout first on the path, so it runs without an install too; any error
fails the test, naming the cell. ``CELL_TIMEOUT`` only stops a hung cell: the notebooks' run times are
measured in notebooks/README.md, not asserted here.
"""

import json
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDER = os.path.join(ROOT, "notebooks")
NOTEBOOKS = (
    "01-what-is-a-gan.ipynb",
    "02-mnist-gans.ipynb",
    "03-when-training-fails.ipynb",
    "04-latent-space.ipynb",
    "05-asking-for-a-digit.ipynb",
    "06-wasserstein-gans.ipynb",
    "07-semi-supervised.ipynb",
    "08-image-to-image.ipynb",
    "09-judging-a-gan.ipynb",
    "10-inside-the-engine.ipynb",
)
NAME = re.compile(r"\d\d-[a-z0-9]+(-[a-z0-9]+)*\.ipynb")
# A repository path in a cell (as tests/test_docs.py reads the docs), and a Markdown link or image's target.
REPO_PATH = re.compile(r"(?<![\w./-])((?:minigan|examples|tests|benchmarks|docs)/(?:[\w-]+/)*(?:[\w-]+\.(?:py|md|npz|png|json))?)")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*([^)\s]+)\s*\)")
CELL_TIMEOUT = 600  # seconds; a guard against a hung cell, far above any cell's run time
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def read(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def problems(notebook, name):
    """What is wrong with a committed notebook (a list of sentences; empty when nothing is)."""
    found = []
    if notebook.get("metadata", {}).get("kernelspec", {}).get("name") != "python3":
        found.append(f"{name}: the kernelspec must be python3, got {notebook.get('metadata', {}).get('kernelspec')!r}")
    imports_minigan = False
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", ""))
        imports_minigan |= bool(re.search(r"^\s*(import minigan|from minigan[\w.]* import)", source, re.MULTILINE))
        if cell.get("outputs"):
            found.append(f"{name}: code cell {index} has outputs; commit notebooks cleared "
                         f"(jupyter nbconvert --clear-output --inplace {name})")
        if cell.get("execution_count") is not None:
            found.append(f"{name}: code cell {index} has execution count {cell['execution_count']}; commit notebooks cleared")
    if not imports_minigan:
        found.append(f"{name}: no code cell imports minigan")
    return found


def test_the_folder_holds_the_listed_notebooks_numbered_in_order():
    found = sorted(name for name in os.listdir(FOLDER) if name.endswith(".ipynb"))
    assert found == sorted(NOTEBOOKS), "notebooks/ and NOTEBOOKS differ: list a new notebook here, in its place"
    assert [name[:2] for name in NOTEBOOKS] == [f"{n:02d}" for n in range(1, len(NOTEBOOKS) + 1)]
    assert all(NAME.fullmatch(name) for name in NOTEBOOKS)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_committed_without_outputs(name):
    assert problems(read(os.path.join(FOLDER, name)), name) == []


def cited(notebook):
    """The repository paths (from the root) and the link targets (from notebooks/) in a notebook's cells."""
    text = "\n".join("".join(cell.get("source", "")) for cell in notebook.get("cells", []))
    links = [target for target in LINK.findall(text) if "://" not in target]
    return REPO_PATH.findall(text), links


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_files_a_notebook_names_exist(name):
    paths, links = cited(read(os.path.join(FOLDER, name)))
    missing = [path for path in paths if not os.path.exists(os.path.join(ROOT, path))]
    missing += [link for link in links if not os.path.exists(os.path.join(FOLDER, link))]
    assert missing == [], f"{name} names files that do not exist: {missing}"


def test_the_citation_check_reads_paths_and_links():
    notebook = {"cells": [{"cell_type": "markdown", "source": "see `minigan/gans/gan.py`, docs/ and "
                           "![a](../docs/images/x.png) or [b](https://example.org/a.png); runs/mnist_gan/ is an output"}]}
    assert cited(notebook) == (["minigan/gans/gan.py", "docs/"], ["../docs/images/x.png"])


def test_the_check_catches_outputs_counts_a_kernel_and_a_missing_import():
    clean = {"metadata": {"kernelspec": {"name": "python3"}},
             "cells": [{"cell_type": "markdown", "source": "# x"},
                       {"cell_type": "code", "source": ["import numpy\n", "from minigan.tools import plots\n"],
                        "outputs": [], "execution_count": None}]}
    assert problems(clean, "n.ipynb") == []
    ran = json.loads(json.dumps(clean))
    ran["cells"][1].update(outputs=[{"output_type": "stream", "name": "stdout", "text": "1\n"}], execution_count=3)
    ran["metadata"]["kernelspec"]["name"] = "python2"
    assert problems(ran, "n.ipynb") == [
        "n.ipynb: the kernelspec must be python3, got {'name': 'python2'}",
        "n.ipynb: code cell 1 has outputs; commit notebooks cleared (jupyter nbconvert --clear-output --inplace n.ipynb)",
        "n.ipynb: code cell 1 has execution count 3; commit notebooks cleared"]
    clean["cells"][1]["source"] = "import numpy  # minigan is not imported here\n"
    assert problems(clean, "n.ipynb") == ["n.ipynb: no code cell imports minigan"]


@pytest.mark.slow
@pytest.mark.numpy_only("a notebook is user code on the default backend (NumPy); the library it calls is covered on the "
                        "strict double by the rest of the suite")
@pytest.mark.parametrize("name", NOTEBOOKS)
def test_runs_top_to_bottom(name):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(os.path.join(FOLDER, name), as_version=4)
    path = os.environ.get("PYTHONPATH")
    env = {**os.environ, **ONE_THREAD, "PYTHONPATH": ROOT + (os.pathsep + path if path else "")}
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3", resources={"metadata": {"path": FOLDER}})
    client.execute(env=env)  # raises CellExecutionError, with the cell and its traceback, on any error
