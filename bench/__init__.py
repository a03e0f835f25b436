"""fungrad benchmarks: fungrad against hand-written NumPy (and optional peers).

Run ``python bench/run.py --help``.  Nothing here is imported by fungrad itself.
"""
