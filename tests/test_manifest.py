import subprocess
import sys
from importlib import resources
from pathlib import Path

import npe2


def test_manifest_is_inside_the_installed_package():
    manifest = resources.files("napari_segkit") / "napari.yaml"
    assert manifest.is_file()
    top = Path(__file__).parents[1] / "napari.yaml"
    assert manifest.read_text() == top.read_text()


def test_npe2_validates_with_imports():
    npe2_cli = Path(sys.executable).parent / "npe2"
    done = subprocess.run([str(npe2_cli), "validate", "napari-segkit", "--imports"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_napari_lists_the_plugin_and_its_contributions():
    pm = npe2.PluginManager.instance()
    pm.discover()
    manifest = pm.get_manifest("napari-segkit")
    assert [w.display_name for w in manifest.contributions.widgets] == [
        "Threshold", "Segment", "Edges", "Regions", "Cluster", "Contours", "Graph cut",
        "Train U-Net", "Apply U-Net", "Post-process", "Evaluate"]
    assert {s.key for s in manifest.contributions.sample_data} == {
        "nuclei-2d", "nuclei-3d", "ihc-slide"}
