"""Optional parts without their packages: scikit-learn (the ``gmm`` extra) missing."""

import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

import napari_segkit as sk
from napari_segkit import cli, metrics, write
from napari_segkit._checks import MissingDependency
from napari_segkit.methods import graphcut

INSTALL = 'pip install "napari-segkit[gmm]"'
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


@pytest.fixture
def no_sklearn(monkeypatch):
    """Imports of scikit-learn fail, as in a venv without the ``gmm`` extra."""
    for name in [n for n in sys.modules if n == "sklearn" or n.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.mixture", None)


def ellipse(shape=(120, 140), seed=0):
    """A noisy bright ellipse (float32) and its mask."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    truth = (yy - 60) ** 2 / 40**2 + (xx - 70) ** 2 / 30**2 < 1
    return (rng.normal(100, 20, shape) + 60 * truth).astype(np.float32), truth


def scribbles(shape):
    seeds = np.zeros(shape, np.uint8)
    seeds[55:65, 60:80] = 1
    seeds[5:10, 5:135] = 2
    return seeds


def assert_says_what_to_install(err):
    text = str(err.value)
    assert isinstance(err.value, ImportError)
    assert "scikit-learn" in text and INSTALL in text and "\n" not in text


def test_gmm_without_scikit_learn_says_what_to_install(no_sklearn):
    image, truth = ellipse()
    with pytest.raises(MissingDependency) as err:
        sk.graph_cut(image, scribbles(image.shape), model="gmm")
    assert_says_what_to_install(err)
    with pytest.raises(MissingDependency) as err:
        sk.grab_cut(image, ((15, 35), (105, 105)), model="gmm")
    assert_says_what_to_install(err)
    with pytest.raises(MissingDependency) as err:
        graphcut.data_costs(image[..., None], [truth, ~truth], model="gmm")
    assert_says_what_to_install(err)


def test_histogram_models_work_without_scikit_learn(no_sklearn):
    image, truth = ellipse()
    cut = sk.graph_cut(image, scribbles(image.shape), model="histogram")
    assert metrics.dice(cut == 1, truth) >= 0.95
    boxed = sk.grab_cut(image, ((15, 35), (105, 105)), model="histogram")
    assert metrics.dice(boxed == 1, truth) >= 0.95
    assert "sklearn" not in [n.split(".")[0] for n, m in sys.modules.items() if m is not None]


def test_the_command_line_says_it_in_one_line(no_sklearn, tmp_path, capsys):
    image, _ = ellipse()
    write(tmp_path / "image.tif", np.clip(image, 0, 255).astype(np.uint8))
    code = cli.main(
        [
            "run",
            "grab-cut",
            str(tmp_path / "image.tif"),
            "-o",
            str(tmp_path / "out.tif"),
            "--box",
            "15,35,105,105",
            "--model",
            "gmm",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and INSTALL in err and err.count("\n") == 1
    assert not (tmp_path / "out.tif").exists()


@pytest.mark.skipif(not PYPROJECT.exists(), reason="needs the source tree's pyproject.toml")
def test_scikit_learn_is_an_extra_that_all_and_testing_include():
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    names = [d.split(">")[0].split("[")[0].strip() for d in project["dependencies"]]
    assert "scikit-learn" not in names
    extras = project["optional-dependencies"]
    assert any(d.startswith("scikit-learn") for d in extras["gmm"])
    for bundle in ("all", "testing"):
        nested = [d for d in extras[bundle] if d.startswith("napari-segkit[")]
        assert any("gmm" in d.split("[")[1] for d in nested), bundle


@pytest.mark.gui
def test_the_graph_cut_panel_offers_gmm_and_says_what_to_install(
    no_sklearn, make_napari_viewer, qtbot
):
    from gui_helpers import run_widget

    viewer = make_napari_viewer()
    image, _ = ellipse()
    layer = viewer.add_image(image, name="ellipse")
    widget = viewer.window.add_plugin_dock_widget("napari-segkit", "Graph cut")[1]
    widget.auto.value = False
    widget.add_seeds_layer().data = scribbles(image.shape)
    model = widget.fields["graph cut"]["model"]
    assert "gmm" in model.choices
    model.value = "gmm"
    run_widget(qtbot, widget)
    assert widget.result.value.startswith("failed:") and INSTALL in widget.result.value
    assert f"{layer.name} graph cut" not in viewer.layers
