"""Opening a model never runs code from it unless trusted: a segkit folder loads with
``weights_only=True``; a MONAI bundle or TorchScript needs ``trust=True`` / --trust-code.
The payloads here only write a marker file in tmp_path."""

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_segkit import samples, unet
from napari_segkit.cli import main

torch = pytest.importorskip("torch", reason="needs the unet extra (PyTorch, MONAI)")
UNet = pytest.importorskip(
    "monai.networks.nets", reason="needs the unet extra (PyTorch, MONAI)"
).UNet

TINY = {
    "labels_are": "classes",
    "epochs": 1,
    "steps": 2,
    "patch_size": 32,
    "channels": (4, 8, 16),
    "validation": 0,
    "seed": 0,
    "device": "cpu",
}


class WritesMarker:
    """Pickled, it becomes a call of ``Path.write_text`` on the marker when unpickled."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.write_text, (Path(self.path), "ran"))


@pytest.fixture(scope="module")
def nuclei():
    volume = samples.nuclei_2d((64, 64), count=6, seed=0)
    return volume.data, (volume.metadata["truth"] > 0).astype(np.uint8)


@pytest.fixture(scope="module")
def tiny(nuclei):
    return unet.train(*nuclei, **TINY)


def small_network(out_channels: int = 3) -> UNet:
    torch.manual_seed(0)
    return UNet(
        spatial_dims=2,
        in_channels=1,
        out_channels=out_channels,
        channels=(4, 8),
        strides=(2,),
        num_res_units=0,
    ).eval()


def make_bundle(folder: Path, marker: Path) -> UNet:
    """A MONAI bundle whose config writes ``marker`` when parsed (its ``out_channels`` is
    the 3 that ``write_text("ran")`` returns); returns the network its weights come from."""
    (folder / "configs").mkdir(parents=True)
    (folder / "models").mkdir()
    (folder / "configs" / "inference.json").write_text(
        json.dumps(
            {
                "network_def": {
                    "_target_": "monai.networks.nets.UNet",
                    "spatial_dims": 2,
                    "in_channels": 1,
                    "out_channels": f"$__import__('pathlib').Path(r'{marker}').write_text('ran')",
                    "channels": [4, 8],
                    "strides": [2],
                    "num_res_units": 0,
                }
            }
        )
    )
    (folder / "configs" / "metadata.json").write_text(
        json.dumps(
            {
                "network_data_format": {
                    "inputs": {"image": {"num_channels": 1, "spatial_shape": [32, 32]}},
                    "outputs": {"pred": {"num_channels": 3}},
                }
            }
        )
    )
    network = small_network()
    torch.save(network.state_dict(), folder / "models" / "model.pt")
    return network


def same_output(a, b) -> bool:
    x = torch.rand(1, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return torch.equal(a(x), b(x))


# -- (a) training.pt: loaded with weights_only=True, a pickle with code is refused ------------


def test_training_state_that_would_run_code_is_refused_not_run(tiny, nuclei, tmp_path):
    folder = tiny.save(tmp_path / "model")
    marker = tmp_path / "marker"
    state = torch.load(folder / "training.pt", weights_only=True)
    state["note"] = WritesMarker(marker)
    torch.save(state, folder / "training.pt")

    with pytest.raises(
        ValueError,
        match=r"training\.pt is refused: it holds more than "
        r"tensors.*Unsupported global.*delete it",
    ) as refused:
        unet.load_model(folder)
    assert str(folder / "training.pt") in str(refused.value)
    with pytest.raises(ValueError, match="is refused"):
        unet.train(*nuclei, resume=folder, **TINY)
    with pytest.raises(ValueError, match="is refused"):
        unet.predict(folder, nuclei[0])
    assert not marker.exists()

    torch.load(folder / "training.pt", weights_only=False)  # what the old loader did
    assert marker.read_text() == "ran"  # the payload is live: the test guards a real hole


def test_weights_with_code_and_unreadable_training_state_are_refused(tiny, tmp_path):
    folder = tiny.save(tmp_path / "model")
    marker = tmp_path / "marker"
    torch.save({"weight": WritesMarker(marker)}, folder / "weights.pt")
    with pytest.raises(ValueError, match=r"weights\.pt holds more than tensors"):
        unet.load_model(folder)
    folder = tiny.save(tmp_path / "other")
    (folder / "training.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match=r"training\.pt is refused.*\(Unsupported operand"):
        unet.load_model(folder)
    whole = (tmp_path / "model" / "training.pt").read_bytes()
    (folder / "training.pt").write_bytes(whole[:200])
    with pytest.raises(
        ValueError,
        match=r"training\.pt cannot be read \(PytorchStreamReader "
        r"failed reading zip archive: failed finding central directory\)",
    ):
        unet.load_model(folder)
    torch.save([1, 2], folder / "training.pt")
    with pytest.raises(ValueError, match="not a segkit training state"):
        unet.load_model(folder)
    assert not marker.exists()


# -- (b) a MONAI bundle's config is Python: only with trust ----------------------------------


def test_bundle_config_runs_only_with_trust(nuclei, tmp_path):
    marker = tmp_path / "marker"
    network = make_bundle(tmp_path / "bundle", marker)
    config = tmp_path / "bundle" / "configs" / "inference.json"
    with pytest.raises(
        unet.UntrustedModelError, match="is a MONAI bundle's config, which can run Python code"
    ) as refused:
        unet.load_model(tmp_path / "bundle")
    assert str(config) in str(refused.value) and "trust=True" in str(refused.value)
    assert "--trust-code" in str(refused.value) and "trust its source" in str(refused.value)
    with pytest.raises(unet.UntrustedModelError):
        unet.predict(tmp_path / "bundle", nuclei[0])
    with pytest.raises(unet.UntrustedModelError):
        unet.train(*nuclei, resume=tmp_path / "bundle", **TINY)
    assert not marker.exists()

    model = unet.load_model(tmp_path / "bundle", trust=True)
    assert marker.read_text() == "ran"  # the config's code ran: that is what trust allows
    assert model.config["architecture"] == "bundle" and same_output(model.network, network)
    labels = unet.predict(tmp_path / "bundle", nuclei[0], trust=True)
    assert labels.shape == nuclei[0].shape


def test_bundle_torchscript_model_needs_trust(tmp_path):
    make_bundle(tmp_path / "bundle", tmp_path / "marker")
    network = small_network()
    torch.jit.trace(network, torch.zeros(1, 1, 32, 32)).save(
        str(tmp_path / "bundle" / "models" / "model.ts")
    )
    with pytest.raises(
        unet.UntrustedModelError,
        match=r"model\.ts is a MONAI bundle's "
        "TorchScript model, whose code runs",
    ):
        unet.load_model(tmp_path / "bundle")
    model = unet.load_model(tmp_path / "bundle", trust=True)
    assert same_output(model.network, network)
    assert not (tmp_path / "marker").exists()  # with model.ts the config is not parsed


# -- (c) TorchScript ------------------------------------------------------------------------


def test_torchscript_file_needs_trust(tmp_path):
    network = small_network(2)
    for name in ("model.ts", "model.pt"):
        torch.jit.trace(network, torch.zeros(1, 1, 32, 32)).save(str(tmp_path / name))
        with pytest.raises(
            unet.UntrustedModelError,
            match=f"{name} is a TorchScript file, whose code runs on this computer.*trust=True",
        ):
            unet.load_model(tmp_path / name, spatial_dims=2, classes=2)
        model = unet.load_model(tmp_path / name, spatial_dims=2, classes=2, trust=True)
        assert same_output(model.network, network)
    torch.save(network.state_dict(), tmp_path / "weights.pt")  # not TorchScript: said so
    with pytest.raises(ValueError, match="not a TorchScript file") as refused:
        unet.load_model(tmp_path / "weights.pt", spatial_dims=2, classes=2, trust=True)
    assert not isinstance(refused.value, unet.UntrustedModelError)


# -- (d) a segkit model folder never needs trust ----------------------------------------------


def test_segkit_folder_loads_and_resumes_without_trust(tiny, nuclei, tmp_path):
    folder = tiny.save(tmp_path / "model")
    state = torch.load(folder / "training.pt", weights_only=True)  # the safe load works
    assert state["optimiser"]["param_groups"][0]["lr"] == pytest.approx(2e-3)
    model = unet.load_model(folder)
    assert model.training["optimiser"]["state"].keys() == state["optimiser"]["state"].keys()
    assert same_output(model.network, tiny.network)
    more = unet.train(*nuclei, resume=folder, **TINY)
    assert [e["epoch"] for e in more.history] == [1, 2]
    np.testing.assert_array_equal(unet.predict(folder, nuclei[0]), unet.predict(tiny, nuclei[0]))


# -- (e) the CLI's --trust-code ---------------------------------------------------------------


def test_cli_trust_code_flag(tiny, nuclei, tmp_path, capsys):
    image = tmp_path / "image.tif"
    tifffile.imwrite(image, nuclei[0])
    labels = tmp_path / "labels.tif"
    tifffile.imwrite(labels, nuclei[1])
    marker = tmp_path / "marker"
    make_bundle(tmp_path / "bundle", marker)

    out = tmp_path / "out.tif"
    assert (
        main(["run", "unet", str(image), "--model", str(tmp_path / "bundle"), "-o", str(out)]) == 1
    )
    err = capsys.readouterr().err
    assert "inference.json is a MONAI bundle's config, which can run Python code" in err
    assert "--trust-code" in err and not out.exists() and not marker.exists()
    assert (
        main(
            [
                "run",
                "unet",
                str(image),
                "--model",
                str(tmp_path / "bundle"),
                "-o",
                str(out),
                "--trust-code",
                "--no-instances",
            ]
        )
        == 0
    )
    assert tifffile.imread(out).shape == nuclei[0].shape and marker.exists()

    train = [
        "train",
        "--image",
        str(image),
        "--labels",
        str(labels),
        "--labels-are",
        "classes",
        "--epochs",
        "1",
        "--steps",
        "2",
        "--patch-size",
        "32",
        "--validation",
        "0",
        "--device",
        "cpu",
    ]
    marker.unlink()
    assert main([*train, "--resume", str(tmp_path / "bundle"), "-o", str(tmp_path / "m")]) == 1
    assert "--trust-code" in capsys.readouterr().err and not marker.exists()
    assert not (tmp_path / "m").exists()

    folder = tiny.save(tmp_path / "model")  # a segkit folder resumes without the flag
    assert main([*train, "--resume", str(folder), "-o", str(tmp_path / "m")]) == 0
    assert len(unet.load_model(tmp_path / "m").history) == 2
    state = torch.load(folder / "training.pt", weights_only=True)
    state["note"] = WritesMarker(marker)
    torch.save(state, folder / "training.pt")
    assert main([*train, "--resume", str(folder), "-o", str(tmp_path / "m2")]) == 1
    assert "training.pt is refused" in capsys.readouterr().err
    assert not (tmp_path / "m2").exists() and not marker.exists()
