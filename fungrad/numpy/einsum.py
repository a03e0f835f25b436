"""``einsum``: subscripts parsed into diagonals, sums, broadcasts and ``dot_general`` calls.

Each operand first loses its repeated labels (diagonals) and the labels nobody else needs
(sums); then operands are contracted left to right, a label shared by the pair becoming a
batch dimension when it is still needed later and a contracted one otherwise. A final
transpose puts the labels in output order. NumPy's ``einsum`` is never called on tracers.

>>> import numpy as np, fungrad.numpy as fnp
>>> fnp.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((3, 4))).shape
(2, 4)
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from fungrad import lax
from fungrad.errors import ShapeError
from fungrad.numpy.keywords import check_out
from fungrad.numpy.linear import diagonal
from fungrad.numpy.promotion import asarray, promote
from fungrad.source_info import at_user_line

Label = int  # ord(letter) for letters; -1, -2, ... for ellipsis dims counted from the right


def _labels(spec: str, ndim: int | None) -> list[Label]:
    """The labels of one operand's subscripts (``ndim`` sizes its ellipsis)."""
    if "..." in spec:
        head, tail = spec.split("...")
        if ndim is None:
            raise ShapeError(f"einsum: '...' in the output needs one in the inputs{at_user_line()}")
        n_ell = ndim - len(head) - len(tail)
        if n_ell < 0:
            raise ShapeError(f"einsum: operand has fewer dimensions than subscripts "
                             f"{spec!r}{at_user_line()}")
        return [ord(c) for c in head] + list(range(-n_ell, 0)) + [ord(c) for c in tail]
    for c in spec:
        if not c.isalpha():
            raise ValueError(f"einsum: invalid subscript {c!r}{at_user_line()}")
    return [ord(c) for c in spec]


def parse(subscripts: str, ndims: Sequence[int]) -> tuple[list[list[Label]], list[Label]]:
    """Input and output label lists of an einsum specification."""
    spec = subscripts.replace(" ", "")
    ins, arrow, out = spec.partition("->")
    in_specs = ins.split(",")
    if len(in_specs) != len(ndims):
        raise ValueError(f"einsum: {len(in_specs)} subscripts for {len(ndims)} operands"
                         f"{at_user_line()}")
    in_labels = [_labels(s, n) for s, n in zip(in_specs, ndims)]
    for labels, n in zip(in_labels, ndims):
        if len(labels) != n:
            raise ShapeError(f"einsum: subscripts {labels and ''.join(chr(c) for c in labels if c > 0)!r} "
                             f"do not match an operand of dimension {n}{at_user_line()}")
    n_ell = max((-min(ls + [0]) for ls in in_labels), default=0)
    if arrow:
        out_labels = _labels(out, len(out.replace("...", "")) + n_ell if "..." in out else None)
    else:
        counts: dict[Label, int] = {}
        for ls in in_labels:
            for c in ls:
                counts[c] = counts.get(c, 0) + 1
        out_labels = list(range(-n_ell, 0)) + sorted(c for c, k in counts.items()
                                                     if k == 1 and c > 0)
    if len(set(out_labels)) != len(out_labels):
        raise ValueError(f"einsum: output subscript repeated in {out!r}{at_user_line()}")
    known = {c for ls in in_labels for c in ls}
    for c in out_labels:
        if c not in known:
            raise ValueError(f"einsum: output subscript {chr(c)!r} does not appear in the inputs"
                             f"{at_user_line()}")
    return in_labels, out_labels


def _sizes(ops: Sequence[Any], in_labels: Sequence[list[Label]]) -> dict[Label, int]:
    sizes: dict[Label, int] = {}
    for x, labels in zip(ops, in_labels):
        for c, n in zip(labels, x.shape):
            m = sizes.get(c, 1)
            if n != 1 and m != 1 and n != m:
                raise ShapeError(f"einsum: size of label {chr(c) if c > 0 else '...'!r} "
                                 f"differs between operands ({m} vs {n}){at_user_line()}")
            sizes[c] = m if n == 1 else n  # not max(): a size-0 axis broadcasts to 0
    return sizes


