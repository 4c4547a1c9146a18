"""Shared test set-up: GUI tests need a display, and under CI they must never be skipped."""

from __future__ import annotations

import importlib.util
import os

import pytest

from napari_segkit import backend

#: fixtures that open Qt widgets or a napari viewer: tests using them are "gui" tests
GUI_FIXTURES = {"make_napari_viewer", "make_napari_viewer_proxy", "qtbot"}


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marker
def pytest_collection_modifyitems(config, items):
    for item in items:
        if GUI_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.gui)
    if os.environ.get("DISPLAY"):
        return  # a real display, or the Xvfb that pytest-xvfb started
    skip = pytest.mark.skip(
        reason="no display: install Xvfb (apt-get install xvfb) and pytest-xvfb starts one"
    )
    for item in items:
        if "gui" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI (CI set) a skipped GUI test is a failure: it must run, not vanish."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and "gui" in item.keywords and os.environ.get("CI"):
        report.outcome = "failed"
        report.longrepr = f"GUI test skipped under CI, which must run it: {report.longrepr}"


@pytest.fixture(autouse=True)
def _fresh_gpu_probe():
    """Each test sees the real GPU state, not one a previous test faked."""
    backend.reset_gpu_status()
    yield
    backend.reset_gpu_status()


@pytest.fixture(autouse=True)
def _no_reader_offer(monkeypatch):
    """Panels do not offer the reader preference (nor write its marker in the home folder);
    tests/test_manifest.py tests the offer."""
    try:
        from napari_segkit.widgets import _reader_offer
    except ImportError:  # no napari
        return
    monkeypatch.setattr(_reader_offer, "_offered_this_session", True)


def has_gpu() -> bool:
    try:
        import cupy

        return bool(cupy.cuda.is_available())
    except Exception:
        return False


def gpu(test):
    """Mark ``test`` as a GPU test (``pytest -m gpu`` selects it), skipped without a GPU."""
    skip = pytest.mark.skipif(not has_gpu(), reason="no CUDA GPU answers here")
    return pytest.mark.gpu(skip(test))


# PyTorch and MONAI (the unet extra) are looked up, not imported
needs_unet = pytest.mark.skipif(
    not all(importlib.util.find_spec(name) for name in ("torch", "monai")),
    reason="needs the unet extra (PyTorch, MONAI)",
)
