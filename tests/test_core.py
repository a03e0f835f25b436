"""The IR, tracing, printing, the type checker and the errors for bad input."""
import re

import numpy as np
import pytest

import fungrad
import fungrad.numpy as fnp
from fungrad import errors, lax
from fungrad.core import Primitive, abstract_eval_rules, impl_rules
from fungrad.ir import Eqn, Jaxpr, Literal, ShapedArray, Var
from fungrad.typecheck import JaxprTypeError, typecheck_jaxpr

F64 = np.dtype(np.float64)


def test_make_jaxpr_prints_in_jax_format():
    jaxpr = fungrad.make_jaxpr(lambda x: lax.mul(x, 2.0))(np.ones(3))
    assert str(jaxpr) == "{ lambda ; a:f64[3]. let b:f64[3] = mul a 2.0:f64[] in (b,) }"


def test_make_jaxpr_float32_literal_and_consts():
    c = np.arange(4.0, dtype=np.float32)
    jaxpr = fungrad.make_jaxpr(lambda x: lax.add(lax.mul(x, 2.0), c))(c)
    text = str(jaxpr)
    assert text.startswith("{ lambda a:f32[4]; b:f32[4]. let")
    assert "mul b 2.0:f32[]" in text
    assert jaxpr.consts[0] is c


def test_long_jaxpr_prints_one_equation_per_line():
    def f(x):
        for _ in range(6):
            x = lax.sin(lax.cos(x))
        return x
    lines = str(fungrad.make_jaxpr(f)(np.ones((2, 3)))).splitlines()
    assert lines[0] == "{ lambda ; a:f64[2,3]. let"
    assert len(lines) == 12 + 2 and lines[-1].strip().startswith("in (")


def test_eqns_record_the_user_line():
    jaxpr = fungrad.make_jaxpr(lambda x: lax.exp(x))(1.0)
    assert re.search(r"test_core\.py:\d+", jaxpr.eqns[0].source)


def test_static_argnums_and_pytrees():
    def f(p, n):
        return lax.mul(p["w"], float(n)), p["b"]
    jaxpr = fungrad.make_jaxpr(f, static_argnums=1)({"w": np.ones(2), "b": np.zeros(())}, 3)
    assert [str(v.aval) for v in jaxpr.invars] == ["f64[]", "f64[2]"]  # dict keys sorted
    assert "mul b 3.0:f64[]" in str(jaxpr)


def test_eval_jaxpr_matches_direct_evaluation():
    f = lambda x, y: lax.add(lax.sin(x), lax.mul(x, y))
    x, y = np.array([0.1, 0.7]), np.array([2.0, -1.0])
    jaxpr = fungrad.make_jaxpr(f)(x, y)
    (out,) = fungrad.eval_jaxpr(jaxpr, jaxpr.consts, x, y)
    np.testing.assert_allclose(out, np.sin(x) + x * y, rtol=0, atol=0)


def test_eval_jaxpr_is_retraced_under_transforms():
    jaxpr = fungrad.make_jaxpr(lambda x: lax.sin(x))(0.5)
    g = fungrad.grad(lambda x: fungrad.eval_jaxpr(jaxpr, [], x)[0])(0.5)
    assert g == pytest.approx(np.cos(0.5), abs=0)


# ---------------------------------------------------------------- type checker

def _jaxpr(eqns, invars, outvars):
    return Jaxpr([], invars, eqns, outvars)


def test_typecheck_accepts_traced_programs():
    typecheck_jaxpr(fungrad.make_jaxpr(lambda x: lax.reduce_sum(lax.tanh(x), (0,)))(np.ones(3)))


def test_typecheck_rejects_unbound_variables():
    a, b, c = Var(ShapedArray((3,), F64)), Var(ShapedArray((3,), F64)), Var(ShapedArray((3,), F64))
    eqn = Eqn(lax.elementwise.add_p, [a, b], {}, [c], None)
    with pytest.raises(JaxprTypeError, match="used before it is bound"):
        typecheck_jaxpr(_jaxpr([eqn], [a], [c]))


def test_typecheck_rejects_double_assignment():
    a, b = Var(ShapedArray((3,), F64)), Var(ShapedArray((3,), F64))
    e1 = Eqn(lax.elementwise.sin_p, [a], {}, [b], None)
    e2 = Eqn(lax.elementwise.cos_p, [a], {}, [b], None)
    with pytest.raises(JaxprTypeError, match="assigned twice"):
        typecheck_jaxpr(_jaxpr([e1, e2], [a], [b]))


