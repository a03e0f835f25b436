"""The differentiation API as JAX users know it: grad, value_and_grad, vjp, jvp, linearize,
linear_transpose, jacfwd/jacrev, stop_gradient, print_saved_residuals; arguments, pytrees,
auxiliary outputs and the errors for misuse."""
from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

import fungrad
import fungrad.numpy as fnp
from fungrad import lax
from fungrad.errors import NotDifferentiableError
from fungrad.tree_util import register_dataclass

X = np.array([0.5, -1.2, 2.0])
Y = np.array([1.5, 0.3, -0.7])
vectors = arrays(np.float64, 3, elements=st.floats(-2, 2))


def f2(x: Any, y: Any) -> Any:
    return fnp.sum(fnp.sin(x) * y ** 2)


def df2(x: Any, y: Any) -> tuple[Any, Any]:
    return np.cos(x) * y ** 2, 2 * np.sin(x) * y


@given(vectors, vectors)
def test_argnums(x: Any, y: Any) -> None:
    dx, dy = df2(x, y)
    np.testing.assert_allclose(fungrad.grad(f2)(x, y), dx, rtol=1e-15)
    np.testing.assert_allclose(fungrad.grad(f2, 1)(x, y), dy, rtol=1e-15)
    np.testing.assert_allclose(fungrad.grad(f2, -1)(x, y), dy, rtol=1e-15)
    gx, gy = fungrad.grad(f2, (0, 1))(x, y)
    np.testing.assert_allclose(gx, dx, rtol=1e-15)
    np.testing.assert_allclose(gy, dy, rtol=1e-15)
    (g1,) = fungrad.grad(f2, (1,))(x, y)
    np.testing.assert_allclose(g1, dy, rtol=1e-15)
    with pytest.raises(ValueError, match="argnums"):
        fungrad.grad(f2, 2)(x, y)


def test_has_aux_and_value_and_grad() -> None:
    def loss(x: Any) -> Any:
        y = fnp.sin(x)
        return fnp.sum(y ** 2), {"y": y, "n": 3}
    g, aux = fungrad.grad(loss, has_aux=True)(X)
    np.testing.assert_allclose(g, 2 * np.sin(X) * np.cos(X), rtol=1e-15)
    np.testing.assert_allclose(aux["y"], np.sin(X))
    assert aux["n"] == 3
    (v, aux2), g2 = fungrad.value_and_grad(loss, has_aux=True)(X)
    assert v == pytest.approx(np.sum(np.sin(X) ** 2))
    np.testing.assert_array_equal(g2, g)
    v, (gx, gy) = fungrad.value_and_grad(f2, (0, 1))(X, Y)
    assert v == pytest.approx(np.sum(np.sin(X) * Y ** 2))
    np.testing.assert_allclose(gx, df2(X, Y)[0], rtol=1e-15)
    with pytest.raises(TypeError, match="pair"):
        fungrad.grad(lambda x: fnp.sum(x), has_aux=True)(X)


@register_dataclass
@dataclasses.dataclass
class Layer:
    w: Any
    b: Any
    name: str = dataclasses.field(default="dense", metadata={"static": True})


def test_pytrees_in_and_out() -> None:
    params: dict[str, Any] = {"layer": Layer(np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([0.1, -0.2])),
              "scale": (2.0, np.array(3.0))}

    def loss(p: Any, x: Any) -> Any:
        h = fnp.tanh(p["layer"].w @ x + p["layer"].b)
        return fnp.sum(h) * p["scale"][0] * p["scale"][1]
    x = np.array([0.3, -0.4])
    g = fungrad.grad(loss)(params, x)
    assert isinstance(g["layer"], Layer) and g["layer"].name == "dense"
    h = np.tanh(params["layer"].w @ x + params["layer"].b)
    dh = (1 - h ** 2) * 6.0
    np.testing.assert_allclose(g["layer"].w, np.outer(dh, x), rtol=1e-14)
    np.testing.assert_allclose(g["layer"].b, dh, rtol=1e-14)
    np.testing.assert_allclose(g["scale"][0], h.sum() * 3.0, rtol=1e-14)
    np.testing.assert_allclose(g["scale"][1], h.sum() * 2.0, rtol=1e-14)
    # pytree outputs of vjp/jvp/jacrev
    out, pull = fungrad.vjp(lambda d: {"a": d["x"] * 2.0, "b": (fnp.sin(d["x"]),)}, {"x": X})
    (ct,) = pull({"a": np.ones(3), "b": (np.ones(3),)})
    np.testing.assert_allclose(ct["x"], 2 + np.cos(X), rtol=1e-15)
    _, t = fungrad.jvp(lambda d: {"a": d["x"] * 2.0}, ({"x": X},), ({"x": np.ones(3)},))
    np.testing.assert_allclose(t["a"], 2 * np.ones(3))
    jac = fungrad.jacrev(lambda d: {"s": fnp.sin(d["x"])})({"x": X})
    np.testing.assert_allclose(jac["s"]["x"], np.diag(np.cos(X)), rtol=1e-15)


