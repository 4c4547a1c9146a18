"""A trained network with what it takes to use it again: a folder with the weights
(``weights.pt``) and ``config.json`` (architecture, classes, spacing, normalisation,
training history), plus the optimiser state (``training.pt``) so training can resume.

:func:`load_model` also opens a TorchScript file or a MONAI bundle folder; as both can run
code of their own, only with ``trust=True`` (see docs/security.md). A segkit folder is read
with ``torch.load(..., weights_only=True)`` and never needs trust.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from .devices import require_torch

CONFIG, WEIGHTS, TRAINING = "config.json", "weights.pt", "training.pt"
_TRUST_HINT = (
    "open it with trust=True (segkit: --trust-code; Apply U-Net: the trust "
    "checkbox) only if you trust its source"
)


class UntrustedModelError(ValueError):
    """A model file that can run code of its own, opened without ``trust=True``."""


@dataclass
class Model:
    """A trained network with what it takes to use it again.

    What :func:`~napari_segkit.unet.train` and :func:`load_model` return and
    :func:`~napari_segkit.unet.predict` applies. :meth:`save` writes it as a folder with
    the weights (``weights.pt``), ``config.json`` and the optimiser state
    (``training.pt``), so that training can resume.

    Parameters
    ----------
    network : torch.nn.Module
        The network.
    config : dict
        JSON-able settings: architecture, classes, spacing, normalisation, training patch,
        training history (see the module doc).
    training : dict, optional
        Optimiser and sampler state for resuming (None when not resumable, e.g. a
        TorchScript or MONAI bundle model).

    Attributes
    ----------
    spatial_dims : int
        2 or 3, the dimension of the images the network takes.
    history : list of dict
        One record per epoch trained (see :class:`~napari_segkit.unet.train.Epoch`).

    See Also
    --------
    load_model : Open a saved model.

    Examples
    --------
    Needs PyTorch (the ``unet`` extra), so not run as a doctest:

    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from napari_segkit import unet
    >>> image = np.zeros((64, 64), np.float32); image[16:48, 16:48] = 1.0
    >>> mask = (image > 0).astype(np.uint8)
    >>> model = unet.train(image, mask, labels_are="classes", epochs=2, steps=10,
    ...                    device="cpu")  # doctest: +SKIP
    >>> model.spatial_dims, len(model.history), model.config["classes"]["names"]  # doctest: +SKIP
    (2, 2, ['background', 'class 1'])
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> model.save(folder / "squares").name  # doctest: +SKIP
    'squares'
    >>> sorted(p.name for p in (folder / "squares").iterdir())  # doctest: +SKIP
    ['config.json', 'training.pt', 'weights.pt']
    """

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
        """Write the model as a folder, completely or not at all.

        The folder holds ``weights.pt`` (the network's tensors), ``config.json`` (with the
        napari-segkit version) and, when the model can resume training, ``training.pt``;
        :func:`load_model` opens it without needing trust. An existing folder is replaced
        (in one step) only with ``overwrite`` and only if it is a segkit model folder.

        Parameters
        ----------
        folder : str or os.PathLike
            The folder to write; its parent must exist.
        overwrite : bool, default False
            Replace an existing segkit model folder.

        Returns
        -------
        folder : pathlib.Path
            The folder written.

        Raises
        ------
        ValueError
            If the model is a TorchScript or MONAI bundle model (keep its original file).
        FileExistsError
            If ``folder`` exists and ``overwrite`` is False, or it is not a segkit model
            folder.
        FileNotFoundError
            If the parent folder does not exist.

        Examples
        --------
        See :class:`Model`.
        """
        import torch

        from ..io._atomic import atomic_path

        folder = Path(folder)
        if self.config.get("architecture") in ("torchscript", "bundle"):
            raise ValueError(
                "a TorchScript or bundle model is not saved as a segkit folder; "
                "keep its original file"
            )
        with atomic_path(
            folder,
            overwrite=overwrite,
            suffix="",
            folder=True,
            replaceable=lambda old: (old / CONFIG).is_file(),
            what="a segkit model folder",
        ) as tmp:
            torch.save(self.network.state_dict(), tmp / WEIGHTS)
            if self.training is not None:
                torch.save(self.training, tmp / TRAINING)
            config = {**self.config, "segkit_version": __version__}
            (tmp / CONFIG).write_text(json.dumps(config, indent=1))
        return folder


def load_model(path: str | os.PathLike, *, trust: bool = False, **config) -> Model:
    """Open a saved model: a segkit model folder, a MONAI bundle or a TorchScript file.

    A segkit folder (written by :meth:`Model.save`) is read with
    ``torch.load(..., weights_only=True)``, which loads tensors and plain data only, and
    never needs trust. A MONAI bundle folder (``configs/`` with ``network_def``, and
    ``models/model.pt``, or ``models/model.ts``) and a TorchScript file can run code of
    their own on this computer when they are loaded, so they open only with
    ``trust=True`` (see docs/security.md). The network is loaded on the CPU, in
    evaluation mode.

    Parameters
    ----------
    path : str or os.PathLike
        The model folder or file.
    trust : bool, default False
        Open a MONAI bundle or TorchScript; give it only for a model from a source you
        trust.
    **config
        For a TorchScript file, ``spatial_dims`` (2 or 3) and ``classes`` (number of output
        channels, or the label value of each) are required, ``in_channels`` optional
        (default 1); these keywords also override a bundle's metadata and any other setting
        (e.g. ``normalisation={"mode": "fixed", "low": [-1000], "high": [1000]}``).

    Returns
    -------
    model : Model
        The network with its config; resumable (``training`` set) when a segkit folder
        holds ``training.pt``.

    Raises
    ------
    MissingDependency
        If PyTorch or MONAI (the ``unet`` extra) is not installed.
    FileNotFoundError
        If ``path`` does not exist.
    UntrustedModelError
        If ``path`` is a MONAI bundle or TorchScript file and ``trust`` is False.
    ValueError
        If ``path`` is none of the three kinds, is damaged, holds more than tensors where
        only tensors may be (refused, not opened), or a TorchScript model lacks
        ``spatial_dims`` or ``classes``.

    See Also
    --------
    Model.save : Write a segkit model folder.
    predict : Apply a model; it also takes the path directly.

    Examples
    --------
    Needs PyTorch (the ``unet`` extra), so not run as a doctest:

    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from napari_segkit import unet
    >>> image = np.zeros((64, 64), np.float32); image[16:48, 16:48] = 1.0
    >>> mask = (image > 0).astype(np.uint8)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> model = unet.train(image, mask, labels_are="classes", epochs=2, steps=10,
    ...                    device="cpu")  # doctest: +SKIP
    >>> _ = model.save(folder / "squares")  # doctest: +SKIP
    >>> again = unet.load_model(folder / "squares")  # doctest: +SKIP
    >>> again.spatial_dims, again.config["labels_are"], again.training is not None  # doctest: +SKIP
    (2, 'classes', True)
    """
    require_torch()
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if path.is_dir() and (path / CONFIG).is_file():
        return _segkit_folder(path)
    if path.is_dir() and (path / "configs").is_dir():
        return _bundle(path, config, trust)
    if path.is_file():
        return _torchscript(path, config, trust)
    raise ValueError(
        f"{path} is not a segkit model folder (no {CONFIG}), a MONAI bundle "
        "(no configs/ folder) or a TorchScript file"
    )


def _require_trust(trust: bool, file: Path, why: str) -> None:
    if not trust:
        raise UntrustedModelError(f"{file} {why}; {_TRUST_HINT}")


def _reason(err: Exception) -> str:
    """The first sentence of torch's reason (e.g. "Unsupported global: GLOBAL …")."""
    text = str(err).partition("WeightsUnpickler error:")[2] or str(err)
    line = next((t.strip() for t in text.splitlines() if t.strip()), type(err).__name__)
    return re.split(r"\.\s", line)[0]


