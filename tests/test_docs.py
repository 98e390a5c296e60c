"""The README and the pages in docs/ stay short and point only at things that exist.

The README is where a reader starts, so it must stay a page, not a log: at most ``README_MAX_LINES``
lines. Every relative link and image in it and in ``docs/*.md`` must name a file of the repository (and,
with ``#anchor``, a heading of that file), and every repository path written in backticks, such as
`minigan/engine/ops/conv.py` or ``python examples/mnist_gan.py``, must exist: a renamed module makes
this test fail instead of leaving the reading path pointing at nothing.

The map cannot go stale either. The file lists below are read from the file system, never written
down, so a module added, moved or removed anywhere fails a check until the map and docstrings say so:

* **The README's map** (the ```text block under "Where things are") lists every ``.py`` file under
  ``minigan/`` and ``examples/``. An *entry* of the map is a line that starts with a repository path,
  with the lines indented under it that do not; a file's entry belongs to the file's folder. A file is
  listed when the map holds its path (``minigan/engine/optim.py``) or when an entry of its folder (the
  folder's own line, as ``minigan/engine/ops/``, or the line of a file beside it) names it with its
  ``.py``. A package's ``__init__.py`` is listed by its folder's own entry. The other way round, every
  path and every ``name.py`` in the map must be a file of that folder: no entry for a file that is gone.
* **Each package's docstring** (``__init__.py``) has a line for every module and sub-package in it: a
  list line that starts with the name, as ``    optim       SGD, ...`` or ``* ``conv``  conv2d ...``.
  Each such line must name a module or something the ``__init__.py`` defines or imports.
* **Citations**: a repository path in a docstring or a comment of ``minigan/``, ``examples/``,
  ``benchmarks/`` or ``tests/`` (``minigan/gans/gan.py``, ``docs/wasserstein.md``) names a file or
  folder that exists (a file name in capitals, as in ``examples/NAME.py``, is a placeholder for any).
"""

import ast
import glob
import io
import os
import re
import tokenize

import pytest

from conftest import ROOT

README_MAX_LINES = 160
DOC_PAGES = ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))

# New pages whose author may not edit the README in this round: the integrator adds the README link
# and removes the page from this set; until then the page is exempt from the reachability check only.
NOT_YET_LINKED = set()

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


# --- The map, the package docstrings and the citations follow the file system --------------------------------

MAP_FOLDERS = ("minigan", "examples")  # every .py file under these is listed in the README's map
CITING_FOLDERS = ("minigan", "examples", "benchmarks", "tests")  # their docstrings and comments are checked
# The start of a map entry: a repository path (a folder ending in "/", or a file) first on its line.
ENTRY_HEAD = re.compile(r"\s*((?:minigan|examples|tests|benchmarks|docs)/(?:[\w-]+/)*(?:[\w-]+\.\w+)?)")
FILE_NAME = re.compile(r"(?<![\w./-])([\w-]+\.py)\b")  # a file named without its folder: "dropout.py"
# A repository path cited in code: as REPO_PATH, with any extension (a cited .csv or .txt counts too).
CITED_PATH = re.compile(r"(?<![\w./-])((?:minigan|examples|tests|benchmarks|docs)/(?:[\w*-]+/)*"
                        r"(?:[\w*-]+\.[A-Za-z]\w*)?)")
# A file name in capitals in a citation is a placeholder ("python examples/NAME.py"), read as "*".
PLACEHOLDER_NAME = re.compile(r"(?<=/)[A-Z][A-Z0-9_]*(?=\.\w+$)")
# A line of a package docstring's list of modules: "    name   what it is" (4 spaces, the name, perhaps
# a "/", then two spaces or the end of the line) or "* ``name``  what it is".
DOC_LIST_HEAD = re.compile(r"^(?:\* ``(\w+)``| {4}(\w+)/?(?: {2}|$))", re.M)


def readme_map(readme):
    """The text of the README's map: the ```text block under the heading "Where things are"."""
    match = re.search(r"^## Where things are\n.*?^```text\n(.*?)^```", readme, re.S | re.M)
    assert match, "README.md has no ```text block under '## Where things are'"
    return match.group(1)


