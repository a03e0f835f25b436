"""Two directives that keep fungrad's documentation generated from the code itself.

``.. fungrad-api:: fungrad.numpy`` documents a public namespace: its docstring, a summary table and one
entry per public function or class defined in fungrad (re-exported NumPy names and helpers are left out).
New functions appear in the reference without anyone editing a page.

``.. fungrad-example:: train_mlp`` runs ``examples/train_mlp.py --fast`` at build time (offline, in a
subprocess with matplotlib's Agg backend), then shows the script's output, the plots it wrote and its
source. A failing example fails the build. ``FUNGRAD_DOCS_RUN_EXAMPLES`` chooses which run: unset or
``all`` (the default), ``none``, or a comma-separated list of names; the others show their source only.
"""
from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT_SECONDS = 600


def public_names(module_name: str) -> list[str]:
    """The functions and classes a namespace offers that fungrad itself defines, in alphabetical order."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]

    def offered(name: str) -> bool:
        obj = getattr(module, name, None)
        return callable(obj) and not inspect.ismodule(obj) and \
            (getattr(obj, "__module__", None) or "").startswith(module_name)

    return sorted(n for n in names if offered(n))


class ApiDirective(SphinxDirective):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        module_name = self.arguments[0]
        names = public_names(module_name)
        module = importlib.import_module(module_name)
        lines = [f".. automodule:: {module_name}", "   :no-members:", "",
                 f".. currentmodule:: {module_name}", "", ".. autosummary::", "   :nosignatures:", ""]
        lines += [f"   {name}" for name in names] + [""]
        for name in names:
            if inspect.isclass(getattr(module, name)):
                lines += [f".. autoclass:: {name}", "   :members:", "   :special-members: __call__", ""]
            else:
                lines += [f".. autofunction:: {name}", ""]
        return self.parse_lines(lines)

    def parse_lines(self, lines: list[str]) -> list[nodes.Node]:
        container = nodes.container()
        nested_parse_with_titles(self.state, StringList(lines, source=f"<{self.name}>"), container)
        return list(container.children)


class ExampleDirective(ApiDirective):
    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        script = os.path.join(REPO, "examples", f"{name}.py")
        if not os.path.exists(script):
            raise self.error(f"no example {script}")
        self.env.note_dependency(script)
        lines: list[str] = []
        chosen = os.environ.get("FUNGRAD_DOCS_RUN_EXAMPLES", "all")
        if chosen == "all" or name in chosen.split(","):
            lines += self.run_example(name, script)
        lines += [f".. literalinclude:: /../examples/{name}.py", "   :language: python",
                  f"   :caption: examples/{name}.py", ""]
        return self.parse_lines(lines)

    def run_example(self, name: str, script: str) -> list[str]:
        out = os.path.join(self.env.srcdir, "_build", "example_runs", name)
        os.makedirs(out, exist_ok=True)
        for old in os.listdir(out):
            os.remove(os.path.join(out, old))
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=os.pathsep.join(
            [REPO] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        command = [sys.executable, script, "--fast", "--out", out]
        done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT_SECONDS)
        if done.returncode != 0:
            raise self.error(f"examples/{name}.py --fast failed with exit code {done.returncode}:\n"
                             f"{done.stderr[-3000:]}")
        lines = [".. code-block:: text", f"   :caption: python examples/{name}.py --fast", ""]
        lines += [f"   {line}" for line in done.stdout.rstrip().splitlines()] + [""]
        for figure in sorted(f for f in os.listdir(out) if f.endswith(".png")):
            lines += [f".. image:: /_build/example_runs/{name}/{figure}",
                      f"   :alt: {figure[:-4].replace('_', ' ')}", ""]
        return lines


# The repository's top-level guides, included as pages: their links to each other point at the pages.
TOP_LEVEL_PAGES = {"ARCHITECTURE.md": "architecture.md", "CONTRIBUTING.md": "contributing.md"}


def link_top_level_pages(app: Sphinx, relative_path: Any, parent_docname: str, content: list[str]) -> None:
    """``include-read``: in an included top-level guide, ``](CONTRIBUTING.md)`` becomes the docs page."""
    if os.path.basename(str(relative_path)) in TOP_LEVEL_PAGES:
        for name, page in TOP_LEVEL_PAGES.items():
            content[0] = content[0].replace(f"]({name})", f"]({page})")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("include-read", link_top_level_pages)
    app.add_directive("fungrad-api", ApiDirective)
    app.add_directive("fungrad-example", ExampleDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
