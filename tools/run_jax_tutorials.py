"""Run JAX's MyST tutorials unchanged against fungrad, cell by cell.

Usage::

    python tools/run_jax_tutorials.py /tmp/jaxdocs/docs                 # the default tutorial list
    python tools/run_jax_tutorials.py /tmp/jaxdocs/docs control-flow.md  # chosen files (relative to docs)
    python tools/run_jax_tutorials.py DOCS --json out.json -v            # details of every cell

The docs directory is a checkout of ``jax-ml/jax``'s ``docs/`` (nothing is downloaded here). Each
tutorial runs in its own subprocess, its code cells in order in one namespace, the way Jupyter
would. Only the imports are rewritten (``import jax`` -> ``import fungrad as jax``,
``jax.numpy`` -> ``fungrad.numpy``, ``from jax.X import y`` -> ``from fungrad.X import y``, ...);
IPython magics are emulated (``%timeit``/``%time`` run their statement once, other magics and
``!shell`` lines are dropped). A cell's last expression is ``repr``-ed, as Jupyter displays it.

Each cell is classified:

* ``pass``: ran (or raised, in a cell JAX's docs tag ``raises-exception``);
* ``fail``: raised (the exception is reported), or ran where JAX raises (``no-raise``);
* ``out of scope: <why>``: failed in a cell about devices, sharding, GPU/TPU, ``device_put``,
  profiling, pallas, AOT lowering or JAX internals (such a cell is still tried, and passes if it runs);
* ``skipped``: tagged ``skip-execution`` in the docs (not run by JAX's docs build either).
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import traceback
from typing import Any

DEFAULT_TUTORIALS = [
    "key-concepts.md",
    "automatic-differentiation.md",
    "jit-compilation.md",
    "automatic-vectorization.md",
    "pytrees.md",
    "stateful-computations.md",
    "control-flow.md",
    "random-numbers.md",
    "higher-order.md",
    "jacobian-vector-products.md",
    "complex-differentiation.md",
    "gradient-checkpointing.md",
    "debugging.md",
    "notebooks/thinking_in_jax.md",
    "notebooks/Common_Gotchas_in_JAX.md",
    "notebooks/Custom_derivative_rules_for_Python_code.md",
    "notebooks/autodiff_cookbook.md",
]

# A cell whose source matches one of these is about something fungrad does not model; if it
# fails it is reported as out of scope rather than as a failure.
OUT_OF_SCOPE = [
    ("sharding", r"shard|Mesh\b|make_mesh|PartitionSpec|\bP\(|pmap|psum|axis_name|NamedSharding"),
    ("devices", r"device_put|devices\(|device_get|\.device\b|local_device|default_backend|"
                r"\.devices\b|jax\.Device|addressable|committed|host_callback"),
    ("GPU/TPU", r"\bgpu\b|\btpu\b|cuda|XLA_FLAGS|xla_"),
    ("profiling", r"profiler|trace_annotation|save_device_memory_profile|TraceAnnotation"),
    ("pallas", r"pallas"),
    ("AOT lowering", r"\.lower\(|\.compile\(\)|as_text|compiler_ir|cost_analysis|hlo|stablehlo"),
    ("JAX internals", r"jax\._src|jaxlib|jax\.extend|jax\.interpreters|jax\.core\b"),
]

JAX_MODULE = re.compile(r"^(jax|jaxlib)(\.|$)")


def parse_cells(text: str) -> list[dict[str, Any]]:
    """The ``{code-cell}`` blocks of a MyST notebook: source and tags, in order."""
    cells: list[dict[str, Any]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = re.match(r"^(`{3,})\{code-cell\}", lines[i])
        if not match:
            i += 1
            continue
        fence, i = match.group(1), i + 1
        options: list[str] = []
        if i < len(lines) and lines[i].strip() == "---":  # YAML options block
            i += 1
            while i < len(lines) and lines[i].strip() != "---":
                options.append(lines[i])
                i += 1
            i += 1
        while i < len(lines) and lines[i].startswith(":"):  # short options
            options.append(lines[i][1:])
            i += 1
        body: list[str] = []
        while i < len(lines) and lines[i].rstrip() != fence:
            body.append(lines[i])
            i += 1
        i += 1
        tags = re.findall(r"[\w-]+", " ".join(o.split(":", 1)[1] for o in options
                                               if o.strip().startswith("tags")))
        cells.append({"source": "\n".join(body), "tags": tags, "line": len(cells)})
    return cells


def emulate_magics(source: str) -> str:
    """Replace IPython magics with the plain Python they stand for."""
    lines = source.splitlines()
    if lines and re.match(r"^%%(timeit|time)\b", lines[0]):
        lines = lines[1:]
    out = []
    for line in lines:
        stripped = line.lstrip()
        indent = line[:len(line) - len(stripped)]
        timed = re.match(r"^%(timeit|time)\s+(-\S+\s+)*(.*)$", stripped)
        if timed:
            out.append(indent + timed.group(3))
        elif stripped.startswith(("%", "!")):
            out.append(indent + "pass")
        else:
            out.append(line)
    return "\n".join(out)


def _fungrad_name(module: str) -> str:
    return JAX_MODULE.sub(lambda m: "fungrad" + m.group(2), module)


def _rewrite_import(node: ast.stmt) -> str | None:
    """The fungrad spelling of one import statement of a JAX module, or None to keep it."""
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
            and JAX_MODULE.match(node.module):
        names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in node.names)
        return f"from {_fungrad_name(node.module)} import {names}"
    if isinstance(node, ast.Import) and any(JAX_MODULE.match(a.name) for a in node.names):
        parts = []
        for alias in node.names:
            if not JAX_MODULE.match(alias.name):
                parts.append(alias.name + (f" as {alias.asname}" if alias.asname else ""))
            elif alias.asname:
                parts.append(f"{_fungrad_name(alias.name)} as {alias.asname}")
            elif "." in alias.name:  # `import jax.scipy.special` binds `jax`
                parts.append(f"{_fungrad_name(alias.name)}, fungrad as {alias.name.split('.')[0]}")
            else:
                parts.append(f"fungrad as {alias.name}")
        return "import " + ", ".join(parts)
    return None


def rewrite_imports(source: str) -> str:
    """``source`` with every import of a JAX module turned into the fungrad import."""
    tree = ast.parse(source)
    lines = source.splitlines()
    edits = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            new = _rewrite_import(node)
            if new is not None:
                edits.append((node.lineno, node.col_offset, node.end_lineno, node.end_col_offset, new))
    for line0, col0, line1, col1, new in sorted(edits, reverse=True):
        head, tail = lines[line0 - 1][:col0], lines[line1 - 1][col1:]
        lines[line0 - 1:line1] = [head + new + tail]
    return "\n".join(lines)


class CellTimeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise CellTimeout("cell took longer than the time limit")


def run_cell(source: str, namespace: dict[str, Any]) -> None:
    """Execute like Jupyter: every statement, then ``repr`` of a trailing expression."""
    tree = ast.parse(source)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<cell>", "exec"), namespace)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
        if value is not None:
            repr(value)


def scope_of(source: str) -> str | None:
    for why, pattern in OUT_OF_SCOPE:
        if re.search(pattern, source):
            return why
    return None


def _defined_names(source: str) -> set[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def run_tutorial(path: str, timeout: int) -> list[dict[str, Any]]:
    """Run one tutorial's cells in order in one namespace; one result per cell."""
    with open(path, encoding="utf-8") as f:
        cells = parse_cells(f.read())
    namespace: dict[str, Any] = {"__name__": "__main__"}
    lost: set[str] = set()  # names that failed cells would have defined
    results = []
    signal.signal(signal.SIGALRM, _alarm)
    for index, cell in enumerate(cells):
        result: dict[str, Any] = {"cell": index, "source": cell["source"]}
        results.append(result)
        if "skip-execution" in cell["tags"]:
            result["status"] = "skipped"
            continue
        expect_raise = "raises-exception" in cell["tags"]
        error = None
        try:
            code = rewrite_imports(emulate_magics(cell["source"]))
            signal.alarm(timeout)
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                run_cell(code, namespace)
        except BaseException as e:  # noqa: BLE001 - a cell may raise anything
            if isinstance(e, KeyboardInterrupt):
                raise
            error = e
            result["traceback"] = traceback.format_exc(limit=-4)
        finally:
            signal.alarm(0)
        if error is None:
            result["status"] = "fail" if expect_raise else "pass"
            if expect_raise:
                result["error"] = "no-raise: JAX raises in this cell, fungrad ran it"
            continue
        result["error"] = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
        if expect_raise:
            result["status"] = "pass"
            continue
        why = scope_of(cell["source"])
        if why is not None:
            result["status"] = f"out of scope: {why}"
        else:
            result["status"] = "fail"
            if isinstance(error, NameError) and getattr(error, "name", None) in lost:
                result["error"] += " (cascade: defined by an earlier cell that failed)"
        lost |= _defined_names(cell["source"])
    return results


