#!/usr/bin/env python
"""The README's benchmark table, generated from ``bench/run.py --json`` results.

    python bench/run.py --peers --json run1.json   # one or more full runs, on a quiet machine
    python bench/readme_table.py run1.json [run2.json ...] > table.md

One table row per fungrad row of each case: the hand-written NumPy median, fungrad's median and
ratio (implementation / NumPy, from the same run), and each peer's ratio for the same variant
(``.jit`` or eager; a peer without it shows its own row, marked ``*``). With several runs each
figure is the range over the runs, so the figures cannot drift from what was measured.
"""
import json
import sys


def fmt_time(seconds):
    a = abs(seconds)
    if a < 1e-3:
        return f"{seconds * 1e6:.3g} us"
    if a < 1.0:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


def fmt_value(value, kind):
    return f"{value / 2**20:.3g} MB" if kind == "mem" else fmt_time(value)


def span(values, fmt):
    """``a`` or ``a-b`` over the runs (the text of the smallest and largest)."""
    lo, hi = fmt(min(values)), fmt(max(values))
    if lo == hi:
        return lo
    same_unit = lo.split(" ")[1:] == hi.split(" ")[1:]
    return f"{lo.split(' ')[0]}-{hi}" if same_unit else f"{lo} - {hi}"


def ratio(x):
    return f"{x:.3g}x"


def owner(impl):
    return impl[len("import "):] if impl.startswith("import ") else impl.replace(".", " ").split()[0]


def load(paths):
    """case name -> (title, {impl: [row per run]}), in the order of the first run."""
    cases = {}
    for path in paths:
        with open(path) as f:
            for g in json.load(f)["groups"]:
                title, rows = cases.setdefault(g["name"], (g["title"], {}))
                for r in g["rows"]:
                    rows.setdefault(r["impl"], []).append(r)
    return cases


def measured(rows):
    return [r for r in rows if r.get("value") is not None and not r.get("error")]


def table(paths):
    cases = load(paths)
    peers = sorted({owner(impl) for _, rows in cases.values() for impl in rows}
                   - {"fungrad", "numpy", "python"})
    lines = ["| case | NumPy | fungrad | ratio | " + " | ".join(peers) + " |" if peers
             else "| case | NumPy | fungrad | ratio |",
             "|---" * (4 + len(peers)) + "|"]
    for name, (title, rows) in cases.items():
        base_runs = [r for impl, rs in rows.items() for r in measured(rs) if r.get("baseline")]
        base_by_run = base_runs
        for impl, rs in rows.items():
            if owner(impl) != "fungrad":
                continue
            ok = measured(rs)
            if not ok:
                cells = [rs[0].get("error") or "-"]
                lines.append(f"| {title} ({impl}) | - | {cells[0]} | - |" + " - |" * len(peers))
                continue
            kind = ok[0].get("kind", "time")
            base = span([b["value"] for b in base_by_run], lambda v: fmt_value(v, kind)) \
                if base_by_run else "-"
            ratios = [r["value"] / b["value"] for r, b in zip(ok, base_by_run)] if base_by_run else []
            cells = [f"{title} ({impl})", base, span([r["value"] for r in ok],
                                                     lambda v: fmt_value(v, kind)),
                     span(ratios, ratio) if ratios else "-"]
            suffix = impl[len("fungrad"):]
            for p in peers:
                candidates = [i for i in rows if owner(i) == p]
                match = [i for i in candidates if i.endswith(suffix)]
                mark = "" if match else "*"
                chosen = (match or candidates)[:1]
                peer_ok = measured(rows[chosen[0]]) if chosen else []
                if not peer_ok or not base_by_run:
                    cells.append("-")
                    continue
                cells.append(span([r["value"] / b["value"] for r, b in zip(peer_ok, base_by_run)],
                                  ratio) + mark)
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    paths = (argv if argv is not None else sys.argv[1:])
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    print(table(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
