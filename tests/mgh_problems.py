"""The 18 least-squares problems of MINPACK's lmder test driver, written from the literature.

Source: J. J. Moré, B. S. Garbow, K. E. Hillstrom, "Testing unconstrained optimization software",
ACM TOMS 7(1), 17-41 (1981), section 3 (problem numbers here are MINPACK's driver numbers, in
brackets the paper's): each residual vector as the paper defines it, written in ``fungrad.numpy``,
with its standard start. The runs (which sizes, which multiples 1, 10, 100 of the start) are
MINPACK's driver's, listed in ``tests/data/mgh_lmder_reference.txt``. As in MINPACK's driver the
Watson start is zero, so its 10x and 100x starts are the constant vectors 10 and 100.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

import fungrad.numpy as fnp

Residual = Callable[[Any], Any]

BARD_Y = np.array([0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96, 1.34, 2.10,
                   4.39])
KOWALIK_Y = np.array([0.1957, 0.1947, 0.1735, 0.1600, 0.0844, 0.0627, 0.0456, 0.0342, 0.0323, 0.0235,
                      0.0246])
KOWALIK_U = np.array([4.0, 2.0, 1.0, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714, 0.0625])
MEYER_Y = np.array([34780.0, 28610.0, 23650.0, 19630.0, 16370.0, 13720.0, 11540.0, 9744.0, 8261.0,
                    7030.0, 6005.0, 5147.0, 4427.0, 3820.0, 3307.0, 2872.0])
OSBORNE1_Y = np.array([0.844, 0.908, 0.932, 0.936, 0.925, 0.908, 0.881, 0.850, 0.818, 0.784, 0.751,
                       0.718, 0.685, 0.658, 0.628, 0.603, 0.580, 0.558, 0.538, 0.522, 0.506, 0.490,
                       0.478, 0.467, 0.457, 0.448, 0.438, 0.431, 0.424, 0.420, 0.414, 0.411, 0.406])
OSBORNE2_Y = np.array([1.366, 1.191, 1.112, 1.013, 0.991, 0.885, 0.831, 0.847, 0.786, 0.725, 0.746,
                       0.679, 0.608, 0.655, 0.616, 0.606, 0.602, 0.626, 0.651, 0.724, 0.649, 0.649,
                       0.694, 0.644, 0.624, 0.661, 0.612, 0.558, 0.533, 0.495, 0.500, 0.423, 0.395,
                       0.375, 0.372, 0.391, 0.396, 0.405, 0.428, 0.429, 0.523, 0.562, 0.607, 0.653,
                       0.672, 0.708, 0.633, 0.668, 0.645, 0.632, 0.591, 0.559, 0.597, 0.625, 0.739,
                       0.710, 0.729, 0.720, 0.636, 0.581, 0.428, 0.292, 0.162, 0.098, 0.054])


def linear_full_rank(m: int, n: int) -> Residual:          # 1 [32]
    def f(x: Any) -> Any:
        s = 2.0 * fnp.sum(x) / m + 1.0
        return fnp.concatenate([x - s, fnp.full((m - n,), -1.0) * s])
    return f


def linear_rank1(m: int, n: int) -> Residual:              # 2 [33]
    i = np.arange(1.0, m + 1)
    j = np.arange(1.0, n + 1)
    return lambda x: i * fnp.sum(j * x) - 1.0


def linear_rank1_zero(m: int, n: int) -> Residual:         # 3 [34]
    i = np.concatenate([[0.0], np.arange(1.0, m - 1), [0.0]])
    j = np.concatenate([[0.0], np.arange(2.0, n), [0.0]])
    return lambda x: i * fnp.sum(j * x) - 1.0


def rosenbrock(m: int, n: int) -> Residual:                # 4 [1]
    return lambda x: fnp.stack([10.0 * (x[1] - x[0] ** 2), 1.0 - x[0]])


def helical_valley(m: int, n: int) -> Residual:            # 5 [7]
    def f(x: Any) -> Any:
        x1, x2, x3 = x[0], x[1], x[2]
        at = fnp.arctan(x2 / fnp.where(x1 == 0.0, 1.0, x1)) / (2.0 * np.pi)
        theta = fnp.where(x1 > 0.0, at, fnp.where(x1 < 0.0, at + 0.5, 0.25 * fnp.sign(x2)))
        return fnp.stack([10.0 * (x3 - 10.0 * theta), 10.0 * (fnp.sqrt(x1 ** 2 + x2 ** 2) - 1.0), x3])
    return f


def powell_singular(m: int, n: int) -> Residual:           # 6 [13]
    return lambda x: fnp.stack([x[0] + 10.0 * x[1], np.sqrt(5.0) * (x[2] - x[3]),
                                (x[1] - 2.0 * x[2]) ** 2, np.sqrt(10.0) * (x[0] - x[3]) ** 2])


def freudenstein_roth(m: int, n: int) -> Residual:         # 7 [2]
    return lambda x: fnp.stack([-13.0 + x[0] + ((5.0 - x[1]) * x[1] - 2.0) * x[1],
                                -29.0 + x[0] + ((x[1] + 1.0) * x[1] - 14.0) * x[1]])


def bard(m: int, n: int) -> Residual:                      # 8 [8]
    u = np.arange(1.0, 16.0)
    v = 16.0 - u
    w = np.minimum(u, v)
    return lambda x: BARD_Y - (x[0] + u / (v * x[1] + w * x[2]))


def kowalik_osborne(m: int, n: int) -> Residual:           # 9 [15]
    u = KOWALIK_U
    return lambda x: KOWALIK_Y - x[0] * (u ** 2 + u * x[1]) / (u ** 2 + u * x[2] + x[3])


def meyer(m: int, n: int) -> Residual:                     # 10 [10]
    t = 45.0 + 5.0 * np.arange(1.0, 17.0)
    return lambda x: x[0] * fnp.exp(x[1] / (t + x[2])) - MEYER_Y


def watson(m: int, n: int) -> Residual:                    # 11 [20]
    t = np.arange(1.0, 30.0) / 29.0
    powers = t[:, None] ** np.arange(n)                              # t^(j-1), j = 1..n
    slopes = np.arange(1.0, n) * t[:, None] ** np.arange(n - 1)      # (j-1) t^(j-2), j = 2..n

    def f(x: Any) -> Any:
        s1 = slopes @ x[1:]
        s2 = powers @ x
        return fnp.concatenate([s1 - s2 ** 2 - 1.0, fnp.stack([x[0], x[1] - x[0] ** 2 - 1.0])])
    return f


def box3d(m: int, n: int) -> Residual:                     # 12 [12]
    t = 0.1 * np.arange(1.0, m + 1)
    return lambda x: (fnp.exp(-t * x[0]) - fnp.exp(-t * x[1])
                      - x[2] * (np.exp(-t) - np.exp(-10.0 * t)))


def jennrich_sampson(m: int, n: int) -> Residual:          # 13 [6]
    i = np.arange(1.0, m + 1)
    return lambda x: 2.0 + 2.0 * i - (fnp.exp(i * x[0]) + fnp.exp(i * x[1]))


def brown_dennis(m: int, n: int) -> Residual:              # 14 [16]
    t = np.arange(1.0, m + 1) / 5.0
    return lambda x: ((x[0] + t * x[1] - np.exp(t)) ** 2
                      + (x[2] + x[3] * np.sin(t) - np.cos(t)) ** 2)


def chebyquad(m: int, n: int) -> Residual:                 # 15 [35]
    i = np.arange(1, m + 1)
    integral = np.where(i % 2 == 0, -1.0 / (i.astype(float) ** 2 - 1.0 + (i % 2)), 0.0)

    def f(x: Any) -> Any:
        y = 2.0 * x - 1.0
        previous, current = fnp.ones_like(y), y
        rows = []
        for _ in range(m):                       # shifted Chebyshev T_1 .. T_m at every x_j
            rows.append(fnp.mean(current))
            previous, current = current, 2.0 * y * current - previous
        return fnp.stack(rows) - integral
    return f


def brown_almost_linear(m: int, n: int) -> Residual:       # 16 [27]
    def f(x: Any) -> Any:
        head = x[:-1] + fnp.sum(x) - (n + 1.0)
        return fnp.concatenate([head, fnp.reshape(fnp.prod(x) - 1.0, (1,))])
    return f


def osborne1(m: int, n: int) -> Residual:                  # 17 [17]
    t = 10.0 * np.arange(33.0)
    return lambda x: OSBORNE1_Y - (x[0] + x[1] * fnp.exp(-t * x[3]) + x[2] * fnp.exp(-t * x[4]))


def osborne2(m: int, n: int) -> Residual:                  # 18 [19]
    t = np.arange(65.0) / 10.0

    def f(x: Any) -> Any:
        model = (x[0] * fnp.exp(-t * x[4]) + x[1] * fnp.exp(-(t - x[8]) ** 2 * x[5])
                 + x[2] * fnp.exp(-(t - x[9]) ** 2 * x[6]) + x[3] * fnp.exp(-(t - x[10]) ** 2 * x[7]))
        return OSBORNE2_Y - model
    return f


PROBLEMS: dict[int, Callable[[int, int], Residual]] = {
    1: linear_full_rank, 2: linear_rank1, 3: linear_rank1_zero, 4: rosenbrock, 5: helical_valley,
    6: powell_singular, 7: freudenstein_roth, 8: bard, 9: kowalik_osborne, 10: meyer, 11: watson,
    12: box3d, 13: jennrich_sampson, 14: brown_dennis, 15: chebyquad, 16: brown_almost_linear,
    17: osborne1, 18: osborne2,
}


def standard_start(nprob: int, n: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    """The paper's standard starting point of problem ``nprob`` with ``n`` variables."""
    fixed = {4: [-1.2, 1.0], 5: [-1.0, 0.0, 0.0], 6: [3.0, -1.0, 0.0, 1.0], 7: [0.5, -2.0],
             8: [1.0, 1.0, 1.0], 9: [0.25, 0.39, 0.415, 0.39], 10: [0.02, 4000.0, 250.0],
             12: [0.0, 10.0, 20.0], 13: [0.3, 0.4], 14: [25.0, 5.0, -5.0, -1.0],
             17: [0.5, 1.5, -1.0, 0.01, 0.02],
             18: [1.3, 0.65, 0.65, 0.7, 0.6, 3.0, 5.0, 7.0, 2.0, 4.5, 5.5]}
    if nprob in fixed:
        return np.array(fixed[nprob])
    if nprob == 11:
        return np.zeros(n)
    if nprob == 15:
        return np.arange(1.0, n + 1) / (n + 1)
    if nprob == 16:
        return np.full(n, 0.5)
    return np.ones(n)                                   # problems 1, 2, 3


def start(nprob: int, n: int, factor: float) -> np.ndarray[Any, np.dtype[np.float64]]:
    """MINPACK's driver's start: ``factor`` times the standard one (Watson: the constant ``factor``
    when ``factor != 1``, its standard start being zero)."""
    x = standard_start(nprob, n)
    if factor == 1.0:
        return x
    return np.full(n, float(factor)) if nprob == 11 else factor * x
