"""Shared by the benchmark scripts: best wall time of several runs and peak traced memory."""

import time
import tracemalloc


def measure_call(fn, repeat):
    """(best seconds of ``repeat`` runs, peak bytes traced during one more run)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak
