"""OME-Zarr label output checked by third-party readers and validators: ome-zarr-py's
Reader, ome-zarr-models and the NGFF JSON schemas that ngff-zarr bundles; pyramid geometry
checked against hand-computed pixel centres."""

import hashlib
import json
import logging
import subprocess
import sys
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import zarr

from napari_segkit import label, threshold
from napari_segkit.io import Volume, read
from napari_segkit.io import chunked as store
from napari_segkit.io.chunked import labels_path, write_labels

ome_zarr_writer = pytest.importorskip("ome_zarr.writer")
ome_zarr_models = pytest.importorskip("ome_zarr_models")
ngff_validate = pytest.importorskip("ngff_zarr.validate").validate

SEGKIT = str(Path(sys.executable).parent / "segkit")
SHAPE = (3, 37, 51)  # odd sizes: ome-zarr-py's levels have scale ratios like 37/18
SPACING = {"z": 2.0, "y": 0.5, "x": 0.25}


def make_image(path: Path, version: str, data=None) -> Path:
    """An OME-Zarr image written by ome-zarr-py (levels 1 and 2 halve y and x, resized)."""
    from ome_zarr.format import FormatV04, FormatV05

    data = np.random.default_rng(0).integers(0, 255, SHAPE, np.uint8) if data is None else data
    fmt = FormatV04() if version == "0.4" else FormatV05()
    ome_zarr_writer.write_image(
        data,
        str(path),
        scale_factors=[2, 4],
        fmt=fmt,
        axes=["z", "y", "x"],
        scale=SPACING,
        axes_units=dict.fromkeys("zyx", "micrometer"),
    )
    return path


def segkit(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SEGKIT, *map(str, args)], capture_output=True, text=True, timeout=300, check=False
    )


def position_ids(shape) -> np.ndarray:
    """Labels whose id says where the pixel is: 1 + its flat index."""
    return np.arange(1, np.prod(shape) + 1, dtype=np.uint32).reshape(shape)


def attributes(group: Path) -> dict:
    return dict(zarr.open_group(str(group), mode="r").attrs)


def ome(attrs: dict) -> dict:
    return attrs.get("ome", attrs)


