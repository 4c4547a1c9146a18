"""New arrays with their pages mapped at once (Linux)."""

import resource
import sys

import numpy as np
import pytest

from napari_segkit.methods import _pages


def _faults_while_writing(array: np.ndarray) -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    array[...] = 1
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="MADV_POPULATE_WRITE is Linux's")
def test_empty_maps_its_pages_before_they_are_written(monkeypatch):
    """64 MiB (above glibc's largest heap allocation, so fresh pages every time): written
    after ``empty`` it faults (almost) never; without the populate, once per page, huge or
    small (the control that shows the count can see it)."""
    shape = (4096, 4096, 4)  # 64 MiB of uint8
    if _pages._compiled_populate()(np.empty(1 << 20, np.uint8)) != 0:
        pytest.skip("this kernel refuses MADV_POPULATE_WRITE (Linux < 5.14)")
    assert _faults_while_writing(_pages.empty(shape, np.uint8)) <= 2
    monkeypatch.setattr(_pages, "_LINUX", False)
    plain = _pages.empty(shape, np.uint8)
    assert _faults_while_writing(plain) >= 16


def test_empty_is_a_plain_new_array_of_the_shape_and_type():
    """Small and large, any dtype and layout of shape: an array of its own, writable."""
    for shape, dtype in (((3, 5), np.float64), ((700, 513), bool), ((2, 300, 300), np.int32)):
        out = _pages.empty(shape, dtype)
        assert out.shape == shape and out.dtype == dtype and out.flags.owndata
        out[...] = 1
        assert (out == 1).all()
