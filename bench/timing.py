"""Median timing with warm-up, auto-chosen inner loops and an IQR.

One *sample* times ``loops`` back-to-back calls; ``loops`` is chosen so that one
sample lasts at least ``target`` seconds, which keeps timer resolution and
per-sample noise out of the per-call figure.  The garbage collector is off
while a sample runs (as in ``timeit``) and a full collection runs before each
measurement.
"""
import gc
import math
import statistics
import subprocess
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    target: float = 0.02      # seconds one sample should last at least
    repeat: int = 15          # samples per measurement
    warmup: int = 3           # untimed calls before calibrating
    max_time: float = 6.0     # stop sampling once this much time is spent (>= 3 samples)


FULL = Settings()
QUICK = Settings(target=0.005, repeat=5, warmup=1, max_time=1.0)


@dataclass(frozen=True)
class Timing:
    median: float   # seconds per call
    q1: float
    q3: float
    loops: int      # calls per sample
    samples: int

    @property
    def iqr(self):
        return self.q3 - self.q1


def quartiles(xs):
    xs = sorted(xs)
    if len(xs) < 2:
        return xs[0], xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], q[1], q[2]


# The clock of a sample: wall time, or with ``--cpu-time`` the CPU time of the whole process (all
# its threads), which a machine shared with other jobs inflates far less than wall time.
clock = time.perf_counter


def _sample(fn, loops):
    t0 = clock()
    for _ in range(loops):
        fn()
    return clock() - t0


def measure(fn, settings=FULL):
    """Time ``fn()``; return a Timing whose figures are seconds per call.

    A slow ``fn`` (one call longer than a third of ``settings.max_time``) gets a
    single warm-up call and as few samples as fit in ``max_time`` (at least one).
    """
    return measure_interleaved([fn], settings)[0]


def _calibrate(fn, settings):
    """Warm ``fn`` up; return (loops per sample, seconds of the first call)."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    for _ in range(settings.warmup - 1):
        if time.perf_counter() - t0 > settings.max_time / 4:
            break
        fn()
    loops, t = 1, _sample(fn, 1)
    while t < settings.target:
        loops = max(loops * 2, math.ceil(loops * 1.2 * settings.target / max(t, 1e-9)))
        t = _sample(fn, loops)
    return loops, max(first, t / loops)


def measure_interleaved(fns, settings=FULL):
    """Time several functions in alternate blocks: one sample of each in turn (the order reversed
    every round), so that the drift of a loaded machine hits them all alike. Returns one Timing
    per function; the time budget is ``settings.max_time`` per function."""
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        plans = [_calibrate(fn, settings) for fn in fns]
        samples = [[] for _ in fns]
        budget = settings.max_time * len(fns)
        slowest = max(loops * per for loops, per in plans)
        min_samples = 3 if 3 * slowest * len(fns) <= budget else 1
        start = time.perf_counter()
        order = list(range(len(fns)))
        while len(samples[0]) < settings.repeat:
            if len(samples[0]) >= min_samples and time.perf_counter() - start > budget:
                break
            for i in order:
                samples[i].append(_sample(fns[i], plans[i][0]) / plans[i][0])
            order.reverse()
    finally:
        if enabled:
            gc.enable()
    out = []
    for (loops, _), per_call in zip(plans, samples):
        q1, med, q3 = quartiles(per_call)
        out.append(Timing(med, q1, q3, loops, len(per_call)))
    return out


class SubprocessError(RuntimeError):
    """A benchmark subprocess failed; the message is the last line of its stderr."""


def run_subprocess(argv, cwd=None, env=None, timeout=600):
    """(wall seconds, stdout) of one run; raises SubprocessError on failure."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SubprocessError(f"timed out after {timeout} s") from None
    dt = time.perf_counter() - t0
    if p.returncode != 0:
        raise SubprocessError(last_line(p.stderr) or f"exit code {p.returncode}")
    return dt, p.stdout


def subprocess_times(commands, n, cwd=None, env=None):
    """Wall times of each command, the commands interleaved, ``n`` rounds.

    ``commands`` maps a label to an argv.  Returns label -> list of seconds, or
    label -> SubprocessError for a command that failed (it is not run again).
    """
    out = {label: [] for label in commands}
    for _ in range(n):
        for label, argv in commands.items():
            if isinstance(out[label], Exception):
                continue
            try:
                out[label].append(run_subprocess(argv, cwd=cwd, env=env)[0])
            except SubprocessError as e:
                out[label] = e
    return out


def last_line(text):
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def fmt_time(seconds):
    if seconds is None or seconds != seconds:
        return "-"
    a = abs(seconds)
    if a < 1e-5:
        return f"{seconds * 1e6:.2f} us"
    if a < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if a < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"
