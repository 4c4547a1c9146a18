"""Recipes: YAML round trip, run on a file, and the Python script they export."""

import subprocess
import sys

import numpy as np
import pytest
import tifffile
import yaml
from skimage import data

import napari_segkit as sk
from napari_segkit.recipe import Recipe, load, run_file


@pytest.fixture
def coins_file(tmp_path):
    path = tmp_path / "coins.tif"
    tifffile.imwrite(
        path,
        data.coins(),
        imagej=True,
        resolution=(2.0, 2.0),
        metadata={"unit": "um", "axes": "YX"},
    )
    return path


def make_recipe() -> Recipe:
    recipe = Recipe()
    recipe.add(sk.threshold, {"method": "li"}, output="mask")
    recipe.add("fill_holes")
    recipe.add_record(
        {
            "function": "napari_segkit.label",
            "parameters": {"connectivity": 1},
            "version": "0.0.9",
            "backend": "cpu",
            "source": "coins",
        }
    )
    recipe.add(
        "napari_segkit.postprocess.remove_small_objects",
        {"min_size": np.float64(30.0)},
        output="labels",
    )
    return recipe


def test_yaml_round_trip_run_and_script_give_the_same_labels(tmp_path, coins_file):
    recipe = make_recipe()
    saved = recipe.save(tmp_path / "recipe.yaml")
    text = yaml.safe_load(saved.read_text())
    assert text["steps"][1]["function"] == "napari_segkit.postprocess.fill_holes"
    assert text["steps"][2]["version"] == "0.0.9" and text["steps"][3]["input"] == "step3"
    again = load(saved)
    assert again == recipe
    # what the recipe means, called by hand (0.5 µm pixels: min_size is 30 µm² = 120 px)
    expected = sk.postprocess.remove_small_objects(
        sk.label(
            sk.postprocess.fill_holes(sk.threshold(data.coins(), method="li")), connectivity=1
        ),
        30.0,
        spacing=(0.5, 0.5),
    )
    ran = run_file(again, coins_file, tmp_path / "run.tif")
    np.testing.assert_array_equal(ran, expected)
    script = again.save_script(tmp_path / "recipe.py")
    done = subprocess.run(
        [sys.executable, script, coins_file, tmp_path / "script.tif"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = sk.read(tmp_path / "script.tif")
    np.testing.assert_array_equal(out.data, expected)
    assert out.spacing == pytest.approx((0.5, 0.5))


def test_array_inputs_from_a_seeds_record():
    image = data.coins()
    seeds = np.zeros(image.shape, np.int32)
    seeds[150, 60], seeds[10, 10] = 1, 2
    recipe = Recipe()
    recipe.add_record(
        {
            "function": "napari_segkit.watershed",
            "parameters": {},
            "version": "0.1.0",
            "seeds": "my seeds",
        }
    )
    assert recipe.needs() == ["my_seeds"]
    assert "MY_SEEDS" in recipe.to_script()
    with pytest.raises(ValueError, match="needs the arrays"):
        recipe.run(image)
    out = recipe.run(image, inputs={"my_seeds": seeds})
    np.testing.assert_array_equal(out, sk.watershed(image, seeds))


@pytest.mark.parametrize(
    "text, message",
    [
        ("steps:\n- function: os.system\n  parameters: {command: ls}\n", "not a public"),
        ("steps:\n- function: napari_segkit._checks.check_array\n", "not a public"),
        ("steps:\n- function: threshold\n  input: 'x; import os'\n", "plain name"),
        ("steps:\n- {function: threshold, code: 1}\n", "step 1 must be a mapping"),
        ("a: [1\n", "YAML error"),
        ("- 1\n", "needs a list of 'steps'"),
        (
            "steps:\n- function: threshold\n  parameters: {method: !!python/name:os.system ''}\n",
            "YAML error",
        ),
    ],
)
def test_bad_recipes_are_refused_with_one_sentence(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        load(path)


def test_parameters_must_be_plain_values():
    with pytest.raises(ValueError, match="numbers, text or lists"):
        Recipe().add("threshold", {"mask": np.zeros(3)})