def test_typecheck_rejects_wrong_output_type():
    a, b = Var(ShapedArray((3,), F64)), Var(ShapedArray((4,), F64))
    eqn = Eqn(lax.elementwise.sin_p, [a], {}, [b], None)
    with pytest.raises(JaxprTypeError, match="shape rule gives"):
        typecheck_jaxpr(_jaxpr([eqn], [a], [b]))


def test_typecheck_rejects_operands_the_shape_rule_refuses():
    a, b = Var(ShapedArray((3,), F64)), Var(ShapedArray((3,), np.dtype(np.float32)))
    c = Var(ShapedArray((3,), F64))
    eqn = Eqn(lax.elementwise.add_p, [a, b], {}, [c], None)
    with pytest.raises(JaxprTypeError, match="one dtype"):
        typecheck_jaxpr(_jaxpr([eqn], [a, b], [c]))


# ---------------------------------------------------------------- bad input

def test_shape_mismatch_is_caught_at_trace_time_with_the_user_line():
    with pytest.raises(errors.ShapeError, match=r"do not broadcast[\s\S]*test_core\.py:\d+"):
        fungrad.make_jaxpr(lambda x, y: lax.add(x, y))(np.ones(3), np.ones(4))


def test_bool_of_abstract_value_names_line_and_suggests_cond():
    def f(x):
        if lax.gt(x, 0.0):
            return x
        return lax.neg(x)
    with pytest.raises(errors.ConcretizationError) as info:
        fungrad.make_jaxpr(f)(1.0)
    msg = str(info.value)
    assert "lax.cond" in msg and "static_argnums" in msg and "test_core.py" in msg


@pytest.mark.parametrize("convert", [int, float, bool, np.asarray])
def test_conversions_of_abstract_values_raise(convert):
    with pytest.raises(TypeError, match="test_core.py"):
        fungrad.make_jaxpr(lambda x: convert(lax.sin(x)))(1.0)


def test_python_control_flow_on_concrete_values_works_in_grad():
    def f(x):
        return lax.mul(x, x) if x > 0 else lax.neg(x)
    assert fungrad.grad(f)(3.0) == 6.0
    assert fungrad.grad(f)(-3.0) == -1.0


def test_item_assignment_points_to_at_set():
    def f(x):
        x[0] = 1.0
        return x
    with pytest.raises(errors.TracedAssignmentError, match=r"\.at\[idx\]\.set"):
        fungrad.make_jaxpr(f)(np.ones(3))


def test_leaked_tracer_is_reported_when_used():
    leaked = []

    def f(x):
        leaked.append(x)
        return x
    fungrad.make_jaxpr(f)(1.0)
    with pytest.raises(errors.UnexpectedTracerError, match="leaked"):
        lax.sin(leaked[0])
    with pytest.raises(errors.UnexpectedTracerError):
        fungrad.make_jaxpr(lambda y: lax.add(y, leaked[0]))(1.0)


def test_leaked_jvp_tracer_is_reported():
    leaked = []

    def f(x):
        leaked.append(lax.sin(x))
        return x
    fungrad.grad(f)(1.0)
    with pytest.raises(errors.UnexpectedTracerError):
        lax.cos(leaked[0])


def test_non_array_argument_is_a_clear_error():
    with pytest.raises(errors.InvalidArgumentError, match="str"):
        fungrad.grad(lambda x: x)("hello")
    with pytest.raises(errors.InvalidArgumentError):
        fungrad.make_jaxpr(lambda x: x)(object())


def test_new_primitive_needs_only_its_table_entries():
    double_p = Primitive("double")
    impl_rules[double_p] = lambda x: 2 * x
    abstract_eval_rules[double_p] = lambda a: a
    jaxpr = fungrad.make_jaxpr(lambda x: double_p.bind(x))(np.ones(2))
    assert "double a" in str(jaxpr)
    np.testing.assert_array_equal(double_p.bind(np.ones(2)), [2.0, 2.0])


def test_literal_and_var_reprs():
    assert repr(Literal(2.0)) == "2.0:f64[]"
    assert repr(ShapedArray((2, 3), np.dtype(np.int32))) == "i32[2,3]"