def test_errors_for_misuse() -> None:
    with pytest.raises(NotDifferentiableError, match="floating-point") as e:
        fungrad.grad(lambda n: n * 2.0)(np.arange(3))
    assert "int64" in str(e.value)
    with pytest.raises(NotDifferentiableError, match="floating-point"):
        fungrad.grad(lambda n: n * 2.0)(3)
    with pytest.raises(NotDifferentiableError) as e:
        fungrad.grad(lambda x: x * 2.0)(X)
    msg = str(e.value)
    assert "shape (3,)" in msg and ".sum()" in msg and "jacrev" in msg and "vjp" in msg
    g = fungrad.grad(lambda x, n: x * n, allow_int=True, argnums=(0, 1))(2.0, 3)
    assert g[0] == 3.0


def test_python_control_flow_on_values() -> None:
    def f(x: Any) -> Any:
        if x > 0:
            return fnp.sin(x) * x
        y = x
        while y < 1.0:
            y = y * 2.0 + 1.0
        return y

    assert fungrad.grad(f)(0.5) == pytest.approx(np.cos(0.5) * 0.5 + np.sin(0.5))
    assert fungrad.grad(f)(-0.5) == pytest.approx(4.0)  # -0.5 -> 0 -> 1: two doublings
    assert fungrad.grad(fungrad.grad(f))(0.5) == pytest.approx(
        -np.sin(0.5) * 0.5 + 2 * np.cos(0.5))


def test_linearize_and_linear_transpose() -> None:
    y, f_jvp = fungrad.linearize(lambda x: fnp.sin(x) * x, X)
    np.testing.assert_allclose(y, np.sin(X) * X)
    np.testing.assert_allclose(f_jvp(Y), (np.cos(X) * X + np.sin(X)) * Y, rtol=1e-15)
    np.testing.assert_allclose(f_jvp(2 * Y), 2 * f_jvp(Y), rtol=1e-15)
    A = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]])
    f_t = fungrad.linear_transpose(lambda x: A @ x * 2.0, X)
    (ct,) = f_t(np.array([1.0, -2.0]))
    np.testing.assert_allclose(ct, 2 * A.T @ np.array([1.0, -2.0]))
    f_t2 = fungrad.linear_transpose(lambda x, y: (x + y, x - 2.0 * y), X, Y)
    cx, cy = f_t2((np.ones(3), np.ones(3)))
    np.testing.assert_allclose(cx, 2 * np.ones(3))
    np.testing.assert_allclose(cy, -np.ones(3))


def test_vjp_and_jvp_with_aux() -> None:
    out, pull, aux = fungrad.vjp(lambda x: (fnp.exp(x), fnp.sum(x)), X, has_aux=True)
    np.testing.assert_allclose(out, np.exp(X))
    assert aux == pytest.approx(X.sum())
    np.testing.assert_allclose(pull(np.ones(3))[0], np.exp(X), rtol=1e-15)
    out, t, aux = fungrad.jvp(lambda x: (fnp.exp(x), {"s": fnp.sum(x)}), (X,), (Y,), has_aux=True)
    np.testing.assert_allclose(t, np.exp(X) * Y, rtol=1e-15)
    assert aux["s"] == pytest.approx(X.sum())


@pytest.mark.parametrize("jac", [fungrad.jacfwd, fungrad.jacrev])
def test_jacobian_chunks(jac: Any) -> None:
    def f(x: Any, y: Any) -> Any:
        return {"a": fnp.outer(fnp.sin(x), y), "b": fnp.sum(x * y)}
    full = jac(f, (0, 1))(X, Y)
    for chunk in (1, 2, 5):
        part = jac(f, (0, 1), chunk_size=chunk)(X, Y)
        for k in ("a", "b"):
            for i in (0, 1):
                np.testing.assert_allclose(part[k][i], full[k][i], rtol=1e-15)
    np.testing.assert_allclose(full["b"][0], Y)
    # d a_ij / d x_k = cos(x_i) y_j delta_ik
    np.testing.assert_allclose(full["a"][0], np.cos(X)[:, None, None] * Y[None, :, None]
                               * np.eye(3)[:, None, :], rtol=1e-15)


