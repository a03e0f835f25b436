"""Print the numerical configuration the timings depend on.

Usage: ``python bench/blas_info.py`` (also printed at the top of ``run.py``).
"""
import os
import platform
import sys

ENV_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
            "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def numpy_blas():
    """(name, version, config string) of numpy's BLAS from np.show_config."""
    import numpy as np
    try:
        deps = np.show_config(mode="dicts")["Build Dependencies"]
        blas = deps.get("blas", {})
        return blas.get("name", "?"), blas.get("version", "?"), blas.get("openblas configuration", "")
    except Exception as e:  # older numpy without mode="dicts"
        return f"unknown ({type(e).__name__})", "?", ""


def threadpools():
    try:
        import threadpoolctl
    except ImportError:
        return None
    return threadpoolctl.threadpool_info()


def lines():
    import numpy as np
    name, version, config = numpy_blas()
    out = [f"python {platform.python_version()} ({sys.executable}), {os.cpu_count()} cpus: {cpu_model()}",
           f"numpy {np.__version__}; BLAS {name} {version}" + (f" [{config.strip()}]" if config else "")]
    out.append("env: " + ", ".join(f"{k}={os.environ.get(k, '(unset)')}" for k in ENV_VARS))
    pools = threadpools()
    if pools is None:
        out.append("threadpoolctl: not installed")
    else:
        for p in pools:
            out.append(f"threadpool: {p.get('internal_api')} {p.get('version')} threads={p.get('num_threads')} "
                       f"arch={p.get('architecture', '?')} ({os.path.basename(p.get('filepath', ''))})")
    if os.environ.get("OPENBLAS_CORETYPE") or os.environ.get("OPENBLAS_L2_SIZE"):
        out.append("note: OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are set and may select a slower kernel; for "
                   "benchmarking run `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/run.py` "
                   "and check the arch above")
    return out


def main():
    print("\n".join(lines()))


if __name__ == "__main__":
    main()
