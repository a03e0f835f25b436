"""Every example in fungrad's docstrings runs and prints what it says (``doctest``)."""
from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import fungrad

MODULES = sorted(m.name for m in pkgutil.walk_packages(fungrad.__path__, "fungrad."))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    if name.startswith("fungrad.distributed."):
        pytest.importorskip("mpi4py", reason="the mpi extra is not installed")
    module = importlib.import_module(name)
    # NumPy 1.25's scalar repr (``0.0``, not ``np.float64(0.0)``) keeps the examples readable.
    with np.printoptions(legacy="1.25"):
        result = doctest.testmod(module, extraglobs={"np": np}, optionflags=doctest.ELLIPSIS
                                 | doctest.NORMALIZE_WHITESPACE, report=False, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"


def test_public_functions_have_examples() -> None:
    """Every public function and class of the top-level namespace shows a short example."""
    public = [getattr(fungrad, n) for n in dir(fungrad) if not n.startswith("_")]
    missing = [f.__name__ for f in public if callable(f) and not inspect.ismodule(f)
               and getattr(f, "__module__", "").startswith("fungrad")
               and ">>>" not in (f.__doc__ or "")]
    assert not missing, missing
