"""Deep learning with MONAI: train a U-Net (or another MONAI network) from your own labels,
apply it to new images, save and share it as a folder.

>>> model = unet.train(image, labels, time_limit=120)    # doctest: +SKIP
>>> model.save("nuclei-model")                             # doctest: +SKIP
>>> labels = unet.predict("nuclei-model", other_image)     # doctest: +SKIP

Modules: :mod:`.networks` (architectures), :mod:`.data` (labels, normalisation, patches),
:mod:`.train`, :mod:`.predict`, :mod:`.model` (save/load, TorchScript, MONAI bundles).
PyTorch is imported only when a function here runs.
"""

from .data import LABELS_ARE, NORMALISATIONS
from .model import Model, UntrustedModelError, load_model
from .networks import ARCHITECTURES
from .predict import predict, preview
from .train import LOSSES, Batch, Epoch, train

__all__ = [
    "ARCHITECTURES",
    "LABELS_ARE",
    "LOSSES",
    "NORMALISATIONS",
    "Batch",
    "Epoch",
    "Model",
    "UntrustedModelError",
    "load_model",
    "predict",
    "preview",
    "train",
]
