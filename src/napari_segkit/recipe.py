"""Recipes: a list of ``napari_segkit`` calls, saved as readable YAML, run again on another
image, or exported as a plain Python script.

A recipe file looks like::

    segkit_recipe: 1            # format version
    napari_segkit: 0.1.0        # package that saved it
    steps:
    - function: napari_segkit.threshold
      parameters: {method: li}
      input: image              # the recipe's image, or an earlier step's output
      output: mask
      version: 0.1.0            # package that recorded the step
    - function: napari_segkit.label
      input: mask
      output: labels

Each step calls ``function(<input>, **parameters)``. ``arrays`` (optional) maps more array
parameters to names, e.g. ``{seeds: seeds}``, given to :meth:`Recipe.run` as ``inputs``.
``spacing`` is never stored: a function that takes it gets the voxel size of the image the
recipe runs on. The result is the last step's output. Only public functions of
``napari_segkit`` can be named, and parameters are plain values (numbers, text, lists), so
opening a recipe never runs other code. A step converts from a layer's provenance record
(``layer.metadata["segkit"]``) with :meth:`Recipe.add_record`.
"""

from __future__ import annotations

import inspect
import keyword
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__

FORMAT = 1
#: parameters never stored: they belong to the image or the machine a recipe runs on
_NOT_STORED = {"spacing", "device", "progress"}
#: where a bare function name is looked for after the package's top level
_SUBMODULES = ("postprocess", "cluster", "contours", "edges", "regions", "metrics")
_STEP_KEYS = {"function", "parameters", "input", "output", "arrays", "version"}


def resolve(name: str) -> tuple[str, Callable]:
    """(full name, function) of a public ``napari_segkit`` function named ``name``
    (``"napari_segkit.threshold"``, ``"postprocess.fill_holes"`` or ``"fill_holes"``)."""
    import napari_segkit

    parts = str(name).removeprefix("napari_segkit.").split(".")
    candidates = [parts] + ([[m, *parts] for m in _SUBMODULES] if len(parts) == 1 else [])
    for path in candidates:
        found: Any = napari_segkit
        for part in path:
            if part.startswith("_") or not hasattr(found, part):
                found = None
                break
            found = getattr(found, part)
        if callable(found) and getattr(found, "__module__", "").startswith("napari_segkit"):
            return "napari_segkit." + ".".join(path), found
    raise ValueError(f"recipe step function {name!r} is not a public napari_segkit function")


def _plain(value):
    """``value`` as YAML-safe plain data (tuples and NumPy numbers become lists and
    Python numbers); arrays and other objects are refused."""
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(
        f"recipe parameters must be numbers, text or lists, not {type(value).__name__}"
    )


def _name(value, what: str) -> str:
    if not (
        isinstance(value, str)
        and value.isidentifier()
        and not keyword.iskeyword(value)
        and value != "napari_segkit"
    ):
        raise ValueError(f"recipe {what} must be a plain name (letters, digits, _), not {value!r}")
    return value


