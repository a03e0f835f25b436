"""lax.conv_general_dilated: values, gradients of both operands, vmap and jit against JAX and
against a direct loop; a small CNN trains on the digits."""
from __future__ import annotations

import itertools
import os
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jax_oracle import load_jax
import fungrad
import fungrad.numpy as fnp
from fungrad import lax
from fungrad.test_util import check_grads


@st.composite
def conv_configs(draw: Any) -> dict[str, Any]:
    nsp = draw(st.integers(1, 2))
    groups = draw(st.sampled_from([1, 1, 2]))
    batch_groups = 1 if groups > 1 else draw(st.sampled_from([1, 1, 2]))
    n = batch_groups * draw(st.integers(1, 2))
    i = draw(st.integers(1, 2))
    o = groups * batch_groups * draw(st.integers(1, 2))
    ks = [draw(st.integers(1, 3)) for _ in range(nsp)]
    sizes = [draw(st.integers(2, 6)) for _ in range(nsp)]
    lhs_dilation = [draw(st.integers(1, 2)) for _ in range(nsp)]
    pads = draw(st.sampled_from(["VALID", "SAME", "SAME_LOWER", "explicit"]))
    if pads == "explicit" or max(lhs_dilation) > 1:
        pads = [(draw(st.integers(-1, 2)), draw(st.integers(-1, 2))) for _ in range(nsp)]
    layout = draw(st.sampled_from(["default", "nhwc"]))
    return dict(nsp=nsp, groups=groups, batch_groups=batch_groups, n=n, c=i * groups, i=i, o=o,
                ks=ks, sizes=sizes, padding=pads,
                strides=[draw(st.integers(1, 2)) for _ in range(nsp)],
                lhs_dilation=lhs_dilation,
                rhs_dilation=[draw(st.integers(1, 2)) for _ in range(nsp)], layout=layout,
                seed=draw(st.integers(0, 1000)))


def _operands(cfg: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, Any]:
    rng = np.random.default_rng(cfg["seed"])
    x = rng.normal(size=(cfg["n"], cfg["c"], *cfg["sizes"]))
    w = rng.normal(size=(cfg["o"], cfg["i"], *cfg["ks"]))
    if cfg["layout"] == "default":
        return x, w, None
    sp = "HW"[:cfg["nsp"]]
    x = np.moveaxis(x, 1, -1)  # N...C
    w = np.moveaxis(w, (0, 1), (-1, -2))  # ...IO
    return x, w, ("N" + sp + "C", sp + "IO", "N" + sp + "C")


def _kwargs(cfg: dict[str, Any], dn: Any) -> dict[str, Any]:
    return dict(window_strides=cfg["strides"], padding=cfg["padding"],
                lhs_dilation=cfg["lhs_dilation"], rhs_dilation=cfg["rhs_dilation"],
                dimension_numbers=dn, feature_group_count=cfg["groups"],
                batch_group_count=cfg["batch_groups"])


@pytest.fixture(scope="module")
def jax() -> Any:
    jax = load_jax()
    return jax


@settings(max_examples=12)
@given(conv_configs())
def test_values_gradients_and_vmap_match_jax(jax: Any, cfg: dict[str, Any]) -> None:
    x, w, dn = _operands(cfg)
    kw = _kwargs(cfg, dn)
    f = lambda a, b: lax.conv_general_dilated(a, b, **kw)  # noqa: E731
    jf = lambda a, b: jax.lax.conv_general_dilated(a, b, **kw)  # noqa: E731
    ours = f(x, w)
    ct = np.random.default_rng(1).normal(size=ours.shape)
    xs, ws = np.stack([x, 2 * x]), np.stack([w, -w])
    batched = [(0, None), (None, 0), (0, 0)]

    def everything(lib: Any, conv: Any) -> list[Any]:
        """The value, both cotangents and three vmaps, in one program (one XLA compile)."""
        value, pb = lib.vjp(conv, x, w)
        return [value, *pb(ct)] + [
            lib.vmap(conv, in_axes=axes)(xs if axes[0] == 0 else x, ws if axes[1] == 0 else w)
            for axes in batched]

    theirs = jax.jit(lambda: everything(jax, jf))()
    for mine, their in zip([*everything(fungrad, f), fungrad.jit(f)(x, w)],
                           [*theirs, theirs[0]]):
        assert mine.shape == their.shape
        np.testing.assert_allclose(mine, np.asarray(their), rtol=1e-9, atol=1e-9)


