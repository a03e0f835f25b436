"""The house rules, checked on the source: imports run one way through named layers, only core
switches traces, and no module reaches for another module's private names.

The layers (ARCHITECTURE.md explains what each owns); a module may import from its own layer
and those below, never from above. Module-level and in-function imports are both checked.
"""
import ast
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "fungrad"

LAYERS = [
    # 1: values, programs, pytrees: no primitive knowledge
    ["fungrad.ir", "fungrad.tree_util", "fungrad.config", "fungrad.errors",
     "fungrad.source_info", "fungrad.pretty", "fungrad.version", "fungrad.dtypes",
     "fungrad.stack", "fungrad.array_type"],
    # 2: Primitive, bind, Trace/Tracer, the current trace
    ["fungrad.core"],
    # 3: the interpreters and their rule tables; jit's compiler and its tables; traced functions
    ["fungrad.interpreters", "fungrad.compiler", "fungrad.api_util", "fungrad.typecheck"],
    # 4: the primitives, each with all its rules; jaxpr utilities built from them
    ["fungrad.lax"],
    # 5: jit: the call primitive and the trace cache
    ["fungrad.jit"],
    # 6: the public transforms
    ["fungrad.api", "fungrad.custom_derivatives", "fungrad.checkpoint", "fungrad.residuals",
     "fungrad.flatten_util"],
    # 7: user namespaces built on lax (the numpy layer installs the array methods on Tracer)
    ["fungrad.numpy", "fungrad.nn", "fungrad.scipy", "fungrad.random", "fungrad.tree",
     "fungrad.test_util", "fungrad.ad_checkpoint", "fungrad.debug"],
    # 8: optimizers and curvature; collectives over MPI
    ["fungrad.optim", "fungrad.distributed"],
    # 9: the package itself, which exports everything
    ["fungrad"],
]

# (importer, imported): the few deliberate exceptions, each with its reason.
EXCEPTIONS: set[tuple[str, str]] = set()


def layer_of(module: str) -> int:
    best, level = -1, None
    for i, names in enumerate(LAYERS):
        for name in names:
            # The package itself is a layer of its own, not a prefix that would admit any new module.
            inside = module.startswith(name + ".") and name != "fungrad"
            if (module == name or inside) and len(name) > best:
                best, level = len(name), i
    if level is None:
        raise AssertionError(f"{module} is in no layer: add it to LAYERS (and ARCHITECTURE.md)")
    return level


def module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: pathlib.Path):
    """(imported module, line, names) for every import statement of the file."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, node.lineno, []
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = []
            for a in node.names:  # ``from fungrad.lax import shape_ops`` imports a module
                sub = ROOT.parent / node.module.replace(".", "/") / a.name
                if sub.with_suffix(".py").exists() or sub.is_dir():
                    yield f"{node.module}.{a.name}", node.lineno, []
                else:
                    names.append(a.name)
            if names:
                yield node.module, node.lineno, names


FILES = sorted(ROOT.rglob("*.py"))


def test_every_module_has_a_layer():
    for path in FILES:
        layer_of(module_name(path))


@pytest.mark.parametrize("path", FILES, ids=lambda p: module_name(p))
def test_imports_run_one_way(path):
    me = module_name(path)
    mine = layer_of(me)
    upward = []
    for target, line, _ in imports(path):
        if target.split(".")[0] != "fungrad" or (me, target) in EXCEPTIONS:
            continue
        if layer_of(target) > mine:
            upward.append(f"{path.name}:{line} imports {target} (layer {layer_of(target) + 1} "
                          f"> layer {mine + 1})")
    assert not upward, "\n".join(upward)


@pytest.mark.parametrize("path", FILES, ids=lambda p: module_name(p))
def test_no_private_names_across_modules(path):
    me = module_name(path)
    found = []
    for target, line, names in imports(path):
        if target.split(".")[0] != "fungrad" or target == me:
            continue
        found += [f"{path.name}:{line} imports {n} from {target}"
                  for n in names if n.startswith("_") and not n.startswith("__")]
    tree = ast.parse(path.read_text())
    found += [f"{path.name}:{node.lineno} reads core.{node.attr}" for node in ast.walk(tree)
              if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id == "core" and node.attr.startswith("_") and me != "fungrad.core"]
    assert not found, "\n".join(found)


def test_only_core_switches_traces():
    # The current trace is core's private state; everything else goes through its seam
    # (new_trace, set_current_trace, call_with_trace, Trace.process_on_parent/call_on_parent).
    offenders = [f"{p.relative_to(ROOT)}:{i}" for p in FILES if p.name != "core.py"
                 for i, line in enumerate(p.read_text().splitlines(), 1)
                 if re.search(r"\b_ctx\b|\b_state\b|\.trace\s*=[^=]", line)]
    assert not offenders, offenders


def test_layer_test_catches_an_upward_import(tmp_path):
    # The checker itself: a lax module importing jit is reported.
    bad = ROOT / "lax" / "elementwise.py"
    tree = list(imports(bad))
    assert all(layer_of(t) <= layer_of("fungrad.lax") for t, _, _ in tree
               if t.startswith("fungrad"))
    assert layer_of("fungrad.jit.api") > layer_of("fungrad.lax.control_flow.cond")