def test_make_jaxpr_of_grad_is_one_program() -> None:
    jaxpr = fungrad.make_jaxpr(fungrad.grad(lambda x: fnp.sum(fnp.sin(x) * x)))(X)
    names = [e.primitive.name for e in jaxpr.eqns]
    assert names.index("sin") < names.index("cos")  # forward first ...
    assert "reduce_sum" in names and "broadcast_in_dim" in names  # ... then the backward sum
    assert len(jaxpr.invars) == 1 and len(jaxpr.outvars) == 1
    x = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(fungrad.eval_jaxpr(jaxpr, jaxpr.consts, x)[0],
                               np.cos(x) * x + np.sin(x), rtol=1e-15)


def test_grad_of_a_function_that_calls_vjp() -> None:
    def f(x: Any) -> Any:
        _, pull = fungrad.vjp(fnp.sin, x)
        return fnp.sum(pull(x)[0])  # sum(x cos x)
    np.testing.assert_allclose(fungrad.grad(f)(X), np.cos(X) - X * np.sin(X), rtol=1e-15)
    np.testing.assert_allclose(fungrad.grad(fungrad.grad(lambda x: f(x)))(0.4),
                               -2 * np.sin(0.4) - 0.4 * np.cos(0.4), rtol=1e-14)


def test_hvp() -> None:
    def f(x: Any) -> Any:
        return fnp.sum(fnp.tanh(x) ** 2 * x)
    H = fungrad.hessian(f)(X)
    np.testing.assert_allclose(fungrad.hvp(f, (X,), (Y,)), H @ Y, rtol=1e-13)
    np.testing.assert_allclose(H, H.T, rtol=1e-14)


# ---------------------------------------------------------------- stop_gradient

def test_stop_gradient() -> None:
    sg = fungrad.stop_gradient
    assert sg is fungrad.lax.stop_gradient
    assert fungrad.grad(lambda x: x * sg(x))(3.0) == 3.0
    assert fungrad.grad(lambda x: fnp.sum(sg(x) ** 2))(X).tolist() == [0.0] * 3
    _, t = fungrad.jvp(lambda x: sg(x) + x, (X,), (Y,))
    np.testing.assert_array_equal(t, Y)
    tree = sg({"a": X, "n": np.arange(3)})
    np.testing.assert_array_equal(tree["a"], X)
    assert tree["n"].dtype == np.int64
    np.testing.assert_array_equal(fungrad.vmap(sg)(np.ones((2, 3))), np.ones((2, 3)))
    g = fungrad.vmap(fungrad.grad(lambda x: x * sg(x)))(X)
    np.testing.assert_array_equal(g, X)
    assert [e.primitive.name for e in fungrad.make_jaxpr(sg)(X).eqns] == ["stop_gradient"]
    # the classic use: a straight-through estimator (forward round, backward identity)
    ste = fungrad.grad(lambda x: fnp.sum(x + sg(fnp.round(x) - x)))(X)
    np.testing.assert_array_equal(ste, np.ones(3))


# ---------------------------------------------------------------- print_saved_residuals

def test_print_saved_residuals(capsys: Any) -> None:
    A = np.ones((2, 3))

    def f(x: Any) -> Any:
        h = fnp.sin(x)  # MARK-sin
        return fnp.sum(fnp.tanh(A @ h))
    fungrad.print_saved_residuals(f, X)
    lines = capsys.readouterr().out.strip().splitlines()
    src = open(__file__).read().splitlines()
    mark = next(i + 1 for i, line in enumerate(src) if "MARK-sin" in line and "h =" in line)
    assert f"f64[3] output of cos from {__file__}:{mark} (f)" in lines
    assert "f64[2,3] a constant the function closes over" in lines
    assert any(re.match(r"f64\[2\] output of \w+ from .*:\d+ \(f\)", l) for l in lines)
    assert len(lines) == 3
    fungrad.print_saved_residuals(lambda x, y: x * y, X, Y)
    assert capsys.readouterr().out.splitlines() == ["f64[3] from the argument y",
                                                    "f64[3] from the argument x"]
