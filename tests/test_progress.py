"""Progress callbacks and cancelling, through real methods."""

import numpy as np
import pytest

import napari_segkit as sk
from napari_segkit.progress import Cancelled, report, reporting, steps
from napari_segkit.samples import nuclei_3d


def test_steps_report_each_item_and_nested_reports_stay_inside_their_step():
    seen = []
    with reporting(seen.append):
        for _ in steps(range(4)):
            report(0.5)  # half of this item
    assert seen == pytest.approx([0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0])


def test_report_without_a_callback_does_nothing():
    report(0.5)  # no error, nothing to call
    assert list(steps([1, 2])) == [1, 2]


@pytest.mark.parametrize(
    "call",
    [
        lambda v, cb: sk.split_touching_objects(v.data, spacing=v.spacing, progress=cb),
        lambda v, cb: sk.felzenszwalb(v.data, progress=cb),
        lambda v, cb: sk.kmeans(v.data, k=2, progress=cb),
        lambda v, cb: sk.chan_vese(v.data[12], iterations=10, progress=cb),
        lambda v, cb: sk.postprocess.fill_holes(v.metadata["truth"], per_slice=True, progress=cb),
    ],
    ids=["split", "felzenszwalb", "kmeans", "chan-vese", "fill-holes"],
)
def test_methods_report_rising_progress_to_one(call):
    volume = nuclei_3d(touching=True)
    seen = []
    call(volume, seen.append)
    assert len(seen) >= 3
    assert np.all(np.diff(seen) >= -1e-12) and seen[-1] == 1.0
    assert 0.0 <= min(seen)


def test_a_callback_that_raises_stops_the_method():
    volume = nuclei_3d(touching=True)
    calls = []

    def cancel_at_a_third(fraction):
        calls.append(fraction)
        if fraction > 0.3:
            raise Cancelled()

    with pytest.raises(Cancelled):
        sk.felzenszwalb(volume.data, progress=cancel_at_a_third)
    assert max(calls) < 0.5  # it stopped soon after, not at the end
    report(0.9)  # the callback is no longer in force after the exception
    assert max(calls) < 0.5