def map_entries(map_text):
    """[folder, text] per map entry: a line starting with a path, and the lines under it that do not.

    A folder's own line ("minigan/engine/ops/ ...") and a file's line ("minigan/gans/gan.py ...") both
    belong to the folder, "minigan/engine/ops/" and "minigan/gans/"."""
    entries = []
    for line in map_text.splitlines():
        head = ENTRY_HEAD.match(line)
        if head:
            path = head.group(1)
            entries.append([path if path.endswith("/") else path.rsplit("/", 1)[0] + "/", line])
        elif entries:
            entries[-1][1] += "\n" + line
    return entries


def python_files(root, folders):
    """The .py files under ``folders`` of ``root``, as sorted "/"-separated paths relative to ``root``."""
    found = []
    for folder in folders:
        for directory, subdirectories, files in os.walk(os.path.join(root, folder)):
            subdirectories[:] = [d for d in subdirectories if not d.startswith((".", "__"))]
            found += [os.path.relpath(os.path.join(directory, f), root).replace(os.sep, "/")
                      for f in files if f.endswith(".py")]
    return sorted(found)


def unlisted_files(root, map_text):
    """A line per .py file under MAP_FOLDERS that the map does not list, saying where to add it."""
    entries = map_entries(map_text)
    paths = set(REPO_PATH.findall(map_text))
    named = {(folder, name) for folder, text in entries for name in FILE_NAME.findall(text)}
    folders_with_a_line = {ENTRY_HEAD.match(text).group(1) for _, text in entries}
    problems = []
    for path in python_files(root, MAP_FOLDERS):
        folder, name = path.rsplit("/", 1)
        folder += "/"
        if name == "__init__.py":
            if folder not in folders_with_a_line:
                problems.append(f"README map: the package {folder} has no line of its own: "
                                f"add '{folder}  what it holds' under its parent's line")
        elif path not in paths and (folder, name) not in named:
            problems.append(f"README map: {path} is not listed: name {name} on the line of {folder} "
                            f"(or of a file in {folder}), or add a line '{path}  what it is'")
    return problems


def stale_map_entries(root, map_text):
    """A line per path or file name in the map that is not a file (or folder) of the repository."""
    problems = [f"README map: {path} does not exist" for path in REPO_PATH.findall(map_text)
                if not glob.glob(os.path.join(root, path))]
    for folder, text in map_entries(map_text):
        problems += [f"README map: the line of {folder} names {name}, but there is no {folder}{name}"
                     for name in FILE_NAME.findall(text) if not os.path.isfile(os.path.join(root, folder, name))]
    return problems


def packages(root):
    """The packages under minigan/ (folders with an __init__.py), as "/"-separated relative paths."""
    return [path.rsplit("/", 1)[0] for path in python_files(root, ["minigan"]) if path.endswith("/__init__.py")]


def defined_names(tree):
    """The names a module's top level binds: imports, assignments, functions and classes."""
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    return names


def undocumented_modules(root, package):
    """A line per module or sub-package of ``package`` its docstring's list lacks, and per stale list line."""
    folder = os.path.join(root, package)
    modules = {name[:-3] for name in os.listdir(folder) if name.endswith(".py") and not name.startswith("__")}
    modules |= {name for name in os.listdir(folder) if os.path.isfile(os.path.join(folder, name, "__init__.py"))}
    tree = ast.parse(read_at(root, f"{package}/__init__.py"))
    listed = {a or b for a, b in DOC_LIST_HEAD.findall(ast.get_docstring(tree, clean=False) or "")}
    problems = [f"{package}/__init__.py: the docstring's list has no line for the module {name}: "
                f"add '{name}  what it is' beside the others" for name in sorted(modules - listed)]
    problems += [f"{package}/__init__.py: the docstring lists {name}, which is neither a module of {package}/ "
                 f"nor a name the package defines" for name in sorted(listed - modules - defined_names(tree))]
    return problems


def docstrings_and_comments(source):
    """The text of every docstring (module, class, function) and every comment of a Python source."""
    tree = ast.parse(source)
    texts = [ast.get_docstring(node, clean=False) for node in ast.walk(tree)
             if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))]
    texts += [token.string for token in tokenize.generate_tokens(io.StringIO(source).readline)
              if token.type == tokenize.COMMENT]
    return [text for text in texts if text]


