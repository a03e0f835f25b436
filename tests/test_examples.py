"""The examples run end to end (the README's first set-up command runs quickstart)."""
import importlib.util
import os

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, "examples")


def _load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quickstart_runs(capsys):
    _load("quickstart").main()
    assert "ok" in capsys.readouterr().out


def test_digits_mlp_learns():
    acc = _load("digits_mlp").main(steps=150)
    assert acc > 0.85  # chance is 0.1
