"""The documentation site builds with warnings as errors (skipped when Sphinx and its extensions are absent).

The API pages come from the docstrings, so a docstring with broken markup fails here. Examples run in
the build are limited to one quick one (``FUNGRAD_DOCS_RUN_EXAMPLES``): test_examples.py runs them all.
"""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))


def test_docs_build_without_warnings(tmp_path):
    for module in ("sphinx", "myst_parser", "furo"):
        pytest.importorskip(module)
    env = dict(os.environ, FUNGRAD_DOCS_RUN_EXAMPLES="jaxpr_tour")
    command = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
               "-d", str(tmp_path / "doctrees"), os.path.join(ROOT, "docs"), str(tmp_path / "html")]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-5000:]
    page = (tmp_path / "html" / "examples" / "jaxpr_tour.html").read_text()
    assert "def jitted(" in page  # the example ran and its output is on the page
    assert "fungrad.grad" in (tmp_path / "html" / "api" / "fungrad.html").read_text()


def _python_blocks(path):
    with open(path) as f:
        return re.findall(r"```python\n(.*?)```", f.read(), re.S)


PAGES = sorted(os.path.relpath(os.path.join(d, f), ROOT) for d, _, files in os.walk(os.path.join(ROOT, "docs"))
               if "_build" not in d for f in files if f.endswith(".md") and _python_blocks(os.path.join(d, f)))


@pytest.mark.parametrize("page", PAGES)
def test_docs_page_code_runs(page, capsys):
    """The ```python blocks of each page run in order, in one namespace, as a reader would run them."""
    blocks = _python_blocks(os.path.join(ROOT, page))
    namespace = {}
    for block in blocks:
        exec(compile(block, page, "exec"), namespace)