def dangling_citations(root, folders=CITING_FOLDERS):
    """A line per repository path cited in a docstring or comment under ``folders`` that does not exist."""
    problems = []
    for path in python_files(root, folders):
        for text in docstrings_and_comments(read_at(root, path)):
            problems += [f"{path}: cites {cited}, which does not exist" for cited in CITED_PATH.findall(text)
                         if not glob.glob(os.path.join(root, PLACEHOLDER_NAME.sub("*", cited)))]
    return problems


def read_at(root, path):
    with open(os.path.join(root, path), encoding="utf-8") as f:
        return f.read()


def test_the_readme_map_lists_every_module_and_only_files_that_exist():
    map_text = readme_map(read("README.md"))
    problems = unlisted_files(ROOT, map_text) + stale_map_entries(ROOT, map_text)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("package", packages(ROOT))
def test_each_package_docstring_lists_its_modules(package):
    problems = undocumented_modules(ROOT, package)
    assert not problems, "\n".join(problems)


def test_docstrings_and_comments_cite_only_files_that_exist():
    problems = dangling_citations(ROOT)
    assert not problems, "\n".join(problems)


def test_the_map_checks_catch_a_missing_module_and_a_dangling_citation(tmp_path):
    # A made-up tree: a package with two modules and a sub-package, an example, and a test citing files.
    files = {
        "minigan/__init__.py": '"""The package.\n\n    alpha    the first\n    ghost    gone\n"""\n',
        "minigan/alpha.py": '"""Alpha; see minigan/beta.py and docs/page.md."""\n',
        "minigan/beta.py": "x = 1  # as examples/gone.py did\n",
        "minigan/sub/__init__.py": '"""The sub-package.\n\n* ``leaf``  a leaf\n"""\nfrom .leaf import f\n',
        "minigan/sub/leaf.py": "",
        "examples/run.py": "text = 'minigan/no_such.py'  # a string in code is not a citation\n",
        "tests/test_x.py": "# tests/test_x.py, minigan/sub/ and examples/NAME.py exist; minigan/sub/no_such.py does not\n",
        "docs/page.md": "",
    }
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text, encoding="utf-8")
    root = str(tmp_path)
    map_text = ("minigan/                a package\n"
                "  minigan/alpha.py      the first; gamma.py, beta.py:\n"
                "                        continued here\n"
                "examples/               run.py, old.py\n")
    # The sub-package has no line, so neither it nor its module is listed; beta.py is listed on alpha.py's
    # entry (its continuation line), and without it it is not. (The made-up tree's paths are written
    # without their folders in these comments, which the citation check reads too.)
    assert unlisted_files(root, map_text) == [
        "README map: the package minigan/sub/ has no line of its own: add 'minigan/sub/  what it holds' "
        "under its parent's line",
        "README map: minigan/sub/leaf.py is not listed: name leaf.py on the line of minigan/sub/ "
        "(or of a file in minigan/sub/), or add a line 'minigan/sub/leaf.py  what it is'"]
    map_text += "  minigan/sub/          leaf.py\n"
    assert unlisted_files(root, map_text) == []
    assert unlisted_files(root, map_text.replace("beta.py", "")) == [
        "README map: minigan/beta.py is not listed: name beta.py on the line of minigan/ "
        "(or of a file in minigan/), or add a line 'minigan/beta.py  what it is'"]
    assert stale_map_entries(root, map_text + "  minigan/gone.py  was here\n") == [
        "README map: minigan/gone.py does not exist",
        "README map: the line of minigan/ names gamma.py, but there is no minigan/gamma.py",
        "README map: the line of examples/ names old.py, but there is no examples/old.py"]
    assert undocumented_modules(root, "minigan") == [
        "minigan/__init__.py: the docstring's list has no line for the module beta: add 'beta  what it is' beside the others",
        "minigan/__init__.py: the docstring's list has no line for the module sub: add 'sub  what it is' beside the others",
        "minigan/__init__.py: the docstring lists ghost, which is neither a module of minigan/ nor a name the package defines"]
    assert undocumented_modules(root, "minigan/sub") == []
    assert dangling_citations(root) == [
        "minigan/beta.py: cites examples/gone.py, which does not exist",
        "tests/test_x.py: cites minigan/sub/no_such.py, which does not exist"]