@dataclass
class Recipe:
    """Steps (dicts with ``function``, ``parameters``, ``input``, ``output``, ``arrays``,
    ``version``) that turn an ``image`` into labels."""

    steps: list[dict] = field(default_factory=list)

    def add(
        self,
        function,
        parameters: dict | None = None,
        *,
        input: str | None = None,
        output: str | None = None,
        arrays: dict | None = None,
        version: str = __version__,
    ) -> dict:
        """Append a call of ``function`` (a function or its name); ``input`` defaults to
        the previous step's output (the image for the first), ``output`` to ``stepN``."""
        full, found = resolve(function if isinstance(function, str) else function.__name__)
        if not isinstance(function, str) and found is not function:
            raise ValueError(f"{function!r} is not a public napari_segkit function")
        parameters = {k: _plain(v) for k, v in (parameters or {}).items() if k not in _NOT_STORED}
        previous = self.steps[-1]["output"] if self.steps else "image"
        step = {
            "function": full,
            "parameters": parameters,
            "input": _name(input or previous, "input"),
            "output": _name(output or f"step{len(self.steps) + 1}", "output"),
            "arrays": {k: _name(v, "array name") for k, v in (arrays or {}).items()},
            "version": str(version),
        }
        self.steps.append(step)
        return step

    def add_record(self, record: dict, *, input: str | None = None) -> dict:
        """Append the call a layer recorded in ``metadata["segkit"]`` (function,
        parameters, version; its ``seeds`` layer becomes the array input ``seeds``)."""
        seeds = record.get("seeds")
        return self.add(
            record["function"],
            record.get("parameters", {}),
            input=input,
            arrays={"seeds": _name(_identifier(seeds), "seeds")} if seeds else None,
            version=record.get("version", __version__),
        )

    # -- files ----------------------------------------------------------------------------

    def to_dict(self) -> dict:
        steps = [{k: v for k, v in s.items() if v or k == "parameters"} for s in self.steps]
        return {"segkit_recipe": FORMAT, "napari_segkit": __version__, "steps": steps}

    def save(self, path, *, overwrite: bool = False) -> Path:
        """Write the recipe as YAML (refuses to replace ``path`` unless ``overwrite``)."""
        import yaml

        from .io._atomic import atomic_path

        path = Path(path)
        with atomic_path(path, overwrite=overwrite) as tmp:
            Path(tmp).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))
        return path

    @classmethod
    def load(cls, path) -> Recipe:
        """Read a recipe YAML file and check every step."""
        import yaml

        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as err:
            raise ValueError(
                f"{path} is not a readable recipe (YAML error: {str(err).splitlines()[0]})"
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
            raise ValueError(f"{path} is not a segkit recipe: it needs a list of 'steps'")
        if data.get("segkit_recipe", FORMAT) > FORMAT:
            raise ValueError(
                f"{path} is a newer recipe format ({data['segkit_recipe']}); update napari-segkit"
            )
        recipe = cls()
        for number, step in enumerate(data["steps"], 1):
            if not isinstance(step, dict) or "function" not in step or set(step) - _STEP_KEYS:
                raise ValueError(
                    f"{path}: step {number} must be a mapping with 'function' "
                    f"and optionally {', '.join(sorted(_STEP_KEYS - {'function'}))}"
                )
            recipe.add(
                step["function"],
                step.get("parameters") or {},
                input=step.get("input"),
                output=step.get("output"),
                arrays=step.get("arrays"),
                version=step.get("version", data.get("napari_segkit", __version__)),
            )
        return recipe

    # -- running ---------------------------------------------------------------------------

    def needs(self) -> list[str]:
        """Names of the arrays besides ``image`` that :meth:`run` needs as ``inputs``."""
        made, needed = {"image"}, []
        for step in self.steps:
            for name in [step["input"], *step["arrays"].values()]:
                if name not in made and name not in needed:
                    needed.append(name)
            made.add(step["output"])
        return needed

    def run(self, image, *, spacing=None, inputs: dict | None = None):
        """The last step's output of the recipe on ``image`` (voxel size ``spacing``);
        ``inputs`` gives the arrays named in :meth:`needs`."""
        if not self.steps:
            raise ValueError("the recipe has no steps")
        names = {"image": image, **(inputs or {})}
        missing = [n for n in self.needs() if n not in names]
        if missing:
            raise ValueError(f"the recipe needs the arrays {missing}; give them as inputs")
        for step in self.steps:
            _, function = resolve(step["function"])
            kwargs = dict(step["parameters"])
            kwargs.update({k: names[v] for k, v in step["arrays"].items()})
            if "spacing" in inspect.signature(function).parameters:
                kwargs["spacing"] = spacing
            names[step["output"]] = function(names[step["input"]], **kwargs)
        return names[self.steps[-1]["output"]]

    def to_script(self) -> str:
        """A Python script that runs the recipe with ``napari_segkit`` calls:
        ``python script.py INPUT OUTPUT [ARRAY ...]``."""
        extra = self.needs()
        lines = [
            "#!/usr/bin/env python",
            f'"""Made with napari-segkit {__version__} from a recipe.',
            "",
            "Usage: python this_file.py INPUT OUTPUT" + "".join(f" {n.upper()}" for n in extra),
            '"""',
            "import sys",
            "",
            "import napari_segkit",
            "",
            "volume = napari_segkit.read(sys.argv[1]).load()",
            "image = volume.data",
            'spacing = volume.spacing if set(volume.units) != {"pixel"} else None',
            *(
                f"{n} = napari_segkit.read(sys.argv[{i}]).load().data"
                for i, n in enumerate(extra, 3)
            ),
        ]
        for step in self.steps:
            _, function = resolve(step["function"])
            args = [
                step["input"],
                *(f"{k}={v!r}" for k, v in step["parameters"].items()),
                *(f"{k}={v}" for k, v in step["arrays"].items()),
            ]
            if "spacing" in inspect.signature(function).parameters:
                args.append("spacing=spacing")
            lines.append(f"{step['output']} = {step['function']}({', '.join(args)})")
        result = self.steps[-1]["output"]
        lines += [
            f"if {result}.dtype == bool:",
            f'    {result} = {result}.astype("uint8")',
            f"napari_segkit.write(sys.argv[2], {result}, like=volume)",
            "",
        ]
        return "\n".join(lines)

    def save_script(self, path, *, overwrite: bool = False) -> Path:
        """Write :meth:`to_script` to ``path``."""
        from .io._atomic import atomic_path

        path = Path(path)
        with atomic_path(path, overwrite=overwrite) as tmp:
            Path(tmp).write_text(self.to_script())
        return path


def _identifier(text: str) -> str:
    """A layer name as a plain name ("nuclei seeds" -> "nuclei_seeds")."""
    name = "".join(c if c.isalnum() or c == "_" else "_" for c in str(text)).strip("_")
    return name if name and not name[0].isdigit() else f"array_{name}"


def load(path) -> Recipe:
    """:meth:`Recipe.load`."""
    return Recipe.load(path)


def run_file(recipe: Recipe, path, output, *, overwrite: bool = False, series=None):
    """Run ``recipe`` on image file ``path`` and write the labels to ``output`` with the
    image's voxel size; returns the labels."""
    from .io import pick_series, read, write

    volume = pick_series(read(path), series).load()
    spacing = volume.spacing if set(volume.units) != {"pixel"} else None
    result = recipe.run(volume.data, spacing=spacing)
    if result.dtype == bool:
        result = result.astype(np.uint8)
    write(output, result, like=volume, overwrite=overwrite)
    return result
