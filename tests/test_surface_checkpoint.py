"""fungrad.ad_checkpoint: checkpoint_name and every JAX policy, against jax's saved residuals."""
from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from jax_oracle import load_jax

import fungrad
import fungrad.numpy as fnp
from fungrad.ad_checkpoint import checkpoint, checkpoint_name, checkpoint_policies, saved_residuals


def _program(xp: Any, lax: Any, name: Any) -> Any:
    def f(w: Any, x: Any) -> Any:
        h = name(xp.tanh(w @ x), "hidden")
        z = name(xp.sin(h) * 2, "z")
        b = lax.dot_general(xp.stack([w, w]), xp.stack([z, z]),  # a batched product
                            (((2,), (1,)), ((0,), (0,))))
        return xp.sum(xp.tanh(w @ z)) + xp.sum(xp.tanh(b))
    return f


def _policies(P: Any) -> dict[str, Any]:
    return {
        "none": None, "nothing": P.nothing_saveable, "everything": P.everything_saveable,
        "dots": P.dots_saveable, "checkpoint_dots": P.checkpoint_dots,
        "dots_no_batch": P.dots_with_no_batch_dims_saveable,
        "checkpoint_dots_no_batch": P.checkpoint_dots_with_no_batch_dims,
        "only_hidden": P.save_only_these_names("hidden"),
        "all_but_hidden": P.save_any_names_but_these("hidden"),
        "anything_except_z": P.save_anything_except_these_names("z"),
        "both": P.save_from_both_policies(P.save_only_these_names("z"),
                                          P.dots_with_no_batch_dims_saveable),
    }


W, X = np.array([[0.5, 0.1, 0.0], [0.2, -0.3, 0.4], [0.0, 0.1, 0.6]]), np.array([1.0, -0.5, 2.0])
NAMES = list(_policies(checkpoint_policies))


def _kinds(residuals: Any) -> list[str]:
    """What each residual is, without the source location."""
    return sorted(d.split(" from ")[0].replace("float64", "f64") + " " + str(a).replace("float64", "f64")
                  for a, d in residuals)


@pytest.mark.parametrize("policy", NAMES)
def test_policies_save_what_jax_saves_for_named_and_argument_values(policy: str) -> None:
    jax = load_jax()
    import jax.ad_checkpoint
    from jax._src.ad_checkpoint import saved_residuals as jax_saved_residuals
    ours_f = checkpoint(_program(fnp, fungrad.lax, checkpoint_name), policy=_policies(checkpoint_policies)[policy])
    theirs_f = jax.checkpoint(_program(jax.numpy, jax.lax, jax.ad_checkpoint.checkpoint_name),
                              policy=_policies(jax.checkpoint_policies)[policy])
    ours, theirs = _kinds(saved_residuals(ours_f, W, X)), _kinds(jax_saved_residuals(theirs_f, W, X))
    if policy in ("everything", "anything_except_z"):  # which intermediates: implementation detail
        assert len(ours) > 4 and len(theirs) > 4
    else:
        assert ours == theirs
    for g, jg in zip(fungrad.grad(ours_f, (0, 1))(W, X), jax.grad(theirs_f, (0, 1))(W, X)):
        np.testing.assert_allclose(g, jg, rtol=1e-12)


def test_checkpoint_name_is_an_identity_under_every_transform() -> None:
    f = lambda x: fnp.sum(checkpoint_name(fnp.sin(x), "s") ** 2)  # noqa: E731
    x = np.array([0.1, 0.7])
    expected = 2 * np.sin(x) * np.cos(x)
    np.testing.assert_allclose(fungrad.grad(f)(x), expected)
    np.testing.assert_allclose(fungrad.jit(fungrad.grad(f))(x), expected)
    np.testing.assert_allclose(fungrad.vmap(fungrad.grad(f))(np.stack([x, x])), [expected] * 2)
    assert "name" not in fungrad.jit(fungrad.grad(f)).lower(x).source  # the label is dropped
    tree = checkpoint_name({"a": np.ones(2), "b": 3.0}, "t")
    assert tree["b"] == 3.0


def test_offload_policies_are_refused() -> None:
    with pytest.raises(NotImplementedError, match="offload"):
        checkpoint_policies.offload_dot_with_no_batch_dims("device", "pinned_host")
    with pytest.raises(NotImplementedError, match="offload"):
        checkpoint_policies.save_and_offload_only_these_names(
            names_which_can_be_saved=[], names_which_can_be_offloaded=[],
            offload_src="device", offload_dst="pinned_host")
