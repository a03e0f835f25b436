"""Splitting a long generated function into chunks, each a function of its own.

Python compiles one function as a whole: the memory its compiler needs grows with the function
(about 5 kB per statement, 300 MB for 60,000 statements) and so does the time per statement. A
program longer than ``CHUNK_LINES`` lines is therefore emitted as a sequence of chunk functions,
each compiled on its own, that the entry function calls in order.

Values that cross a chunk boundary travel in one list of slots, ``s``: a chunk loads the values
it reads from earlier chunks (clearing the slot at the last chunk that reads it, so the buffer is
freed where the single function would have deleted it) and stores, at its end, the values it
defines that later chunks read. A value that only passes through a chunk is not touched there.
The statements themselves are exactly those of the single function.

>>> stmts = [Statement([f"v{i + 1} = g0(v{i})", f"del v{i}"], [f"v{i}"], [f"v{i + 1}"])
...          for i in range(4)]
>>> ret = Statement(["return (v4,)"], ["v4"], [])
>>> print("\\n".join("\\n".join(f) for f in chunked("jitted", ["v0"], stmts, ret, 4)))
def jitted(v0):
    s = [v0]
    f_0(s)
    return f_1(s)
def f_0(s):
    v0 = s[0]
    s[0] = None
    v1 = g0(v0)
    del v0
    v2 = g0(v1)
    del v1
    s[0] = v2
def f_1(s):
    v2 = s[0]
    s[0] = None
    v3 = g0(v2)
    del v2
    v4 = g0(v3)
    del v3
    return (v4,)
"""
from __future__ import annotations

from typing import Sequence

# A generated function longer than this many lines is split into chunks of about this many.
CHUNK_LINES = 500


class Statement:
    """The lines of one equation, the names they read and the names they bind."""

    __slots__ = ("lines", "reads", "writes")

    def __init__(self, lines: list[str], reads: Sequence[str], writes: Sequence[str]) -> None:
        self.lines = lines
        self.reads = reads
        self.writes = writes


def _indent(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines]


def chunked(name: str, params: Sequence[str], stmts: Sequence[Statement], ret: Statement,
            chunk_lines: int | None = None) -> list[list[str]]:
    """The function ``name(*params)`` running ``stmts`` then ``ret`` (its return statement), as
    a list of functions' lines: one function when short, else an entry function and its chunks
    (named ``f_0``, ``f_1``...). Names read but never bound (by ``params`` or a statement) are
    globals. ``chunk_lines`` defaults to ``CHUNK_LINES``."""
    limit = CHUNK_LINES if chunk_lines is None else chunk_lines
    groups: list[list[Statement]] = [[]]
    count = 0
    for st in stmts:
        if count >= limit:
            groups.append([])
            count = 0
        groups[-1].append(st)
        count += len(st.lines)
    if len(groups) == 1:
        body = [line for st in stmts for line in st.lines] + ret.lines
        return [[f"def {name}({', '.join(params)}):"] + _indent(body)]
    return _split(name, params, groups, ret)


def _split(name: str, params: Sequence[str], groups: list[list[Statement]],
           ret: Statement) -> list[list[str]]:
    last_chunk = len(groups) - 1
    # Where each local name is read last (its chunk), and what each chunk reads and binds.
    reads_of: list[dict[str, None]] = []
    writes_of: list[dict[str, None]] = []
    last_read: dict[str, int] = {}
    for k, group in enumerate(groups):
        reads: dict[str, None] = {}
        writes: dict[str, None] = {}
        for st in group:
            for r in st.reads:
                if r not in writes:
                    reads[r] = None
                last_read[r] = k
            writes.update(dict.fromkeys(st.writes))
        reads_of.append(reads)
        writes_of.append(writes)
    # The return statement reads the outputs (those bound in the last chunk are local there).
    for r in ret.reads:
        last_read[r] = last_chunk
        if r not in writes_of[-1]:
            reads_of[-1][r] = None

    slot: dict[str, int] = {p: i for i, p in enumerate(params)}
    free: list[int] = []
    size = len(params)
    functions: list[list[str]] = []
    for k, group in enumerate(groups):
        head: list[str] = []
        for r in reads_of[k]:
            i = slot.get(r)
            if i is None:
                continue   # a global (constant, literal, function), never bound by a chunk
            head.append(f"{r} = s[{i}]")
            if last_read[r] == k:
                head.append(f"s[{i}] = None")
                del slot[r]
                free.append(i)
        tail: list[str] = []
        for w in writes_of[k]:
            if last_read.get(w, -1) > k:
                i = slot.get(w)
                if i is None:
                    if free:
                        i = free.pop()
                    else:
                        i, size = size, size + 1
                    slot[w] = i
                tail.append(f"s[{i}] = {w}")
        body = head + [line for st in group for line in st.lines] + tail
        if k == last_chunk:
            body += ret.lines
        functions.append([f"def f_{k}(s):"] + _indent(body or ["pass"]))
    entry = [f"s = [{', '.join(params)}]" + (f" + [None] * {size - len(params)}"
                                             if size > len(params) else "")]
    entry += [f"f_{k}(s)" for k in range(last_chunk)] + [f"return f_{last_chunk}(s)"]
    return [[f"def {name}({', '.join(params)}):"] + _indent(entry)] + functions