def _direct_conv2d(x: np.ndarray, w: np.ndarray, stride: int, pad: int) -> np.ndarray:
    """The textbook loop: NCHW input, OIHW kernel."""
    x = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out = np.zeros((n, o, oh, ow))
    for b, f, i, j in itertools.product(range(n), range(o), range(oh), range(ow)):
        patch = x[b, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
        out[b, f, i, j] = np.sum(patch * w[f])
    return out


@pytest.mark.parametrize("stride,pad", [(1, 0), (2, 1), (1, 2)])
def test_matches_a_direct_loop_and_finite_differences(stride: int, pad: int) -> None:
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(2, 3, 5, 6)), rng.normal(size=(4, 3, 3, 2))
    f = lambda a, b: lax.conv(a, b, (stride, stride), [(pad, pad), (pad, pad)])  # noqa: E731
    np.testing.assert_allclose(f(x, w), _direct_conv2d(x, w, stride, pad), rtol=1e-12)
    check_grads(f, (x, w), order=2, modes=("fwd", "rev"))


def test_grouped_and_dilated_gradients_to_second_order() -> None:
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(2, 4, 5)), rng.normal(size=(6, 2, 2))
    f = lambda a, b: lax.conv_general_dilated(a, b, (2,), [(1, 0)], (2,), (2,),  # noqa: E731
                                              feature_group_count=2)
    check_grads(f, (x, w), order=2, modes=("fwd", "rev"))
    check_grads(fungrad.vmap(f, in_axes=(0, None)), (np.stack([x, x + 1]), w), order=1)


def test_errors_are_clear() -> None:
    with pytest.raises(Exception, match="feature_group_count"):
        lax.conv_general_dilated(np.ones((1, 3, 4)), np.ones((2, 2, 2)), (1,), "VALID")
    with pytest.raises(ValueError, match="padding"):
        lax.conv(np.ones((1, 1, 4)), np.ones((1, 1, 2)), (1,), "FULL")
    with pytest.raises(Exception, match="one entry|entries"):
        lax.conv(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), (1,), "VALID")


def test_small_cnn_learns_the_digits() -> None:
    """A two-layer CNN in a few lines: conv (8 filters, 3x3) -> relu -> dense, 60 SGD steps."""
    data = np.load(os.path.join(os.path.dirname(__file__), "..", "examples", "data", "digits.npz"))
    x = data["images"].reshape(-1, 1, 8, 8)[:600] / 16.0
    y = data["target"][:600].astype(np.int64)
    rng = np.random.default_rng(0)
    params = {"k": rng.normal(size=(8, 1, 3, 3)) * 0.3, "b": np.zeros((1, 8, 1, 1)),
              "w": rng.normal(size=(8 * 4 * 4, 10)) * 0.05}

    def loss(p: Any, x: Any, y: Any) -> Any:
        h = fungrad.nn.relu(lax.conv(x, p["k"], (2, 2), "SAME") + p["b"])   # (B, 8, 4, 4)
        logits = h.reshape(h.shape[0], -1) @ p["w"]
        return -fnp.mean(fungrad.nn.log_softmax(logits)[fnp.arange(y.shape[0]), y])

    step = fungrad.jit(lambda p, x, y: fungrad.tree.map(
        lambda a, g: a - 0.5 * g, p, fungrad.grad(loss)(p, x, y)))
    first = float(loss(params, x, y))
    for i in range(60):
        batch = slice((i * 100) % 600, (i * 100) % 600 + 100)
        params = step(params, x[batch], y[batch])
    assert float(loss(params, x, y)) < 0.5 * first
    h = np.maximum(lax.conv(x, params["k"], (2, 2), "SAME") + params["b"], 0)
    accuracy = np.mean(np.argmax(h.reshape(600, -1) @ params["w"], 1) == y)
    assert accuracy > 0.8
