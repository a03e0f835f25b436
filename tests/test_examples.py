"""Every example runs end to end in its ``--fast`` mode and shows what it claims (none of them rots)."""
import importlib.util
import os
import sys

import numpy as np
import pytest

EXAMPLES = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, "examples"))


def _load(name):
    if EXAMPLES not in sys.path:
        sys.path.insert(0, EXAMPLES)  # as when run as a script: example_util sits beside them
    spec = importlib.util.spec_from_file_location(name, os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fast(name, tmp_path):
    return _load(name).main(["--fast", "--out", str(tmp_path)])


def test_quickstart_runs(capsys):
    _load("quickstart").main()
    assert "ok" in capsys.readouterr().out


def test_jaxpr_tour(tmp_path, capsys):
    result = _fast("jaxpr_tour", tmp_path)
    out = capsys.readouterr().out
    assert "def jitted(" in out and "cond[branches=" in out and "from the argument x" in out
    assert result["equations_optimized"] < result["equations_traced"]
    np.testing.assert_allclose(result["grad_jit"], result["grad_eager"], rtol=1e-12)


def test_backprop_by_hand_matches_grad(tmp_path):
    module = _load("backprop_by_hand")
    assert _fast("backprop_by_hand", tmp_path)["max_difference"] < 1e-12
    # The hand-written rule also against central differences, so a shared mistake cannot hide.
    rng = np.random.default_rng(3)
    params = module.init_mlp(rng, [5, 4, 3])
    x, y = rng.standard_normal((6, 5)), np.eye(3)[rng.integers(0, 3, 6)]
    w, _ = module.backprop(params, x, y)[0]
    eps, (i, j) = 1e-6, (2, 1)
    bumped = [[p.copy() for p in layer] for layer in params]
    bumped[0][0][i, j] += eps
    up = module.loss(bumped, x, y)
    bumped[0][0][i, j] -= 2 * eps
    assert abs((up - module.loss(bumped, x, y)) / (2 * eps) - w[i, j]) < 1e-8


def test_per_example_grads_finds_flipped_labels(tmp_path):
    result = _fast("per_example_grads", tmp_path)
    assert result["agreement"] < 1e-10
    assert result["hits"] > result["flipped"] / 2  # chance would find 5%
    assert os.path.exists(tmp_path / "per_example_grads.png")


def test_curve_fit_reproduces_nist(tmp_path):
    fits = _fast("curve_fit", tmp_path)
    assert [f["name"] for f in fits] == ["Misra1a", "Thurber"]
    for f in fits:  # NIST's criterion: 4 or more certified digits, for values and standard errors
        assert f["min_lre"] >= 4, f["name"]
        np.testing.assert_allclose(f["errors"], f["std"], rtol=1e-4)
    assert os.path.exists(tmp_path / "curve_fit.png")


def test_hessian_spectrum_against_dense(tmp_path):
    import fungrad
    from fungrad.flatten_util import ravel_pytree
    module = _load("hessian_spectrum")
    result = _fast("hessian_spectrum", tmp_path)
    flat, unravel = ravel_pytree(result["params"])
    dense = fungrad.hessian(lambda w: module.loss(unravel(w), result["x"], result["y"]))(flat)
    eigenvalues = np.linalg.eigvalsh(dense)
    k = len(result["top"]["Hessian"])
    np.testing.assert_allclose(result["top"]["Hessian"], eigenvalues[::-1][:k], rtol=1e-6)
    assert result["smallest"] == pytest.approx(eigenvalues[0], abs=1e-6)
    assert np.all(result["top"]["GGN"] > 0)
    for density in result["densities"].values():  # SLQ's density integrates to about one on the grid
        assert np.trapezoid(density, result["grid"]) == pytest.approx(1.0, abs=0.05)
    assert result["accuracy"] > 0.9
    assert os.path.exists(tmp_path / "hessian_spectrum.png")


def test_train_mlp_reaches_accuracy(tmp_path):
    result = _fast("train_mlp", tmp_path)
    assert result["test_accuracy"] >= 0.95
    assert result["traces"] == 1  # fixed batch shapes: the step compiles once
    assert np.mean(result["losses"][-10:]) < np.mean(result["losses"][:10]) / 5
    assert os.path.exists(tmp_path / "train_mlp_loss.png")


def test_second_order_table(tmp_path):
    results = _fast("second_order", tmp_path)
    steps = {name: r[0] for name, r in results.items()}
    lm = steps["Levenberg-Marquardt, GGN"]
    assert lm is not None and steps["Levenberg-Marquardt, Fisher"] is not None
    assert all(s is None or lm < s for name, s in steps.items() if "Levenberg" not in name)
    assert steps[next(n for n in steps if n.startswith("Adam"))] is not None
    assert os.path.exists(tmp_path / "second_order.png")
