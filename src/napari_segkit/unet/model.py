"""A trained network with what it takes to use it again: a folder with the weights
(``weights.pt``) and ``config.json`` (architecture, classes, spacing, normalisation,
training history), plus the optimiser state (``training.pt``) so training can resume.

:func:`load_model` also opens a TorchScript file or a MONAI bundle folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__

CONFIG, WEIGHTS, TRAINING = "config.json", "weights.pt", "training.pt"


@dataclass
class Model:
    """``network``: a torch module; ``config``: JSON-able settings (see the module doc);
    ``training``: optimiser and sampler state for resuming (None when not resumable)."""

    network: object
    config: dict
    training: dict | None = field(default=None, repr=False)

    @property
    def spatial_dims(self) -> int:
        return int(self.config["spatial_dims"])

    @property
    def history(self) -> list[dict]:
        return self.config.setdefault("history", [])

    def save(self, folder: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the model folder completely or not at all. An existing folder is replaced
        only with ``overwrite`` and only if it is a segkit model folder."""
        import torch

        folder = Path(folder)
        if folder.exists():
            if not overwrite:
                raise FileExistsError(f"{folder} already exists; choose another folder or "
                                      "allow overwrite")
            if not (folder / CONFIG).is_file():
                raise FileExistsError(f"{folder} exists and is not a segkit model folder; "
                                      "it is left as it is")
        if not folder.parent.is_dir():
            raise FileNotFoundError(f"folder {folder.parent} does not exist")
        if self.config.get("architecture") in ("torchscript", "bundle"):
            raise ValueError("a TorchScript or bundle model is not saved as a segkit folder; "
                             "keep its original file")
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            torch.save(self.network.state_dict(), tmp / WEIGHTS)
            if self.training is not None:
                torch.save(self.training, tmp / TRAINING)
            config = {**self.config, "segkit_version": __version__}
            (tmp / CONFIG).write_text(json.dumps(config, indent=1))
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return folder


def load_model(path: str | os.PathLike, **config) -> Model:
    """A model from a segkit model folder, a MONAI bundle folder (``configs/`` with
    ``network_def``, ``models/model.pt`` or ``model.ts``) or a TorchScript file.

    For a TorchScript file give ``spatial_dims`` and ``classes`` (number of output channels,
    or the label value of each); these ``config`` keywords also override a bundle's metadata
    (e.g. ``normalisation={"mode": "fixed", "low": [-1000], "high": [1000]}``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.is_dir() and (path / CONFIG).is_file():
        return _segkit_folder(path)
    if path.is_dir() and (path / "configs").is_dir():
        return _bundle(path, config)
    if path.is_file():
        return _torchscript(path, config)
    raise ValueError(f"{path} is not a segkit model folder (no {CONFIG}), a MONAI bundle "
                     "(no configs/ folder) or a TorchScript file")


def _segkit_folder(path: Path) -> Model:
    import torch

    from .networks import build

    try:
        config = json.loads((path / CONFIG).read_text())
        network = build(config["architecture"], **config["network"])
        network.load_state_dict(torch.load(path / WEIGHTS, map_location="cpu",
                                           weights_only=True))
    except (OSError, KeyError, TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{path} is not a usable segkit model folder: {err}") from err
    training = None
    if (path / TRAINING).is_file():
        training = torch.load(path / TRAINING, map_location="cpu", weights_only=False)
    return Model(network.eval(), config, training)


def _external_config(kind: str, spatial_dims, classes, in_channels, overrides: dict) -> dict:
    if spatial_dims not in (2, 3) or classes is None:
        raise ValueError(f"a {kind} model needs spatial_dims (2 or 3) and classes (the "
                         "number of output channels) to be given")
    values = list(range(classes)) if isinstance(classes, int) else [int(v) for v in classes]
    config = {"architecture": kind, "spatial_dims": int(spatial_dims),
              "in_channels": int(in_channels),
              "classes": {"values": values, "output": values,
                          "names": [f"class {v}" for v in values]},
              "normalisation": {"mode": "percentile", "percentiles": [1.0, 99.8]},
              "patch": [96] * int(spatial_dims), "spacing": None, "labels_are": "classes",
              "history": []}
    config.update({k: v for k, v in overrides.items()
                   if k not in ("spatial_dims", "classes", "in_channels")})
    return config


def _torchscript(path: Path, overrides: dict) -> Model:
    import torch

    try:
        network = torch.jit.load(str(path), map_location="cpu")
    except RuntimeError as err:
        raise ValueError(f"{path} is not a TorchScript file ({err})") from err
    config = _external_config("torchscript", overrides.get("spatial_dims"),
                              overrides.get("classes"), overrides.get("in_channels", 1),
                              overrides)
    return Model(network.eval(), config)


def _bundle(path: Path, overrides: dict) -> Model:
    """A MONAI bundle: the network from ``configs/inference.json`` (``network_def``) and
    ``models/model.pt``, or ``models/model.ts``; channels and dims from the metadata."""
    import torch
    from monai.bundle import ConfigParser

    meta_file = path / "configs" / "metadata.json"
    try:
        meta = json.loads(meta_file.read_text())["network_data_format"]
        image, pred = meta["inputs"]["image"], meta["outputs"]["pred"]
        dims = overrides.get("spatial_dims", len(image.get("spatial_shape", [0, 0, 0])))
        config = _external_config("bundle", dims, overrides.get("classes",
                                                                int(pred["num_channels"])),
                                  overrides.get("in_channels", int(image["num_channels"])),
                                  overrides)
        if (path / "models" / "model.ts").is_file():
            network = torch.jit.load(str(path / "models" / "model.ts"), map_location="cpu")
        else:
            parser = ConfigParser()
            configs = sorted((path / "configs").glob("inference.*"))
            parser.read_config(str(configs[0]))
            network = parser.get_parsed_content("network_def")
            state = torch.load(path / "models" / "model.pt", map_location="cpu",
                               weights_only=True)
            network.load_state_dict(state.get("model", state) if isinstance(state, dict)
                                    else state)
    except (OSError, KeyError, IndexError, TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{path} is not a usable MONAI bundle: {err}") from err
    return Model(network.eval(), config)