def _prepare(x: Any, labels: list[Label], keep: set[Label],
             sizes: dict[Label, int]) -> tuple[Any, list[Label]]:
    """Take diagonals of repeated labels, sum labels not in ``keep``, broadcast size-1 dims."""
    labels = list(labels)
    for c in list(dict.fromkeys(labels)):
        while labels.count(c) > 1:
            i = labels.index(c)
            j = labels.index(c, i + 1)
            x = diagonal(x, 0, i, j)
            labels = [d for k, d in enumerate(labels) if k not in (i, j)] + [c]
    drop = tuple(i for i, c in enumerate(labels) if c not in keep)
    if drop:
        x = lax.reduce_sum(x, drop)
        labels = [c for i, c in enumerate(labels) if i not in drop]
    target = tuple(sizes[c] for c in labels)
    if tuple(x.shape) != target:
        x = lax.broadcast_in_dim(x, target, tuple(range(len(labels))))
    return x, labels


def einsum(subscripts: Any, *operands: Any, optimize: Any = None, precision: Any = None,
           preferred_element_type: Any = None, out: None = None) -> Any:
    """Einstein summation over the labelled axes of ``operands`` (``"ij,jk->ik"``...), or in
    NumPy's interleaved form ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` (integer labels,
    ``...`` allowed).

    >>> import fungrad.numpy as fnp
    >>> fnp.einsum(np.ones((2, 3)), [0, 1], np.ones((3, 4)), [1, 2], [0, 2]).shape
    (2, 4)
    """
    check_out("einsum", out)
    if not isinstance(subscripts, str):
        subscripts, operands = _from_sublists((subscripts, *operands))
    ops = promote(*[asarray(o) for o in operands])
    in_labels, out_labels = parse(subscripts, [o.ndim for o in ops])
    sizes = _sizes(ops, in_labels)
    needed_after = [set(out_labels).union(*in_labels[i + 1:]) for i in range(len(ops))]
    cur, cur_labels = _prepare(ops[0], in_labels[0], needed_after[0], sizes)
    for i in range(1, len(ops)):
        later = needed_after[i]
        nxt, nxt_labels = _prepare(ops[i], in_labels[i], later | set(cur_labels), sizes)
        cur_only = [c for c in cur_labels if c not in nxt_labels and c not in later]
        if cur_only:
            cur, cur_labels = _prepare(cur, cur_labels, set(cur_labels) - set(cur_only), sizes)
        shared = [c for c in cur_labels if c in nxt_labels]
        batch = [c for c in shared if c in later]
        contract = [c for c in shared if c not in later]
        dims = ((tuple(cur_labels.index(c) for c in contract),
                 tuple(nxt_labels.index(c) for c in contract)),
                (tuple(cur_labels.index(c) for c in batch),
                 tuple(nxt_labels.index(c) for c in batch)))
        cur = lax.dot_general(cur, nxt, dims)
        cur_labels = batch + [c for c in cur_labels if c not in shared] + \
            [c for c in nxt_labels if c not in shared]
    cur, cur_labels = _prepare(cur, cur_labels, set(out_labels), sizes)
    return lax.transpose(cur, tuple(cur_labels.index(c) for c in out_labels))


def _from_sublists(args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """The subscripts string and operands of the interleaved form (operand, sublist)...[out]."""
    def letters(sub: Any) -> str:
        out = []
        for label in sub:
            if label is Ellipsis:
                out.append("...")
            elif isinstance(label, (int, np.integer)) and 0 <= label < 52:
                out.append("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[int(label)])
            else:
                raise ValueError(f"einsum: sublist labels must be integers in [0, 52) or ..., "
                                 f"got {label!r}")
        return "".join(out)
    pairs = len(args) // 2
    operands = tuple(args[0:2 * pairs:2])
    subscripts = ",".join(letters(sub) for sub in args[1:2 * pairs:2])
    if len(args) % 2:
        subscripts += "->" + letters(args[-1])
    return subscripts, operands