def _segkit_folder(path: Path) -> Model:
    import torch

    from .networks import build

    try:
        config = json.loads((path / CONFIG).read_text())
        network = build(config["architecture"], **config["network"])
        network.load_state_dict(torch.load(path / WEIGHTS, map_location="cpu", weights_only=True))
    except pickle.UnpicklingError as err:
        raise ValueError(
            f"{path / WEIGHTS} holds more than tensors ({_reason(err)}); it is not opened"
        ) from None
    except (OSError, KeyError, TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{path} is not a usable segkit model folder: {err}") from err
    training = None
    if (path / TRAINING).is_file():
        training = _training_state(path / TRAINING)
    return Model(network.eval(), config, training)


def _training_state(file: Path) -> dict:
    """The optimiser state for resuming, read with ``weights_only=True``: tensors, numbers,
    strings, lists and dicts only; a file holding anything else is refused, not opened."""
    import torch

    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(
            f"{file} is refused: it holds more than tensors, numbers, strings, "
            f"lists and dicts ({_reason(err)}), and such a file can "
            "run code when opened; delete it to use the model without resuming "
            "its training"
        ) from None
    except Exception as err:  # noqa: BLE001 - any failure of an untrusted file, one line
        raise ValueError(
            f"{file} cannot be read ({_reason(err)}); delete it "
            "to use the model without resuming its training"
        ) from None
    if not isinstance(state, dict) or not isinstance(state.get("optimiser"), dict):
        raise ValueError(
            f"{file} is not a segkit training state (a dict with the optimiser "
            "state); delete it to use the model without resuming its training"
        )
    return state


def _external_config(kind: str, spatial_dims, classes, in_channels, overrides: dict) -> dict:
    if spatial_dims not in (2, 3) or classes is None:
        raise ValueError(
            f"a {kind} model needs spatial_dims (2 or 3) and classes (the "
            "number of output channels) to be given"
        )
    values = list(range(classes)) if isinstance(classes, int) else [int(v) for v in classes]
    config = {
        "architecture": kind,
        "spatial_dims": int(spatial_dims),
        "in_channels": int(in_channels),
        "classes": {"values": values, "output": values, "names": [f"class {v}" for v in values]},
        "normalisation": {"mode": "percentile", "percentiles": [1.0, 99.8]},
        "patch": [96] * int(spatial_dims),
        "spacing": None,
        "labels_are": "classes",
        "history": [],
    }
    config.update(
        {k: v for k, v in overrides.items() if k not in ("spatial_dims", "classes", "in_channels")}
    )
    return config


def _is_torchscript(path: Path) -> bool:
    """Whether ``path`` is a TorchScript archive (a zip with a ``code/`` folder), read
    without loading it."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any("/code/" in f"/{name}" for name in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def _torchscript(path: Path, overrides: dict, trust: bool) -> Model:
    import torch

    if not _is_torchscript(path):
        raise ValueError(
            f"{path} is not a TorchScript file (a zip archive with a code/ "
            "folder, as torch.jit.save writes)"
        )
    _require_trust(
        trust,
        path,
        "is a TorchScript file, whose code runs on this computer when it is loaded and applied",
    )
    config = _external_config(
        "torchscript",
        overrides.get("spatial_dims"),
        overrides.get("classes"),
        overrides.get("in_channels", 1),
        overrides,
    )
    try:
        network = torch.jit.load(str(path), map_location="cpu")
    except RuntimeError as err:
        raise ValueError(f"{path} is not a TorchScript file ({err})") from err
    return Model(network.eval(), config)


def _bundle(path: Path, overrides: dict, trust: bool) -> Model:
    """A MONAI bundle: the network from ``configs/inference.json`` (``network_def``) and
    ``models/model.pt``, or ``models/model.ts``; channels and dims from the metadata. Both
    can run code, so ``trust`` is needed."""
    import torch

    scripted = path / "models" / "model.ts"
    configs = sorted((path / "configs").glob("inference.*"))
    if scripted.is_file():
        _require_trust(
            trust,
            scripted,
            "is a MONAI bundle's TorchScript model, whose code "
            "runs on this computer when it is loaded and applied",
        )
    elif configs:
        _require_trust(
            trust,
            configs[0],
            "is a MONAI bundle's config, which can run Python "
            "code ($ expressions, _target_ objects) on this computer when it is read",
        )
    else:
        raise ValueError(
            f"{path} is not a usable MONAI bundle: it has neither "
            "models/model.ts nor configs/inference.json"
        )
    meta_file = path / "configs" / "metadata.json"
    try:
        meta = json.loads(meta_file.read_text())["network_data_format"]
        image, pred = meta["inputs"]["image"], meta["outputs"]["pred"]
        dims = overrides.get("spatial_dims", len(image.get("spatial_shape", [0, 0, 0])))
        config = _external_config(
            "bundle",
            dims,
            overrides.get("classes", int(pred["num_channels"])),
            overrides.get("in_channels", int(image["num_channels"])),
            overrides,
        )
        if scripted.is_file():
            network = torch.jit.load(str(scripted), map_location="cpu")
        else:
            from monai.bundle import ConfigParser

            parser = ConfigParser()
            parser.read_config(str(configs[0]))
            network = parser.get_parsed_content("network_def")
            state = torch.load(path / "models" / "model.pt", map_location="cpu", weights_only=True)
            network.load_state_dict(state.get("model", state) if isinstance(state, dict) else state)
    except pickle.UnpicklingError as err:
        raise ValueError(
            f"{path / 'models' / 'model.pt'} holds more than tensors "
            f"({_reason(err)}); it is not opened"
        ) from None
    except (OSError, KeyError, IndexError, TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{path} is not a usable MONAI bundle: {err}") from err
    return Model(network.eval(), config)
