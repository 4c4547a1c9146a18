"""Bad input to every public function: one clear sentence naming the argument, never a crash.

The table ``BAD_PARAMETERS`` lists (function, positional arguments, keyword arguments,
expected exception, argument named in the message); add a row for a new parameter.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import napari_segkit.methods as sk
from napari_segkit.methods import metrics
from napari_segkit.methods import postprocess as pp

rng = np.random.default_rng(0)
IMAGE = rng.normal(10.0, 1.0, (16, 16)).astype(np.float32)
IMAGE[4:12, 4:12] += 20
LABELS = np.zeros((16, 16), np.int32)
LABELS[2:6, 2:6], LABELS[9:14, 9:14] = 1, 2
SEEDS = np.zeros((16, 16), np.uint8)
SEEDS[7:9, 7:9], SEEDS[0, :] = 1, 2
STACK = np.stack([LABELS] * 4)
NAN = float("nan")

#: the smallest valid call of every public function: (function, args before the image
#: are none; args after it, keyword arguments, kind of first argument)
CALLS = {
    "adaptive_threshold": (sk.adaptive_threshold, (), {"block_size": 5}, "image"),
    "chan_vese": (sk.chan_vese, (), {"iterations": 2}, "image"),
    "distance_transform": (sk.distance_transform, (), {}, "labels"),
    "edge_map": (sk.edge_map, (), {}, "image"),
    "edge_regions": (sk.edge_regions, (), {}, "image"),
    "felzenszwalb": (sk.felzenszwalb, (), {}, "image"),
    "find_seeds": (sk.find_seeds, (), {}, "image"),
    "fuzzy_cmeans": (sk.fuzzy_cmeans, (), {"k": 2}, "image"),
    "geodesic_active_contour": (sk.geodesic_active_contour, (), {"iterations": 2}, "image"),
    "grab_cut": (sk.grab_cut, (((4, 4), (11, 11)),), {"iterations": 1}, "image"),
    "graph_cut": (sk.graph_cut, (SEEDS,), {}, "image"),
    "grow_from_seeds": (sk.grow_from_seeds, (SEEDS,), {}, "image"),
    "kmeans": (sk.kmeans, (), {"k": 2, "starts": 1}, "image"),
    "label": (sk.label, (), {}, "labels"),
    "magic_wand": (sk.magic_wand, ((8, 8),), {"tolerance": 5.0}, "image"),
    "mean_shift": (sk.mean_shift, (), {"sample": 50}, "image"),
    "normalized_cut": (sk.normalized_cut, (), {"n_segments": 10}, "image"),
    "region_grow": (sk.region_grow, (SEEDS,), {"tolerance": 5.0}, "image"),
    "slic": (sk.slic, (), {"n_segments": 4}, "image"),
    "split_and_merge": (sk.split_and_merge, (), {"tolerance": 5.0}, "image"),
    "split_touching_objects": (sk.split_touching_objects, (), {}, "image"),
    "threshold": (sk.threshold, (), {}, "image"),
    "voronoi_otsu_labeling": (sk.voronoi_otsu_labeling, (), {}, "image"),
    "watershed": (sk.watershed, (SEEDS,), {}, "image"),
    "fill_holes": (pp.fill_holes, (), {}, "labels"),
    "remove_small_objects": (pp.remove_small_objects, (3,), {}, "labels"),
    "remove_small_holes": (pp.remove_small_holes, (3,), {}, "labels"),
    "morphology_op": (pp.morphology_op, ("erode",), {}, "labels"),
    "expand_labels": (pp.expand_labels, (), {}, "labels"),
    "smooth_labels": (pp.smooth_labels, (), {}, "labels"),
    "remove_border_objects": (pp.remove_border_objects, (), {}, "labels"),
    "relabel_sequential": (pp.relabel_sequential, (), {}, "labels"),
    "keep_largest": (pp.keep_largest, (), {}, "labels"),
    "fill_between_slices": (pp.fill_between_slices, (), {}, "stack"),
}
METRICS = [
    "average_surface_distance",
    "boundary_f1",
    "class_counts",
    "confusion",
    "dice",
    "error_map",
    "evaluate",
    "f1",
    "hausdorff",
    "hd95",
    "iou",
    "match",
    "matches_at",
    "mean_average_precision",
    "panoptic_quality",
    "pixel_accuracy",
    "precision",
    "recall",
    "surface_distances",
]

# (function name, keyword arguments, exception, argument the message names)
BAD_PARAMETERS = [
    # classes=1 (a crash before) runs in a child process: test_multiotsu_with_one_class_...
    ("threshold", {"method": "multiotsu", "classes": 300}, ValueError, "classes"),
    ("threshold", {"method": "multiotsu", "classes": 2.5}, ValueError, "classes"),
    ("threshold", {"nbins": 0}, ValueError, "nbins"),
    ("threshold", {"method": "percentile", "percentile": NAN}, ValueError, "percentile"),
    ("threshold", {"method": "manual", "value": NAN}, ValueError, "value"),
    ("adaptive_threshold", {"block_size": -3}, ValueError, "block_size"),
    ("adaptive_threshold", {"block_size": NAN}, ValueError, "block_size"),
    ("adaptive_threshold", {"spacing": (0, 0)}, ValueError, "spacing"),
    ("adaptive_threshold", {"intensity_range": (5, 1)}, ValueError, "intensity_range"),
    ("chan_vese", {"iterations": 0}, ValueError, "iterations"),
    ("chan_vese", {"lambda1": NAN}, ValueError, "lambda1"),
    ("geodesic_active_contour", {"sigma": NAN}, ValueError, "sigma"),
    ("geodesic_active_contour", {"alpha": 0}, ValueError, "alpha"),
    ("distance_transform", {"spacing": (0, 0)}, ValueError, "spacing"),
    ("distance_transform", {"spacing": (1, NAN)}, ValueError, "spacing"),
    ("edge_map", {"sigma": -1}, ValueError, "sigma"),
    ("edge_map", {"method": "roberts"}, ValueError, "method"),
    ("edge_regions", {"min_size": -3}, ValueError, "min_size"),
    ("edge_regions", {"close_gaps": NAN}, ValueError, "close_gaps"),
    ("felzenszwalb", {"scale": 0}, ValueError, "scale"),
    ("felzenszwalb", {"min_size": -1}, ValueError, "min_size"),
    ("find_seeds", {"min_distance": NAN}, ValueError, "min_distance"),
    ("find_seeds", {"mask": np.ones((3, 3), bool)}, ValueError, "mask"),
    ("fuzzy_cmeans", {"m": 1}, ValueError, "m"),
    ("fuzzy_cmeans", {"iterations": 0}, ValueError, "iterations"),
    ("grab_cut", {"box": ((NAN, 4), (11, 11))}, ValueError, "box"),
    ("grab_cut", {"connectivity": 9}, ValueError, "connectivity"),
    ("grab_cut", {"lam": -1}, ValueError, "lam"),
    ("grab_cut", {"margin": -1}, ValueError, "margin"),
    ("graph_cut", {"bins": 0}, ValueError, "bins"),
    ("graph_cut", {"connectivity": 9}, ValueError, "connectivity"),
    ("graph_cut", {"window": (5, 1)}, ValueError, "window"),
    ("graph_cut", {"seeds": SEEDS[:-1]}, ValueError, "scribbles"),
    ("graph_cut", {"spacing": (0, 0)}, ValueError, "spacing"),
    ("grow_from_seeds", {"sigma": NAN}, ValueError, "sigma"),
    ("grow_from_seeds", {"connectivity": 9}, ValueError, "connectivity"),
    ("grow_from_seeds", {"seeds": SEEDS[:, :-1]}, ValueError, "scribbles"),
    ("kmeans", {"k": 1}, ValueError, "k"),
    ("kmeans", {"mode": "both"}, ValueError, "mode"),
    ("kmeans", {"sample": 0}, ValueError, "sample"),
    ("label", {"connectivity": 9}, ValueError, "connectivity"),
    ("label", {"connectivity": "full"}, TypeError, "connectivity"),
    ("magic_wand", {"tolerance": -1}, ValueError, "tolerance"),
    ("magic_wand", {"point": (NAN, 3)}, ValueError, "point"),
    ("mean_shift", {"bandwidth": 0}, ValueError, "bandwidth"),
    ("normalized_cut", {"threshold": 0}, ValueError, "threshold"),
    ("region_grow", {"tolerance": NAN}, ValueError, "tolerance"),
    ("region_grow", {"connectivity": 9}, ValueError, "connectivity"),
    ("slic", {"n_segments": 0}, ValueError, "n_segments"),
    ("slic", {"compactness": -1}, ValueError, "compactness"),
    ("slic", {"spacing": (0, 0)}, ValueError, "spacing"),
    ("split_and_merge", {"min_block": 0}, ValueError, "min_block"),
    ("split_and_merge", {"tolerance": -1}, ValueError, "tolerance"),
    ("split_touching_objects", {"sigma": -1}, ValueError, "sigma"),
    ("split_touching_objects", {"spacing": (0, 0)}, ValueError, "spacing"),
    ("split_touching_objects", {"method": "multiotsu"}, ValueError, "method"),
    ("voronoi_otsu_labeling", {"spot_sigma": NAN}, ValueError, "spot_sigma"),
    ("voronoi_otsu_labeling", {"spacing": (0, 0)}, ValueError, "spacing"),
    ("watershed", {"sigma": -1}, ValueError, "sigma"),
    ("watershed", {"connectivity": 9}, ValueError, "connectivity"),
    ("watershed", {"compactness": -1}, ValueError, "compactness"),
    ("watershed", {"mask": np.ones((3, 3), bool)}, ValueError, "mask"),
    ("remove_small_objects", {"min_size": -3}, ValueError, "min_size"),
    ("remove_small_objects", {"connectivity": 9}, ValueError, "connectivity"),
    ("remove_small_objects", {"spacing": (0, 0)}, ValueError, "spacing"),
    ("remove_small_holes", {"max_size": NAN}, ValueError, "max_size"),
    ("morphology_op", {"radius": -1}, ValueError, "radius"),
    ("morphology_op", {"operation": "thin"}, ValueError, "operation"),
    ("expand_labels", {"distance": NAN}, ValueError, "distance"),
    ("smooth_labels", {"radius": -1}, ValueError, "radius"),
    ("remove_border_objects", {"buffer": -1}, ValueError, "buffer"),
    ("keep_largest", {"count": 0}, ValueError, "count"),
    ("fill_between_slices", {"axis": 5}, ValueError, "axis"),
]
# the same for the metrics (prediction and reference are LABELS)
BAD_METRIC_PARAMETERS = [
    ("match", {"threshold": 0}, ValueError, "threshold"),
    ("f1", {"threshold": NAN}, ValueError, "threshold"),
    ("mean_average_precision", {"thresholds": (0.5, 2)}, ValueError, "threshold"),
    ("boundary_f1", {"tolerance": -1}, ValueError, "tolerance"),
    ("hausdorff", {"percentile": 101}, ValueError, "percentile"),
    ("hd95", {"spacing": (0, 0)}, ValueError, "spacing"),
    ("hd95", {"label": -1}, ValueError, "label"),
    ("evaluate", {"mode": "panoptic"}, ValueError, "mode"),
    ("evaluate", {"tolerance": NAN}, ValueError, "tolerance"),
    ("dice", {"average": "mean"}, ValueError, "average"),
    ("error_map", {"mode": "both"}, ValueError, "mode"),
]


def _first(kind):
    return {"image": IMAGE, "labels": LABELS, "stack": STACK}[kind]


_VALID = object()


def _call(name, first=_VALID, **changes):
    """Call ``name`` with its valid arguments, ``first`` as the image and ``changes``
    (keyword arguments, or a positional argument by its name) applied."""
    function, args, kwargs, kind = CALLS[name]
    positional = list(args)
    for position, key in enumerate(_positional_names(function)[1 : len(args) + 1]):
        if key in changes:
            positional[position] = changes.pop(key)
    return function(
        _first(kind) if first is _VALID else first,
        *positional,
        **{**kwargs, **changes},
        device="cpu",
    )


def _positional_names(function):
    import inspect

    return list(inspect.signature(function).parameters)


@pytest.mark.parametrize(
    "name, kwargs, error, argument",
    BAD_PARAMETERS,
    ids=[f"{r[0]}-{r[3]}-{i}" for i, r in enumerate(BAD_PARAMETERS)],
)
def test_bad_parameters_are_refused_naming_the_argument(name, kwargs, error, argument):
    with pytest.raises(error, match=rf"^(the )?{argument}\b"):
        _call(name, **kwargs)


@pytest.mark.parametrize(
    "name, kwargs, error, argument",
    BAD_METRIC_PARAMETERS,
    ids=[f"{r[0]}-{r[3]}" for r in BAD_METRIC_PARAMETERS],
)
def test_bad_metric_parameters_are_refused_naming_the_argument(name, kwargs, error, argument):
    with pytest.raises(error, match=rf"^{argument}\b"):
        getattr(metrics, name)(LABELS, LABELS, **kwargs)


BAD_ARRAYS = [  # (what, array, exception, words in the message)
    ("complex", np.ones((8, 8), np.complex64), ValueError, "complex values"),
    ("object", np.array([[1, None], [2, 3]], dtype=object), ValueError, "object values"),
    ("text", np.array([["a", "b"], ["c", "d"]]), ValueError, "string values"),
    ("empty", np.zeros((0, 8), np.float32), ValueError, "is empty"),
    ("zero-d", np.array(3.0), ValueError, "at least one axis"),
    ("a string", "cells.tif", TypeError, "must be an array"),
    ("None", None, TypeError, "must be an array"),
]


@pytest.mark.parametrize("name", sorted(CALLS))
@pytest.mark.parametrize("what, array, error, words", BAD_ARRAYS, ids=[b[0] for b in BAD_ARRAYS])
def test_arrays_no_method_can_use_are_refused(name, what, array, error, words):
    argument = _positional_names(CALLS[name][0])[0]
    with pytest.raises(error, match=f"^{argument} .*{words}"):
        _call(name, array)


@pytest.mark.parametrize("name", METRICS)
@pytest.mark.parametrize("what, array, error, words", BAD_ARRAYS, ids=[b[0] for b in BAD_ARRAYS])
def test_metrics_refuse_arrays_they_cannot_compare(name, what, array, error, words):
    with pytest.raises(error, match=f"^prediction .*{words}"):
        getattr(metrics, name)(array, LABELS)


def test_a_string_where_a_number_goes_is_a_type_error():
    with pytest.raises(TypeError, match=r"^sigma must be a finite number ≥ 0, got 'big'"):
        sk.edge_map(IMAGE, sigma="big")
    with pytest.raises(ValueError, match=r"^min_size must be a finite number ≥ 0, got -3$"):
        pp.remove_small_objects(LABELS, -3)
    with pytest.raises(ValueError, match=r"^spacing must be finite numbers > 0 .*\(0\.0, 0\.0\)"):
        pp.remove_small_objects(LABELS, 3, spacing=(0, 0))


# what each function does with a NaN pixel (a float image) and with a 1-voxel image:
# a result, or a ValueError that says so; never another exception or a crash
REFUSES_NAN = {"grab_cut", "graph_cut", "grow_from_seeds", "slic", "normalized_cut"}
IMAGE_FUNCTIONS = sorted(name for name, call in CALLS.items() if call[3] == "image")


@pytest.mark.parametrize("name", IMAGE_FUNCTIONS)
def test_nan_pixels_are_handled_or_refused(name):
    image = IMAGE.copy()
    image[3, 3] = np.nan
    if name in REFUSES_NAN:
        with pytest.raises(ValueError, match="NaN"):
            _call(name, image)
        return
    result = _call(name, image)
    result = result[0] if isinstance(result, tuple) else result
    assert np.shape(result) == image.shape


@pytest.mark.parametrize(
    "name",
    sorted(
        set(CALLS)
        - {
            "grab_cut",
            "graph_cut",
            "grow_from_seeds",
            "region_grow",
            "watershed",
            "magic_wand",
            "fill_between_slices",
        }
    ),
)
def test_a_one_voxel_image_gives_a_result_or_one_sentence(name):
    one = _first(CALLS[name][3])[:1, :1].copy()
    try:
        result = _call(name, one)
    except ValueError as err:
        assert "\n" not in str(err) and len(str(err)) < 300
    else:
        result = result[0] if isinstance(result, tuple) else result
        assert np.shape(result) == one.shape


def test_multiotsu_with_one_class_is_refused_not_a_crash(tmp_path):
    """classes=1 used to end the process inside scikit-image (SIGSEGV): run it in a
    child process so a crash fails this test instead of killing pytest."""
    code = (
        "import numpy as np; from napari_segkit.methods import threshold; "
        "threshold(np.random.default_rng(0).random((8, 8)), 'multiotsu', classes=1)"
    )
    child = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert child.returncode == 1, child.stderr  # a Python exception, not a signal
    assert "ValueError: classes must be an integer ≥ 2 and ≤ 256, got 1" in child.stderr

    import tifffile

    path = tmp_path / "x.tif"
    tifffile.imwrite(path, (np.random.default_rng(0).random((8, 8)) * 255).astype(np.uint8))
    segkit = str(Path(sys.executable).parent / "segkit")
    run = subprocess.run(
        [
            segkit,
            "run",
            "threshold",
            str(path),
            "-o",
            str(tmp_path / "y.tif"),
            "--method",
            "multiotsu",
            "--classes",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stderr
    assert run.stderr.strip() == "segkit: error: classes must be an integer ≥ 2 and ≤ 256, got 1"
    assert not (tmp_path / "y.tif").exists()
