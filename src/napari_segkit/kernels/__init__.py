"""CUDA kernels for CuPy arrays, each with a NumPy twin that defines its result.

Every ``<name>.cu`` here is compiled once per process by NVRTC through
:class:`cupy.RawModule` (CI also compiles it with nvcc for sm_80 and sm_90 and fails on any
warning, so a broken kernel cannot land on a machine without a GPU). Every ``<name>.py``
runs its kernels (named in its ``KERNELS``) on CuPy arrays and its twin on NumPy arrays. The
host-side driver (iterations, convergence checks, relabelling) is one piece of code written against
the array module, so the CPU tests exercise it too.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path

SOURCES = Path(__file__).parent
THREADS = 256


def sources() -> list[Path]:
    """The CUDA sources shipped with the package."""
    return sorted(SOURCES.glob("*.cu"))


@functools.cache
def _module(name: str):
    cupy = importlib.import_module("cupy")
    code = (SOURCES / f"{name}.cu").read_text()
    return cupy.RawModule(code=code, options=("--std=c++17",))


def kernel(name: str, function: str):
    """The compiled ``function`` of ``<name>.cu`` (built on first use, then cached)."""
    return _module(name).get_function(function)


def shifted(step, shape) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
    """(here, there): the slices of the voxels that have a neighbour at offset ``step``
    inside ``shape``, and of those neighbours (for the NumPy twins)."""
    here = tuple(slice(max(0, -s), n - max(0, s)) for s, n in zip(step, shape))
    there = tuple(slice(max(0, s), n - max(0, -s)) for s, n in zip(step, shape))
    return here, there


def grid(count: int, threads: int = THREADS) -> tuple[int]:
    """Blocks of ``threads`` that cover ``count`` items."""
    return (max(1, -(-count // threads)),)


CHECK_EVERY = 16  # automaton steps between convergence checks


def until_stable(step, state: tuple, xp) -> tuple:
    """Run ``step(state, spare, changed)`` (it writes the next state into ``spare`` and sets
    ``changed[0]`` when anything changed) until a run of :data:`CHECK_EVERY` steps changes
    nothing; the flag is read once per run, the only host synchronisation. Returns the
    final state."""
    spare = tuple(xp.empty_like(a) for a in state)
    changed = xp.zeros(1, xp.int32)
    done = 0
    while True:
        step(state, spare, changed)
        state, spare = spare, state
        done += 1
        if done % CHECK_EVERY == 0:
            if not int(changed[0]):
                return state
            changed[0] = 0
