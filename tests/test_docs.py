"""The README and the pages in docs/ stay short and point only at things that exist.

The README is where a reader starts, so it must stay a page, not a log: at most ``README_MAX_LINES``
lines. Every relative link and image in it and in ``docs/*.md`` must name a file of the repository (and,
with ``#anchor``, a heading of that file), and every repository path written in backticks, such as
`minigan/engine/ops/conv.py` or ``python examples/mnist_gan.py``, must exist: a renamed module makes
this test fail instead of leaving the reading path pointing at nothing.
"""

import glob
import os
import re

import pytest

from conftest import ROOT

README_MAX_LINES = 160
DOC_PAGES = ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))

# New pages whose author may not edit the README in this round: the integrator adds the README link
# and removes the page from this set; until then the page is exempt from the reachability check only.
NOT_YET_LINKED = {
}

LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")  # [text](target) and ![alt](target)
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
# A repository path: one of the top-level folders, then folders ending in "/" and perhaps a file name
# with an extension (globs allowed). "runs/mnist_gan/" is an output, not a repository path: not matched.
REPO_PATH = re.compile(r"(?<![\w./-])((?:minigan|examples|tests|benchmarks|docs)/(?:[\w*-]+/)*"
                       r"(?:[\w*-]+\.(?:py|md|npz|png|json))?)")
MODULE = re.compile(r"python3? -m (minigan(?:\.\w+)+)")


def read(page):
    with open(os.path.join(ROOT, page), encoding="utf-8") as f:
        return f.read()


def heading_anchors(text):
    """The anchors GitHub gives the headings of a Markdown text: lower case, punctuation dropped,
    spaces as hyphens, a repeated heading numbered -1, -2, ..."""
    anchors, seen = set(), {}
    for line in FENCE.sub("", text).splitlines():
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not match:
            continue
        slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower().replace("`", "")).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def broken_links(page, text):
    problems = []
    for target in LINK.findall(FENCE.sub("", text)):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: — not ours to check
            continue
        path, _, anchor = target.partition("#")
        resolved = os.path.normpath(os.path.join(ROOT, os.path.dirname(page), path)) if path else os.path.join(ROOT, page)
        if not os.path.exists(resolved):
            problems.append(f"{page}: link to {target!r}: no file {os.path.relpath(resolved, ROOT)}")
        elif anchor and resolved.endswith(".md") and anchor not in heading_anchors(read(os.path.relpath(resolved, ROOT))):
            problems.append(f"{page}: link to {target!r}: no heading with anchor #{anchor}")
    return problems


def code_spans(text):
    """The text inside backticks: fenced blocks and inline code."""
    blocks = FENCE.findall(text)
    return blocks + INLINE_CODE.findall(FENCE.sub("", text))


def missing_paths(page, text):
    problems = []
    for span in code_spans(text):
        for path in REPO_PATH.findall(span):
            if not glob.glob(os.path.join(ROOT, path)):
                problems.append(f"{page}: `{path}` does not exist")
        for module in MODULE.findall(span):
            base = os.path.join(ROOT, *module.split("."))
            if not (os.path.isfile(base + ".py") or os.path.isfile(os.path.join(base, "__main__.py"))):
                problems.append(f"{page}: `python -m {module}`: no module {module}")
    return problems


def test_readme_is_a_page_not_a_log():
    lines = read("README.md").count("\n")
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines, more than {README_MAX_LINES}: move the detail into a page of docs/")


def test_readme_keeps_the_test_command_ci_runs():
    # .ci/run runs "the README's test command, verbatim"; the two must not drift apart.
    command = "pip install -e '.[dev]' && python -m pytest"
    assert command in read("README.md")
    assert command in read(".ci/run")


@pytest.mark.parametrize("page", DOC_PAGES)
def test_links_and_images_point_at_files_that_exist(page):
    assert broken_links(page, read(page)) == []


@pytest.mark.parametrize("page", DOC_PAGES)
def test_paths_in_backticks_exist(page):
    assert missing_paths(page, read(page)) == []


def test_every_docs_page_is_reachable_from_the_readme():
    readme = read("README.md")
    unlinked = [page for page in DOC_PAGES[1:] if f"({page}" not in readme and page not in NOT_YET_LINKED]
    assert unlinked == []


def test_the_checks_catch_what_they_are_for():
    # The checkers themselves: each must report a broken link, a missing anchor and a missing path.
    text = ("![a](docs/images/no_such.png) [b](docs/no-such-page.md) [c](README.md#no-such-heading)\n"
            "`minigan/engine/ops/no_such.py` and `python -m minigan.tools.no_such`\n"
            "[fine](README.md) `minigan/engine/ops/conv.py` `minigan/gans/objectives.py`\n")
    assert len(broken_links("README.md", text)) == 3
    assert len(missing_paths("README.md", text)) == 2
    assert heading_anchors("# The MLP GAN recipe\n## Mode collapse, shown: a ring\n# The MLP GAN recipe") == {
        "the-mlp-gan-recipe", "mode-collapse-shown-a-ring", "the-mlp-gan-recipe-1"}


# A draft's stand-in for a number still to be measured: RESULTS_SOMETHING or @@SOMETHING@@ (both have been
# used by helpers drafting a page), or TODO / TBD. A page that lands with one reports nothing in its place.
PLACEHOLDER = re.compile(r"\bRESULTS_[A-Z0-9_]+\b|@@\w*@@|\bTODO\b|\bTBD\b")


@pytest.mark.parametrize("page", DOC_PAGES + ["benchmarks/README.md"])
def test_no_page_lands_with_a_placeholder_for_a_measurement(page):
    found = sorted(set(PLACEHOLDER.findall(read(page))))
    assert not found, f"{page} still holds the placeholders {found}"