def summarize(results: list[dict[str, Any]]) -> dict[str, int]:
    counts = {"pass": 0, "fail": 0, "out of scope": 0, "skipped": 0}
    for r in results:
        counts[r["status"].split(":")[0]] += 1
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("docs", help="path to a checkout of jax-ml/jax's docs/ directory")
    parser.add_argument("files", nargs="*", help="tutorials relative to docs (default: a list)")
    parser.add_argument("--json", help="write every cell's result to this file")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every failing cell")
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # run one file in this process
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if args.one:
        sys.path.insert(0, root)
        os.environ.setdefault("MPLBACKEND", "Agg")
        os.chdir(os.path.dirname(os.path.abspath(args.one)))
        print(json.dumps(run_tutorial(os.path.abspath(args.one), args.timeout)))
        return 0
    everything: dict[str, Any] = {}
    totals = {"pass": 0, "fail": 0, "out of scope": 0, "skipped": 0}
    print(f"{'tutorial':55s} {'pass':>5s} {'fail':>5s} {'oos':>5s} {'skip':>5s}")
    for name in args.files or DEFAULT_TUTORIALS:
        path = os.path.join(args.docs, name)
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), args.docs,
                               "--one", path, "--timeout", str(args.timeout)],
                              capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"})
        try:
            results = json.loads(proc.stdout.strip().splitlines()[-1])
        except (json.JSONDecodeError, IndexError):
            print(f"{name}: the runner crashed\n{proc.stderr[-2000:]}")
            continue
        everything[name] = results
        counts = summarize(results)
        for k in totals:
            totals[k] += counts[k]
        print(f"{name:55s} {counts['pass']:5d} {counts['fail']:5d} {counts['out of scope']:5d} "
              f"{counts['skipped']:5d}")
        if args.verbose:
            for r in results:
                if r["status"] != "pass" and r["status"] != "skipped":
                    print(f"    cell {r['cell']:3d} [{r['status']}] {r.get('error', '')}")
    print(f"{'total':55s} {totals['pass']:5d} {totals['fail']:5d} {totals['out of scope']:5d} "
          f"{totals['skipped']:5d}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(everything, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
