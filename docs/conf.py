"""Sphinx configuration for fungrad's documentation (build: python -m sphinx -W -b html docs docs/_build/html)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the fungrad of this checkout, installed or not
sys.path.insert(0, os.path.join(HERE, "_ext"))

import fungrad  # noqa: E402

project = "fungrad"
author = "the fungrad authors"
copyright = "2026, the fungrad authors"
release = version = fungrad.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_parser",
    "fungrad_docs",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_ext", "Thumbs.db", ".DS_Store"]
myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "none"          # signatures stay readable; the types live in the code for mypy
autodoc_inherit_docstrings = False
autosummary_generate = False        # the fungrad-api directive writes the tables itself

html_theme = "furo"
html_title = f"fungrad {release}"
html_static_path = []
nitpicky = False
smartquotes = False                 # keep "--fast" and quotes in captions as written