def digest(folder: Path) -> dict:
    """Every file under ``folder`` but its labels group, by content."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "labels" not in p.parts
    }


def ome_zarr_nodes(path: Path, version: str, caplog) -> list:
    from ome_zarr.format import FormatV04, FormatV05
    from ome_zarr.io import parse_url
    from ome_zarr.reader import Reader

    fmt = FormatV04() if version == "0.4" else FormatV05()
    with caplog.at_level(logging.WARNING, logger="ome_zarr"):
        return list(Reader(parse_url(str(path), fmt=fmt))())


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_labels_written_into_an_image_are_its_labels(tmp_path, caplog, version):
    image = make_image(tmp_path / "image.zarr", version)
    before = digest(image)
    ids = position_ids(SHAPE)
    info = write_labels(labels_path(image, "nuclei"), da.from_array(ids, chunks=(1, 16, 16)))
    assert info == {"max": ids.max(), "levels": 3}
    assert digest(image) == before  # the image's arrays and metadata are untouched

    # ome-zarr-py finds them as the image's labels, from the image and from the labels
    for start in (image, image / "labels" / "nuclei"):
        nodes = ome_zarr_nodes(start, version, caplog)
        names = [Path(str(n.zarr).split(" ")[0]).relative_to(tmp_path).as_posix() for n in nodes]
        assert names == ["image.zarr", "image.zarr/labels", "image.zarr/labels/nuclei"]
        kinds = [type(s).__name__ for s in nodes[2].specs]
        assert "Label" in kinds and "Multiscales" in kinds
        assert [d.shape for d in nodes[2].data] == [d.shape for d in nodes[0].data]
    assert "no parent found" not in caplog.text

    # ome-zarr-models: the image with its labels group, the label image itself
    group = zarr.open_group(str(image), mode="r")
    model = ome_zarr_models.open_ome_zarr(group)
    assert type(model).__name__ == "Image" and model.labels is not None
    assert ome(attributes(image / "labels"))["labels"] == ["nuclei"]
    image_label = ome_zarr_models.v04 if version == "0.4" else ome_zarr_models.v05
    image_label.image_label.ImageLabel.from_zarr(group["labels/nuclei"])

    # the NGFF JSON schemas (bundled with ngff-zarr, no network)
    attrs = attributes(image / "labels" / "nuclei")
    for model_name in ("image", "label"):
        ngff_validate(attrs, version=version, model=model_name)
    assert ome(attrs)["image-label"]["source"]["image"] == "../../"
    if version == "0.5":
        assert ome(attrs)["version"] == "0.5" and "multiscales" not in attrs
        assert zarr.open_group(str(image / "labels" / "nuclei")).metadata.zarr_format == 3

    # each level has the image level's shape, scale and translation
    source = ome(attributes(image))["multiscales"][0]["datasets"]
    written = ome(attrs)["multiscales"][0]["datasets"]
    assert [d["coordinateTransformations"] for d in written] == [
        d["coordinateTransformations"] for d in source
    ]
    assert [group[f"labels/nuclei/{d['path']}"].shape for d in written] == [
        group[d["path"]].shape for d in source
    ]

    # each pixel holds the id of the full-resolution pixel nearest to its centre
    back = read(image / "labels" / "nuclei")
    np.testing.assert_array_equal(back.data, ids)
    assert back.is_labels and back.spacing == tuple(SPACING.values())
    assert len(back.pyramid) == 2
    base_scale = np.array(tuple(SPACING.values()))
    for level, dataset in zip(back.pyramid, written[1:]):
        scale, shift = (
            np.array(t[k])
            for t, k in zip(dataset["coordinateTransformations"], ("scale", "translation"))
        )
        level = np.asarray(level)
        centres = np.stack(np.meshgrid(*map(np.arange, level.shape), indexing="ij"), -1)
        world = shift + centres * scale
        came_from = np.stack(np.unravel_index(level - 1, SHAPE), -1)
        assert np.all(np.abs(world - came_from * base_scale) <= base_scale / 2 + 1e-9)


def test_a_second_label_image_is_listed_and_names_are_not_reused(tmp_path):
    image = make_image(tmp_path / "image.zarr", "0.4")
    ids = position_ids(SHAPE)
    write_labels(labels_path(image, "nuclei"), ids)
    write_labels(labels_path(image, "cells"), ids % 7)
    assert attributes(image / "labels")["labels"] == ["nuclei", "cells"]
    with pytest.raises(FileExistsError, match="already exists"):
        write_labels(labels_path(image, "nuclei"), ids * 0)
    np.testing.assert_array_equal(read(image / "labels" / "nuclei").data, ids)
    write_labels(labels_path(image, "nuclei"), ids * 0, overwrite=True)
    assert np.asarray(read(image / "labels" / "nuclei").data).max() == 0
    assert attributes(image / "labels")["labels"] == ["nuclei", "cells"]
    ome_zarr_models.open_ome_zarr(zarr.open_group(str(image), mode="r"))


def test_label_images_of_other_tools_are_left_alone(tmp_path):
    image = make_image(tmp_path / "image.zarr", "0.4")
    theirs = np.full(SHAPE, 5, np.uint8)
    ome_zarr_writer.write_labels(
        theirs,
        zarr.open_group(str(image), mode="r+"),
        name="theirs",
        axes=["z", "y", "x"],
        scale_factors=[2, 4],
        scaler=None,
    )
    with pytest.raises(FileExistsError, match="left as it is"):
        write_labels(labels_path(image, "theirs"), theirs * 0, overwrite=True)
    assert np.asarray(read(image / "labels" / "theirs").data).min() == 5
    write_labels(labels_path(image, "mine"), theirs)
    assert attributes(image / "labels")["labels"] == ["theirs", "mine"]


def test_labels_that_do_not_fit_the_image_are_refused_and_leave_nothing(tmp_path):
    image = make_image(tmp_path / "image.zarr", "0.5")
    before = sorted(p.name for p in image.iterdir())
    with pytest.raises(ValueError, match=r"do not fit image.zarr: its space axes \(zyx\)"):
        write_labels(labels_path(image, "nuclei"), np.zeros((3, 37, 50), np.uint8))
    with pytest.raises(ValueError, match="must be NGFF 0.5 like the image"):
        write_labels(labels_path(image, "nuclei"), np.zeros(SHAPE, np.uint8), ngff="0.4")
    with pytest.raises(ValueError, match="one plain folder name"):
        labels_path(image, "../0")
    assert sorted(p.name for p in image.iterdir()) == before  # no labels group left behind


def test_standalone_pyramid_levels_sit_on_the_pixels_they_keep(tmp_path, monkeypatch):
    """Every other pixel: pixel i of level k is pixel i * 2^k of level 0, so each level's
    translation is level 0's (hand-computed: no half-pixel shift)."""
    monkeypatch.setattr(store, "PYRAMID_FROM", 16)
    ids = position_ids((40, 30))
    like = Volume(ids, "YX", (0.5, 0.25), (10.0, 20.0), ("µm", "µm"))
    assert write_labels(tmp_path / "l.zarr", ids, like=like, pyramid=True)["levels"] == 3
    datasets = attributes(tmp_path / "l.zarr")["multiscales"][0]["datasets"]
    assert [d["coordinateTransformations"] for d in datasets] == [
        [
            {"type": "scale", "scale": [0.5, 0.25]},
            {"type": "translation", "translation": [10.0, 20.0]},
        ],
        [
            {"type": "scale", "scale": [1.0, 0.5]},
            {"type": "translation", "translation": [10.0, 20.0]},
        ],
        [
            {"type": "scale", "scale": [2.0, 1.0]},
            {"type": "translation", "translation": [10.0, 20.0]},
        ],
    ]
    level1 = np.asarray(zarr.open_array(str(tmp_path / "l.zarr" / "1"), mode="r"))
    assert level1.shape == (20, 15)
    # level-1 pixel (3, 4) has its centre at (10 + 3 * 1.0, 20 + 4 * 0.5) = (13, 22) µm,
    # the centre of level-0 pixel (6, 8): (10 + 6 * 0.5, 20 + 8 * 0.25) = (13, 22) µm
    assert level1[3, 4] == ids[6, 8] == 1 + 6 * 30 + 8
    level2 = np.asarray(zarr.open_array(str(tmp_path / "l.zarr" / "2"), mode="r"))
    np.testing.assert_array_equal(level2, ids[::4, ::4])


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_standalone_store_in_either_version_validates(tmp_path, version):
    ids = position_ids((20, 24))
    write_labels(tmp_path / "s.zarr", ids, ngff=version)
    group = zarr.open_group(str(tmp_path / "s.zarr"), mode="r")
    assert group.metadata.zarr_format == (2 if version == "0.4" else 3)
    if version == "0.4":  # NGFF 0.4 asks for "/"-separated chunk keys
        zarray = json.loads((tmp_path / "s.zarr" / "0" / ".zarray").read_text())
        assert zarray["dimension_separator"] == "/"
    attrs = dict(group.attrs)
    for model_name in ("image", "label"):
        ngff_validate(attrs, version=version, model=model_name)
    broken = json.loads(json.dumps(attrs))
    del ome(broken)["multiscales"][0]["datasets"]
    with pytest.raises(Exception, match="datasets"):  # the schema check is not vacuous
        ngff_validate(broken, version=version, model="image")
    models = ome_zarr_models.v04 if version == "0.4" else ome_zarr_models.v05
    models.image_label.ImageLabel.from_zarr(group)
    np.testing.assert_array_equal(read(tmp_path / "s.zarr").data, ids)
    with pytest.raises(ValueError, match="NGFF version must be one of"):
        write_labels(tmp_path / "t.zarr", ids, ngff="0.3")


def test_run_writes_labels_into_the_input_image(tmp_path):
    from napari_segkit.samples import nuclei_3d

    volume = nuclei_3d()
    image = make_image(tmp_path / "cells.zarr", "0.5", data=volume.data)
    out = image / "labels" / "nuclei"
    done = segkit("run", "threshold", image, "-o", out)
    assert done.returncode == 0, done.stderr
    assert "block by block" in done.stdout
    assert ome(attributes(image / "labels"))["labels"] == ["nuclei"]
    written = np.asarray(read(out).data)
    expected = label(threshold(volume.data))
    assert ((written > 0) == (expected > 0)).all()
    assert len(np.unique(written)) == len(np.unique(expected))
    again = segkit("run", "threshold", image, "-o", out)
    assert again.returncode == 1 and "already exists" in again.stderr
    # an existing store with --overwrite is rewritten (not taken for a batch output folder)
    redo = segkit("run", "threshold", image, "-o", out, "--no-instances", "--overwrite")
    assert redo.returncode == 0, redo.stderr
    np.testing.assert_array_equal(read(out).data, threshold(volume.data))
    assert ome(attributes(image / "labels"))["labels"] == ["nuclei"]
