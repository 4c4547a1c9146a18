"""The ``segkit`` command line: run a method on a file, describe a file, run the demo."""

from __future__ import annotations

import argparse
import functools
import inspect
import logging
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__

if TYPE_CHECKING:
    import numpy as np

# Only the standard library is imported here, so that `segkit --version` and `segkit --help`
# start at once: each command imports what it uses, and the run, train and demo subcommands
# add their options (which list the methods, networks and samples) when they are used.

_COMMON = {"dark": bool, "per_slice": bool, "channel": str, "rgb": bool}
#: the command names of `segkit run` that are not a method's name with dashes (kept as they
#: were); every other method gets its name with dashes (see :func:`classic_commands`)
_SHORT_NAMES = {
    "split_touching_objects": "split",
    "voronoi_otsu_labeling": "voronoi-otsu",
    "edge_regions": "edges",
    "split_and_merge": "split-merge",
    "geodesic_active_contour": "geodesic",
    "remove_small_objects": "remove-small",
    "morphology_op": "morphology",
    "expand_labels": "expand",
    "smooth_labels": "smooth",
    "remove_border_objects": "clear-border",
    "relabel_sequential": "relabel",
}
#: methods with commands of their own
_OWN_COMMANDS = {"threshold", "adaptive_threshold"}
_NOT_OPTIONS = {"spacing", "seeds", "device", "progress", "mask"}


def _options(function) -> dict[str, type]:
    """{parameter: type} of a function's parameters after the image, typed by their
    default (or annotation when the default is None)."""
    found = {}
    for name, p in list(inspect.signature(function).parameters.items())[1:]:
        if name in _NOT_OPTIONS or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is not p.empty and p.default is not None:
            found[name] = type(p.default)
        else:
            text = str(p.annotation)
            found[name] = (
                int
                if text.startswith("int")
                else str
                if text.startswith("str")
                else tuple
                if text.startswith("tuple")
                else float
            )
    return found


@functools.cache
def classic_commands() -> dict[str, Callable]:
    """`segkit run NAME` -> method, for every method that gives labels
    (:func:`napari_segkit.methods.label_methods`): a new one in a family module's ``__all__``
    becomes a command without an edit here."""
    from . import methods

    found = {
        _SHORT_NAMES.get(name, name.replace("_", "-")): function
        for module in (*methods.FAMILIES, methods.postprocess)
        for name, function in methods.label_methods(module).items()
        if name not in _OWN_COMMANDS
    }
    return dict(sorted(found.items()))


def method_names() -> tuple[str, ...]:
    """Every METHOD of `segkit run METHOD`, in the order of its help."""
    return ("threshold", "adaptive", *classic_commands(), "unet")


@functools.cache
def _methods() -> dict:
    """METHOD -> (function, {parameter: type}) for `segkit run METHOD`, built on first use
    (it imports every method, hence scikit-image and SciPy, and the U-Net package)."""
    from . import methods, unet

    functions = classic_commands()
    return {
        "threshold": (
            methods.threshold,
            {
                "method": str,
                "value": float,
                "percentile": float,
                "classes": int,
                "nbins": int,
                **_COMMON,
            },
        ),
        "adaptive": (
            methods.adaptive_threshold,
            {
                "method": str,
                "block_size": float,
                "physical": bool,
                "offset": float,
                "k": float,
                "r": float,
                "contrast": float,
                **_COMMON,
            },
        ),
        **{name: (function, _options(function)) for name, function in functions.items()},
        # --model: a folder from `segkit train` or the widget, a MONAI bundle or TorchScript
        "unet": (
            unet.predict,
            {
                "model": Path,
                "tile": int,
                "overlap": float,
                "slices": bool,
                "min_size": float,
                "batch_size": int,
            },
        ),
    }


def __getattr__(name: str):
    """``cli.unet``: the U-Net package, imported on first use like everything heavy here."""
    if name == "unet":
        from . import unet

        return unet
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_TRUST_HELP = (
    "allow a MONAI bundle or TorchScript --model to run its code on this computer "
    "(give it only for a model from a source you trust; a segkit model folder "
    "never needs it)"
)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="segkit: %(message)s"
    )
    if args.command != "run" and extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    from ._checks import MissingDependency
    from .backend import GPUUnavailableError

    with warnings.catch_warnings():  # warnings (e.g. DICOM gaps) as one line each
        warnings.showwarning = _show_warning
        try:
            return args.handler(args, extra)
        except (ValueError, OSError, GPUUnavailableError, MissingDependency) as err:
            print(f"segkit: error: {err}", file=sys.stderr)
            return 1


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"segkit: warning: {message}", file=sys.stderr)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that adds its arguments when it first parses or shows its usage or
    help: ``add_arguments(parser)`` (none by default)."""

    def __init__(self, *args, add_arguments=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._add_arguments = add_arguments

    def _complete(self) -> None:
        add, self._add_arguments = self._add_arguments, None
        if add is not None:
            add(self)

    def parse_known_args(self, args=None, namespace=None):
        self._complete()
        return super().parse_known_args(args, namespace)

    def format_usage(self) -> str:
        self._complete()
        return super().format_usage()

    def format_help(self) -> str:
        self._complete()
        return super().format_help()


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="segkit", description="Segment scientific and medical images (napari-segkit)."
    )
    parser.add_argument("--version", action="version", version=f"napari-segkit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="say what is done and where")
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser(
        "run",
        help="segment a file and write labels",
        allow_abbrev=False,  # --mode ≠ --model
        description="Segment INPUT with METHOD and write labels to OUTPUT. Method parameters "
        "are given as --name value, e.g. `segkit run threshold cells.tif -o labels.tif "
        "--method li --dark`.",
        add_arguments=_run_options,
    )

    sub.add_parser(
        "train",
        help="train a U-Net (MONAI) on images and labels, save it as a folder",
        description="Train a network on pairs of --image and --labels files (in order) and "
        "write the model folder MODEL. What the labels are is guessed by default: many ids "
        "are objects, strokes with 2 = background are scribbles (0 = not labelled), else "
        "classes (0 = background). Trains for --time-limit seconds (default 120) unless "
        "--epochs is given. Each epoch's loss and validation Dice are printed.",
        add_arguments=_train_options,
    )

    measure = sub.add_parser(
        "measure",
        help="measure every object of a label image; write a CSV table",
        description="One row per object of LABELS: size, centroid, bounding box, shape and "
        "(with --image) intensity per channel, in the labels file's physical units "
        "(see docs/measure.md).",
    )
    measure.add_argument("labels", type=Path, metavar="LABELS")
    measure.add_argument(
        "--image",
        type=Path,
        metavar="IMAGE",
        help="intensities of the same shape (per channel: mean, min, max, std, sum)",
    )
    measure.add_argument("-o", "--output", type=Path, required=True, metavar="TABLE.csv")
    measure.add_argument(
        "--spacing",
        type=float,
        nargs="+",
        metavar="S",
        help="voxel size per axis (default: the labels file's)",
    )
    measure.add_argument("--overwrite", action="store_true", help="replace TABLE.csv")
    measure.set_defaults(handler=_measure)

    info = sub.add_parser("info", help="describe an image file: shape, dtype, voxel size, axes")
    info.add_argument(
        "input",
        type=Path,
        metavar="INPUT",
        help="a TIFF, NIfTI, DICOM file or a folder of DICOM series",
    )
    info.set_defaults(handler=_info)

    evaluate = sub.add_parser(
        "eval",
        help="compare labels with a reference: per class or per object",
        description="Compare PRED with REF (two label files, or two folders of files with "
        "matching names) and print a summary; -o writes the per-class or per-object table "
        "as CSV. Distances are in the reference file's physical units unless --spacing "
        "is given.",
    )
    evaluate.add_argument("prediction", type=Path, metavar="PRED")
    evaluate.add_argument("reference", type=Path, metavar="REF")
    evaluate.add_argument(
        "--mode",
        choices=("semantic", "instance"),
        default="instance",
        help="instance (objects matched by IoU; default) or semantic (class ids)",
    )
    evaluate.add_argument(
        "--spacing",
        type=float,
        nargs="+",
        metavar="S",
        help="voxel size per axis (one number for all)",
    )
    evaluate.add_argument(
        "--tolerance",
        type=float,
        default=1.0,
        help="boundary F1 tolerance in the spacing's units (default 1)",
    )
    evaluate.add_argument(
        "-o", "--output", type=Path, metavar="TABLE.csv", help="write the table as CSV"
    )
    evaluate.add_argument("--overwrite", action="store_true", help="replace TABLE.csv")
    evaluate.set_defaults(handler=_eval)

    sub.add_parser(
        "demo", help="segment the built-in samples (no files needed)", add_arguments=_demo_options
    )
    return parser


def _run_options(run: argparse.ArgumentParser) -> None:
    """`segkit run`'s options; the epilog lists every method's parameters."""
    run.epilog = (
        "; ".join(
            f"{m} parameters: "
            + (", ".join(f"--{p} ({t.__name__})" for p, t in types.items()) or "none")
            for m, (_, types) in _methods().items()
        )
        + ". --physical: --block_size in the file's physical units (µm) instead of pixels."
    )
    run.add_argument(
        "method",
        metavar="METHOD|RECIPE.yaml",
        help=f"one of: {', '.join(sorted(method_names()))}; or a recipe file (.yaml, "
        "see docs/measure.md)",
    )
    run.add_argument(
        "input",
        type=str,
        nargs="+",
        metavar="INPUT",
        help="image file(s); with -o OUTDIR also folders (their image files) "
        "and globs such as 'data/*.tif'",
    )
    run.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="OUTPUT",
        help="labels file: .tif (ImageJ/OME-TIFF, keeps voxel size), .nii/.nii.gz "
        "(overlays on the source in ITK-SNAP/Slicer), .png (2D) or .zarr "
        "(OME-Zarr, NGFF 0.4); IMAGE.zarr/labels/NAME adds the labels to the "
        "OME-Zarr image IMAGE.zarr as its label image NAME (NGFF labels, in the "
        "image's version and levels); or a folder (no extension, or existing) for "
        "a batch: one NAME_labels file per input",
    )
    run.add_argument(
        "--measure",
        action="store_true",
        help="batch: also write NAME_measure.csv per input (see `segkit measure`) "
        "and summary.csv (objects, size statistics per file)",
    )
    _series_option(run)
    run.add_argument(
        "--seeds",
        type=Path,
        metavar="SEEDS",
        help="for graph-cut and grow-from-seeds (scribbles: 1 object, 2 "
        "background, 3… more classes; grab-cut: optional strokes), watershed, "
        "region-grow, chan-vese and geodesic: a label image of INPUT's shape "
        "(each id one seed) or a CSV file of points, one row "
        "per seed, voxel indices in axis order (z,y,x); a header row is skipped",
    )
    run.add_argument(
        "--instances",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="number each connected object (default; unet: split touching "
        "objects, the default for a model trained on objects); --no-instances "
        "writes 0/1 (unet: class ids)",
    )
    run.add_argument(
        "--min-size",
        type=float,
        metavar="S",
        help="remove objects smaller than S (voxels, or µm²/µm³ when the file has a voxel size)",
    )
    _device_option(run)
    run.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    run.add_argument("--trust-code", action="store_true", help="unet: " + _TRUST_HELP)
    scale = run.add_argument_group(
        "images larger than memory",
        "Run block by block on dask (for threshold, adaptive, "
        "label clean-up and morphology): on when any of these is given, when OUTPUT is "
        ".zarr, or when INPUT opens lazily (large TIFF, OME-Zarr). Labels are joined "
        "across blocks; .zarr and .tif outputs are written block by block with a pyramid.",
    )
    scale.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="threads (default: this process), local (a LocalCluster of "
        "--workers processes) or a running cluster's address, "
        "e.g. tcp://10.0.0.5:8786",
    )
    scale.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="threads, or LocalCluster processes (default: cores; local: 2)",
    )
    scale.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help="memory per LocalCluster worker, e.g. 2GB (it spills to disk, then pauses, beyond it)",
    )
    scale.add_argument(
        "--chunks",
        type=int,
        metavar="N",
        help="block edge in voxels (default: the file's own chunks, else 1024 in 2D and 128 in 3D)",
    )
    run.set_defaults(handler=_run)


def _train_options(train: argparse.ArgumentParser) -> None:
    """`segkit train`'s options (their choices come from the U-Net package)."""
    from . import unet

    train.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="MODEL",
        help="the model folder to write",
    )
    train.add_argument("--image", type=Path, action="append", required=True, metavar="IMAGE")
    train.add_argument("--labels", type=Path, action="append", required=True, metavar="LABELS")
    train.add_argument(
        "--labels-are",
        choices=unet.LABELS_ARE,
        default="auto",
        help="auto (default: guessed), scribbles (0 = not labelled, "
        "2 = background), classes (every pixel, 0 = background) or objects "
        "(instance ids: learns to split touching objects)",
    )
    train.add_argument("--architecture", choices=unet.ARCHITECTURES, default="unet")
    train.add_argument(
        "--spatial-dims",
        type=int,
        choices=(2, 3),
        help="2 trains on the slices of 3D stacks (default: the images' own)",
    )
    train.add_argument(
        "--time-limit",
        type=float,
        metavar="SECONDS",
        help="train this long, then keep the best model (default 120 s without --epochs)",
    )
    train.add_argument("--epochs", type=int, help="stop after this many epochs")
    train.add_argument(
        "--steps",
        type=int,
        help="batches per epoch (default: a tenth of --time-limit, or 16 with --epochs alone)",
    )
    train.add_argument(
        "--patch-size",
        type=int,
        nargs="+",
        metavar="N",
        help="training patch (default up to 96² or 48³ on the CPU, 128² or 64³ on a GPU)",
    )
    train.add_argument("--loss", choices=unet.LOSSES, default="dicece")
    train.add_argument(
        "--validation",
        type=float,
        default=0.2,
        help="share of labelled voxels held out (default 0.2; 0: none)",
    )
    train.add_argument(
        "--patience",
        type=int,
        default=15,
        help="stop after this many epochs without a better validation Dice",
    )
    train.add_argument("--resume", type=Path, metavar="MODEL", help="go on training this model")
    train.add_argument(
        "--trust-code", action="store_true", help=_TRUST_HELP.replace("--model", "--resume model")
    )
    train.add_argument("--seed", type=int, default=0)
    _device_option(train)
    train.add_argument("--overwrite", action="store_true", help="replace MODEL if it exists")
    train.set_defaults(handler=_train)


def _demo_options(demo: argparse.ArgumentParser) -> None:
    """`segkit demo`'s options (--sample lists the demo's samples)."""
    from .demo import DEMO_SAMPLES

    demo.add_argument(
        "--out",
        type=Path,
        help="folder for labels and overview PNGs (default: ./segkit-demo, or "
        "./segkit-demo-2, -3, … when it holds earlier results)",
    )
    demo.add_argument(
        "--overwrite", action="store_true", help="replace earlier demo results in --out"
    )
    demo.add_argument(
        "--gui",
        action="store_true",
        help="open napari with one sample and the Threshold widget instead",
    )
    demo.add_argument(
        "--sample",
        choices=sorted(DEMO_SAMPLES),
        help="only this sample (default: all; with --gui: nuclei_2d)",
    )
    _device_option(demo)
    demo.set_defaults(handler=_demo)


def _series_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--series",
        metavar="N|TEXT",
        help="for a folder with several DICOM series: the series number, or "
        "text found in its description (see `segkit info FOLDER`)",
    )


def _device_option(parser: argparse.ArgumentParser) -> None:
    from .backend import DEVICES

    parser.add_argument(
        "--device",
        choices=DEVICES,
        default="auto",
        help="where to compute: auto (GPU if one works), cpu or gpu",
    )


def method_parameters(method: str, extra: list[str]) -> dict:
    """Turn ``["--name", "value", "--flag", ...]`` into typed keyword arguments of METHOD."""
    types = _methods()[method][1]
    params: dict = {}
    i = 0
    while i < len(extra):
        token = extra[i]
        if not token.startswith("--"):
            raise ValueError(f"unexpected argument {token!r}; parameters look like --name value")
        name, _, value = token[2:].partition("=")
        name = name.replace("-", "_")
        if name not in types:
            raise ValueError(
                f"{method} has no parameter --{name}; it takes "
                + ", ".join(f"--{p}" for p in types)
            )
        kind = types[name]
        if not value:
            has_value = i + 1 < len(extra) and not extra[i + 1].startswith("--")
            if kind is bool and not has_value:
                value = "true"
            elif not has_value:
                raise ValueError(f"--{name} needs a value")
            else:
                i += 1
                value = extra[i]
        params[name] = _convert(name, value, kind)
        i += 1
    return params


def _convert(name: str, value: str, kind: type):
    if kind is bool:
        if value.lower() in ("true", "yes", "1", "on"):
            return True
        if value.lower() in ("false", "no", "0", "off"):
            return False
        raise ValueError(f"--{name} takes true or false, not {value!r}")
    try:
        if kind is tuple:
            return tuple(float(v) for v in value.split(","))
        return kind(value)
    except ValueError:
        raise ValueError(f"--{name} takes a {kind.__name__}, not {value!r}") from None


def _run(args, extra) -> int:
    """`segkit run`: one file (the paths below), or a batch when OUTPUT is a folder."""
    recipe = _recipe_of(args.method)
    if recipe is None and args.method not in method_names():
        raise ValueError(
            f"METHOD must be one of {', '.join(sorted(method_names()))} or a recipe "
            f"file (.yaml), not {args.method!r}"
        )
    if _is_batch(args):
        return _batch(args, extra, recipe)
    if args.measure:
        raise ValueError("--measure works with a folder output: -o OUTDIR")
    args.input = Path(args.input[0])
    if recipe is not None:
        return _run_recipe(args, extra, recipe)
    return _run_one(args, extra)


def _run_one(args, extra) -> int:
    """`segkit run METHOD INPUT -o OUTPUT` on one file."""
    import numpy as np
    from tqdm import tqdm

    from . import backend
    from .io import pick_series, read, write
    from .methods import label, postprocess
    from .methods.global_threshold import threshold_and_value

    function, _ = _methods()[args.method]
    params = method_parameters(args.method, extra)
    if args.output.exists() and not args.overwrite:
        raise FileExistsError(f"{args.output} already exists; add --overwrite to replace it")
    if args.method == "unet":
        return _run_unet(args, params)
    args.instances = True if args.instances is None else args.instances
    if args.method != "unet" and _blockwise(args):
        return _run_blockwise(args, function, params)
    if args.method in classic_commands():
        return _run_classic(args, function, params)
    if args.seeds is not None:
        raise ValueError(f"{args.method} takes no --seeds")
    semantic = params.get("method") == "multiotsu"  # class labels, not a mask
    steps = ["read", args.method] + (["label"] if args.instances and not semantic else [])
    steps.append("write")
    with tqdm(total=len(steps), desc="segkit", unit="step", disable=None, file=sys.stderr) as bar:
        start = time.perf_counter()
        bar.set_postfix_str("read")
        volume = pick_series(read(args.input), args.series).load()
        bar.update()
        bar.set_postfix_str(args.method)
        params.setdefault("rgb", volume.rgb)
        if args.method == "adaptive":
            if params.pop("physical", False):
                params["spacing"] = volume.spacing
            result = function(
                volume.data,
                device=args.device,
                **params,
                progress=lambda f: bar.set_postfix_str(f"adaptive {f:.0%}"),
            )
            value = "local"
        else:
            result, t = threshold_and_value(volume.data, device=args.device, **params)
            value = f"{t:.6g}" if np.ndim(t) == 0 else "per slice or class"
        device = backend.last_device()
        bar.update()
        if args.instances and not semantic:
            bar.set_postfix_str("label")
            result = label(result, device=device)
            if args.min_size:
                result = postprocess.remove_small_objects(
                    result, args.min_size, spacing=_spacing_of(volume)
                )
            bar.update()
        elif not semantic:
            result = result.astype(np.uint8)
        bar.set_postfix_str("write")
        write(args.output, result, like=volume, overwrite=args.overwrite)
        bar.update()
    found = (
        f"{int(result.max())} objects"
        if args.instances and not semantic
        else f"{int(result.max()) + 1} classes"
        if semantic
        else f"{int(result.sum())} foreground pixels"
    )
    print(
        f"wrote {args.output}: {found}, threshold {value} "
        f"({params.get('method', 'otsu' if args.method == 'threshold' else 'mean')}), "
        f"{device}, {time.perf_counter() - start:.2f} s"
    )
    return 0


def _recipe_of(method: str):
    """The recipe that METHOD names when it is a .yaml/.yml file, else None."""
    if Path(method).suffix.lower() not in (".yaml", ".yml"):
        return None
    from .recipe import Recipe

    if not Path(method).is_file():
        raise FileNotFoundError(f"recipe {method} does not exist")
    return Recipe.load(method)


def _run_recipe(args, extra, recipe) -> int:
    """`segkit run RECIPE.yaml INPUT -o OUTPUT`."""
    from .recipe import run_file

    if extra:
        raise ValueError(
            f"a recipe takes no method parameters ({' '.join(extra)}); they are in the recipe file"
        )
    if args.output.exists() and not args.overwrite:
        raise FileExistsError(f"{args.output} already exists; add --overwrite to replace it")
    start = time.perf_counter()
    result = run_file(recipe, args.input, args.output, overwrite=args.overwrite, series=args.series)
    print(
        f"wrote {args.output}: largest id {int(result.max(initial=0))}, recipe "
        f"{Path(args.method).name} ({len(recipe.steps)} steps), "
        f"{time.perf_counter() - start:.2f} s"
    )
    return 0


# -- batch: many inputs into a folder --------------------------------------------------------

_GLOB = set("*?[")


def _is_batch(args) -> bool:
    """A batch: several inputs, a glob, or OUTPUT a folder (existing, or no extension) that
    is not Zarr (an OME-Zarr output is a folder too: x.zarr, IMAGE.zarr/labels/NAME)."""
    from .io import is_zarr_path

    out = args.output
    return (
        len(args.input) > 1
        or any(_GLOB & set(i) for i in args.input)
        or (not is_zarr_path(out) and (out.is_dir() or not out.suffix))
    )


def _expand(inputs: list[str]) -> tuple[list[Path], list[dict]]:
    """(files, failures) for INPUT files, folders (their files, hidden ones left out) and
    globs; an input that names nothing is a failure."""
    import glob

    from .io import is_zarr_path

    files, failures = [], []
    for item in inputs:
        found = [Path(p) for p in sorted(glob.glob(item))] if _GLOB & set(item) else [Path(item)]
        found = [
            f
            for p in found
            for f in (
                sorted(q for q in p.iterdir() if q.is_file() and not q.name.startswith("."))
                if p.is_dir() and not is_zarr_path(p)
                else [p]
            )
        ]
        if not found or not all(p.exists() for p in found):
            failures.append(
                {
                    "file": item,
                    "status": "failed",
                    "error": f"{item} matches no file"
                    if _GLOB & set(item)
                    else f"{item} does not exist",
                }
            )
        files += [p for p in found if p.exists()]
    return list(dict.fromkeys(files)), failures


def _stem(path: Path) -> str:
    """A file's name without its extensions (cells.ome.tif -> cells)."""
    return path.name.split(".")[0] or path.name


def _target(path: Path, outdir: Path) -> Path:
    """The labels file of input ``path``: NIfTI for NIfTI inputs (keeps the affine), else
    TIFF (keeps the voxel size)."""
    nifti = path.name.lower().endswith((".nii", ".nii.gz"))
    return outdir / f"{_stem(path)}_labels{'.nii.gz' if nifti else '.tif'}"


def _batch(args, extra, recipe) -> int:
    """`segkit run METHOD|RECIPE INPUT... -o OUTDIR [--measure]`: every input, with overall
    progress; done outputs are skipped (unless --overwrite), failures listed at the end."""
    if recipe is None:
        method_parameters(args.method, extra)  # a typo stops the batch before the first file
    elif extra:
        raise ValueError(f"a recipe takes no method parameters ({' '.join(extra)})")
    files, failures = _expand(args.input)
    args.output.mkdir(parents=True, exist_ok=True)
    _check_writable(args.output)
    jobs, seen = [], {}
    for path in files:
        target = _target(path, args.output)
        if target in seen:
            failures.append(
                {
                    "file": str(path),
                    "status": "failed",
                    "error": f"{path} has the "
                    f"same output name as {seen[target]}; rename one of them",
                }
            )
            continue
        seen[target] = path
        table = args.output / f"{_stem(path)}_measure.csv" if args.measure else None
        jobs.append((path, target, table))
    one = argparse.Namespace(
        **{
            **vars(args),
            "scheduler": None,
            "workers": None,
            "memory_limit": None,
            "chunks": None,
            "measure": False,
        }
    )
    start = time.perf_counter()
    rows = _batch_rows(one, extra, recipe, jobs, args)
    rows += failures
    if args.measure:
        from .io.table import write_csv

        write_csv(args.output / "summary.csv", rows)
    failed = [r for r in rows if r["status"] == "failed"]
    done = sum(r["status"] == "done" for r in rows)
    skipped = sum(r["status"] == "skipped" for r in rows)
    print(
        f"{args.output}: {done} done, {skipped} skipped (output exists; --overwrite redoes "
        f"them), {len(failed)} failed of {len(rows)} inputs, "
        f"{time.perf_counter() - start:.1f} s" + (", summary.csv" if args.measure else "")
    )
    if failed:
        print(f"segkit: error: {len(failed)} input(s) failed:", file=sys.stderr)
        for row in failed:
            print(f"  {row['file']}: {row['error']}", file=sys.stderr)
        return 1
    return 0


def _batch_rows(one, extra, recipe, jobs, args) -> list[dict]:
    """The summary rows of ``jobs`` (in order), run here one by one or in parallel on
    --scheduler, with a progress bar over the files."""
    from tqdm import tqdm

    from . import tiling

    rows = [None] * len(jobs)
    with tqdm(total=len(jobs), desc="files", unit="file", disable=None, file=sys.stderr) as bar:
        if args.scheduler is None:
            for i, job in enumerate(jobs):
                bar.set_postfix_str(job[0].name)
                rows[i] = _batch_one(one, extra, recipe, *job)
                bar.update()
            return rows
        with tiling.scheduler(
            args.scheduler, workers=args.workers, memory_limit=args.memory_limit
        ) as client:
            if client is None:
                from concurrent.futures import ThreadPoolExecutor, as_completed

                pool = ThreadPoolExecutor(args.workers or os.cpu_count())
                futures = {
                    pool.submit(_batch_one, one, extra, recipe, *job): i
                    for i, job in enumerate(jobs)
                }
            else:
                from distributed import as_completed

                futures = {
                    client.submit(_batch_one, one, extra, recipe, *job, pure=False): i
                    for i, job in enumerate(jobs)
                }
            for future in as_completed(futures):
                rows[futures[future]] = future.result()
                bar.update()
            if client is None:
                pool.shutdown()
    return rows


def _batch_one(args, extra, recipe, source: Path, target: Path, table: Path | None) -> dict:
    """Segment (and measure) one input of a batch; its summary row, never an exception."""
    row = {"file": str(source), "status": "skipped", "labels": target.name}
    try:
        if args.overwrite or not target.exists():
            one = argparse.Namespace(**{**vars(args), "input": source, "output": target})
            if recipe is not None:
                _run_recipe(one, [], recipe)
            else:
                _run_one(one, list(extra))
            row["status"] = "done"
        if table is not None:
            row.update(
                _batch_table(source, target, table, args.overwrite or row["status"] == "done")
            )
    except Exception as err:  # noqa: BLE001  (a bad file is named at the end, the rest go on)
        row.update(status="failed", error=str(err) or type(err).__name__)
    return row


def _batch_table(source: Path, target: Path, table: Path, redo: bool) -> dict:
    """Write (or read back) the measurements of one output; its summary statistics."""
    import pandas as pd

    from .io import pick_series, read

    labels = pick_series(read(target), None)
    if redo or not table.exists():
        image = pick_series(read(source), None)
        frame = _measure_volume(
            labels,
            image.data
            if tuple(image.data.shape[: labels.data.ndim]) == tuple(labels.data.shape)
            else None,
        )
        _write_frame(table, frame)
    else:
        frame = pd.read_csv(table)
    size = "area" if "area" in frame else "volume"
    values = frame[size]
    stats = {"objects": len(frame), "table": table.name, "units": _size_units(labels, size)}
    for name, value in (
        ("total", values.sum()),
        ("mean", values.mean()),
        ("median", values.median()),
        ("min", values.min()),
        ("max", values.max()),
    ):
        stats[f"{size}_{name}"] = float(value) if len(frame) else float("nan")
    return stats


def _size_units(volume, size: str) -> str:
    unit = volume.units[-1] if _spacing_of(volume) else "pixel"
    return f"{unit}{'²' if size == 'area' else '³'}"


def _measure_volume(labels, image=None, spacing=None):
    """measure() of a labels Volume in its physical units and world position."""
    from .methods.measure import measure

    physical = _spacing_of(labels)
    return measure(
        labels.data,
        image,
        spacing=spacing or physical,
        origin=labels.origin if physical and not spacing else None,
    )


def _write_frame(path: Path, frame, overwrite: bool = True) -> None:
    from .io._atomic import atomic_path

    with atomic_path(path, overwrite=overwrite) as tmp:
        frame.to_csv(tmp, index=False)


def _measure(args, _extra) -> int:
    """`segkit measure LABELS [--image IMAGE] -o TABLE.csv`."""
    from .io import pick_series, read

    if args.output.exists() and not args.overwrite:
        raise FileExistsError(f"{args.output} already exists; add --overwrite to replace it")
    start = time.perf_counter()
    labels = pick_series(read(args.labels), None)
    image = None if args.image is None else pick_series(read(args.image), None).data
    frame = _measure_volume(labels, image, args.spacing)
    _write_frame(args.output, frame, overwrite=args.overwrite)
    size = "area" if "area" in frame else "volume"
    units = (
        "pixel"
        if not (args.spacing or _spacing_of(labels))
        else "the --spacing units"
        if args.spacing
        else labels.units[-1]
    )
    print(
        f"wrote {args.output}: {len(frame)} objects, {len(frame.columns)} columns, {size} "
        f"and lengths in {units}, {time.perf_counter() - start:.2f} s"
    )
    return 0


def _run_unet(args, params: dict) -> int:
    """`segkit run unet IMAGE --model MODEL -o OUT`."""
    import numpy as np
    from tqdm import tqdm

    from . import unet
    from .io import pick_series, read, write

    unet.devices.require_torch()
    if "model" not in params:
        raise ValueError("unet needs --model: a model folder from `segkit train`")
    if args.seeds is not None:
        raise ValueError("unet takes no --seeds")
    start = time.perf_counter()
    path = params.pop("model")
    model = unet.load_model(path, trust=args.trust_code)
    volume = pick_series(read(args.input), args.series).load()
    spacing = volume.spacing if set(volume.units) != {"pixel"} else None
    with tqdm(total=100, desc="unet", unit="%", disable=None, file=sys.stderr) as bar:
        result = unet.predict(
            model,
            volume.data,
            spacing=spacing,
            instances=args.instances,
            device=args.device,
            **params,
            progress=lambda f: bar.update(max(0, round(100 * f) - bar.n)),
        )
    write(args.output, result, like=volume, overwrite=args.overwrite)
    kind = "objects" if result.dtype == np.int32 else "classes"
    print(
        f"wrote {args.output}: {len(np.unique(result[result > 0]))} {kind}, "
        f"unet {path.name}, {time.perf_counter() - start:.2f} s"
    )
    return 0


def _train(args, _extra) -> int:
    """`segkit train --image A --labels A_LABELS ... -o MODEL`."""
    import numpy as np

    from . import unet
    from .io import pick_series, read

    unet.devices.require_torch()  # before reading anything
    if len(args.image) != len(args.labels):
        raise ValueError(
            f"give one --labels per --image ({len(args.image)} images, {len(args.labels)} labels)"
        )
    if args.output.exists() and not args.overwrite:
        raise FileExistsError(f"{args.output} already exists; add --overwrite to replace it")
    _check_writable(args.output.parent)
    images = [pick_series(read(p), None).load() for p in args.image]
    labels = [np.asarray(pick_series(read(p), None).data) for p in args.labels]
    dims = args.spatial_dims or min(3, len(images[0].spacing))
    _check_room(args.output.parent, _model_bytes(args.architecture, dims))

    def show(epoch) -> None:
        dice = (
            ""
            if not epoch.dice
            else "  Dice " + ", ".join(f"{name} {value:.3f}" for name, value in epoch.dice.items())
        )
        print(
            f"epoch {epoch.epoch}: loss {epoch.loss:.4f}{dice}"
            f"{'  (best)' if epoch.best else ''}  {epoch.seconds:.1f} s",
            flush=True,
        )

    patch = args.patch_size[0] if args.patch_size and len(args.patch_size) == 1 else args.patch_size
    model = unet.train(
        images,
        labels,
        labels_are=args.labels_are,
        architecture=args.architecture,
        spatial_dims=args.spatial_dims,
        time_limit=args.time_limit,
        epochs=args.epochs,
        steps=args.steps,
        patch_size=patch,
        loss=args.loss,
        validation=args.validation,
        patience=args.patience,
        resume=args.resume,
        trust=args.trust_code,
        seed=args.seed,
        device=args.device,
        callback=show,
    )
    model.save(args.output, overwrite=args.overwrite)
    best = model.config.get("best_dice")
    print(
        f"wrote {args.output}: {len(model.history)} epochs ({model.config['stopped']})"
        + (
            f", best validation Dice {best:.3f}"
            if best is not None
            else "; never validated: check it before use"
        )
    )
    return 0


def _run_classic(args, function, params: dict) -> int:
    """A segmentation or post-processing method from :func:`classic_commands` on one file."""
    import numpy as np
    from tqdm import tqdm

    from .io import pick_series, read, write
    from .methods import label

    accepted = inspect.signature(function).parameters
    needed = [
        name
        for name, p in list(accepted.items())[1:]
        if p.default is p.empty
        and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        and name not in params
    ]
    if needed and needed != ["seeds"]:
        raise ValueError(
            f"{args.method} needs "
            + ", ".join(f"--{n}" for n in needed if n != "seeds")
            + " (see segkit run --help)"
        )
    if "seeds" not in accepted and args.seeds is not None:
        raise ValueError(f"{args.method} takes no --seeds")
    if "seeds" in needed and args.seeds is None:
        raise ValueError(f"{args.method} needs --seeds: a label image or a CSV of points")
    start = time.perf_counter()
    volume = pick_series(read(args.input), args.series).load()
    if args.seeds is not None:
        params["seeds"] = read_seeds(args.seeds)
    if "spacing" in accepted and set(volume.units) != {"pixel"}:
        params["spacing"] = volume.spacing
    if "rgb" in accepted:
        params.setdefault("rgb", volume.rgb)
    if args.device != "auto":
        params["device"] = args.device
    with tqdm(total=100, desc=args.method, unit="%", disable=None, file=sys.stderr) as bar:
        result = function(
            volume.data, **params, progress=lambda f: bar.update(max(0, round(100 * f) - bar.n))
        )
    if result.dtype == bool:
        result = label(result) if args.instances else result.astype(np.uint8)
    write(args.output, result, like=volume, overwrite=args.overwrite)
    units = " in " + volume.units[-1] if "spacing" in params else ""
    print(
        f"wrote {args.output}: {len(np.unique(result[result > 0]))} labels, "
        f"{args.method}{units}, {time.perf_counter() - start:.2f} s"
    )
    return 0


def _check_writable(folder: Path) -> None:
    """Stop before long work when ``folder`` (where the output goes) is missing or
    read-only."""
    if not folder.is_dir():
        raise FileNotFoundError(f"folder {folder} for the output does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write into folder {folder}; choose another output")


def _check_room(folder: Path, need: int) -> None:
    """Stop before long work when ``folder`` has less than ``need`` bytes free."""
    free = shutil.disk_usage(folder).free
    if free < need:
        raise OSError(
            f"only {free / 1e6:.0f} MB free in {folder} but the model needs about "
            f"{need / 1e6:.0f} MB; free some space or choose another output"
        )


def _model_bytes(architecture: str, dims: int) -> int:
    """About the size (bytes) of a saved model folder: float32 weights plus the optimiser's
    two moments per weight, for a default network of ``architecture`` in ``dims`` D."""
    from .unet import networks

    patch = [64] * dims
    levels = len(networks.DEFAULT_CHANNELS) - 1
    network = networks.build(
        architecture,
        spatial_dims=dims,
        in_channels=1,
        out_channels=2,
        patch=patch,
        strides=networks.strides_for(patch, None, levels),
    )
    return 3 * 4 * sum(p.numel() for p in network.parameters()) + 2**20


def _blockwise(args) -> bool:
    """Whether `segkit run` works block by block (see the "larger than memory" options)."""
    from .io import is_zarr_path
    from .io.tiff import LAZY_BYTES

    asked = (args.scheduler, args.workers, args.memory_limit, args.chunks)
    if any(a is not None for a in asked) or is_zarr_path(args.output):
        return True
    if is_zarr_path(args.input):
        return True
    return (
        args.input.suffix.lower() in (".tif", ".tiff")
        and args.input.is_file()
        and args.input.stat().st_size > LAZY_BYTES
    )


def _spacing_of(volume):
    return volume.spacing if set(volume.units) != {"pixel"} else None


def _run_blockwise(args, function, params: dict) -> int:
    """`segkit run` on dask blocks: the method, then (for masks) labels joined across
    blocks and --min-size, written block by block (.zarr, .tif) on --scheduler."""
    import dask.array as da
    import numpy as np
    from tqdm import tqdm

    from . import tiling
    from .backend import blockwise_version
    from .io import is_zarr_path, pick_series, read, write, write_labels
    from .methods import label, postprocess

    if blockwise_version(function) is None:
        blockwise = sorted(name for name, (f, _) in _methods().items() if blockwise_version(f))
        raise ValueError(
            f"{args.method} needs the whole image in memory; block by block "
            f"runs: {', '.join(blockwise)}. Leave out --scheduler, --workers, "
            "--memory-limit and --chunks, and write .tif or .nii"
        )
    if args.seeds is not None:
        raise ValueError(f"{args.method} takes no --seeds")
    start = time.perf_counter()
    volume = pick_series(read(args.input), args.series)
    data = volume.data
    if not tiling.is_dask(data):
        data = da.from_array(np.asarray(data), chunks=_default_chunks(volume))
    if args.chunks:
        edge = dict.fromkeys(range(data.ndim - volume.rgb), args.chunks)
        data = data.rechunk({**edge, **({data.ndim - 1: -1} if volume.rgb else {})})
    if "spacing" in inspect.signature(function).parameters and _spacing_of(volume):
        params["spacing"] = volume.spacing
    if args.method == "adaptive" and params.pop("physical", False):
        params["spacing"] = volume.spacing
    if "rgb" in inspect.signature(function).parameters:
        params.setdefault("rgb", volume.rgb)
    if args.scheduler not in (None, "threads") and not args.verbose:
        tiling.run.import_distributed()  # it sets its loggers' levels when imported
        logging.getLogger("distributed").setLevel(logging.WARNING)
    with tiling.scheduler(
        args.scheduler, workers=args.workers, memory_limit=args.memory_limit
    ) as client:
        where = (
            "threads"
            if client is None
            else f"{client.scheduler.address} (dashboard {client.dashboard_link})"
        )
        with tqdm(total=100, unit="%", disable=None, file=sys.stderr) as bar:

            def stage(name):
                bar.set_description(name)
                bar.reset()
                return lambda f: bar.update(max(0, round(100 * f) - bar.n))

            result = function(data, device=args.device, progress=stage(args.method), **params)
            if result.dtype == bool and args.instances:
                result = label(result, device=args.device, progress=stage("label"))
            if args.min_size:
                result = postprocess.remove_small_objects(
                    result, args.min_size, spacing=_spacing_of(volume), progress=stage("min size")
                )
            if result.dtype == bool:
                result = result.astype(np.uint8)
            if args.output.suffix.lower() in (".tif", ".tiff") or is_zarr_path(args.output):
                found = write_labels(
                    args.output,
                    result,
                    like=volume,
                    overwrite=args.overwrite,
                    progress=stage("write"),
                )["max"]
            else:
                result = tiling.compute([result])[0]
                write(args.output, result, like=volume, overwrite=args.overwrite)
                found = int(result.max(initial=0))
    kind = "largest id" if args.instances or result.dtype != np.uint8 else "largest value"
    print(
        f"wrote {args.output}: {kind} {found}, {args.method} block by block "
        f"({int(np.prod(data.numblocks))} blocks of {data.chunksize[: data.ndim - volume.rgb]})"
        f" on {where}, "
        f"{time.perf_counter() - start:.2f} s"
    )
    return 0


def _default_chunks(volume) -> tuple:
    from .io.chunked import CHUNK_2D, CHUNK_3D

    spatial = volume.data.ndim - volume.rgb
    edge = CHUNK_2D if spatial == 2 else CHUNK_3D
    return (edge,) * spatial + ((-1,) if volume.rgb else ())


def read_seeds(path: Path) -> np.ndarray:
    """Seeds from a CSV of points (rows of voxel indices; a header row is skipped) or from a
    label image file."""
    import numpy as np

    from .io import pick_series, read

    if path.suffix.lower() != ".csv":
        return np.asarray(pick_series(read(path), None).data)
    rows = [line.split(",") for line in path.read_text().splitlines() if line.strip()]
    try:
        float(rows[0][0])
    except (IndexError, ValueError):
        rows = rows[1:]  # a header
    try:
        points = np.array([[float(v) for v in row] for row in rows], dtype=float)
    except ValueError:
        raise ValueError(
            f"{path}: every row after the header must be numbers (voxel indices)"
        ) from None
    if points.ndim != 2 or len(points) == 0:
        raise ValueError(f"{path} holds no points: one row per seed, e.g. 12,40,40")
    return points


def _info(args, _extra) -> int:
    import dask

    from .io import read

    volumes = read(args.input)
    volumes = volumes if isinstance(volumes, list) else [volumes]
    print(f"file:    {args.input}" + (f"  ({len(volumes)} series)" if len(volumes) > 1 else ""))
    for volume in volumes:
        data = volume.data
        low, high = dask.compute(data.min(), data.max())
        size = " × ".join(f"{s:g} {u}" for s, u in zip(volume.spacing, volume.units))
        if len(volumes) > 1:
            print(f"\nseries:  {volume.metadata.get('series_number')}: {volume.name}")
        print(
            f"reader:  {volume.metadata.get('reader', '?')}"
            + ("  (lazy: planes are read when used)" if volume.metadata.get("lazy") else "")
        )
        print(f"shape:   {tuple(data.shape)}  axes: {volume.axes}{'  (RGB)' if volume.rgb else ''}")
        print(f"dtype:   {data.dtype}  range: {low} … {high}")
        print(f"spacing: {size}")
        print(
            f"origin:  {tuple(round(o, 4) for o in volume.origin)}"
            + (f"  ({volume.space} patient coordinates, z y x)" if volume.space else "")
        )
        for key, caption in (
            ("reoriented", "shown:   reoriented"),
            ("gantry_tilt_degrees", "tilt °: "),
            ("note", "note:   "),
            ("oblique_degrees", "oblique°:"),
            ("channel_names", "channels:"),
        ):
            value = volume.metadata.get(key)
            if value and value != "none" and not (key == "oblique_degrees" and value < 0.5):
                print(f"{caption} {round(value, 2) if isinstance(value, float) else value}")
    return 0


def _eval(args, _extra) -> int:
    import numpy as np

    from .io import read
    from .io.table import write_csv
    from .methods.metrics import evaluate

    if args.output and args.output.exists() and not args.overwrite:
        raise FileExistsError(f"{args.output} already exists; add --overwrite to replace it")
    table, summaries = [], []
    for name, pred_path, ref_path in _pairs(args.prediction, args.reference):
        pred, ref = read(pred_path), read(ref_path)
        spacing = args.spacing or (ref.spacing if set(ref.units) != {"pixel"} else None)
        rows, summary = evaluate(
            pred.load().data,
            ref.load().data,
            spacing=spacing,
            mode=args.mode,
            tolerance=args.tolerance,
        )
        table += [{"file": name, **row} for row in rows]
        summaries.append(summary)
        print(f"{name}: " + ", ".join(f"{k} {_fmt(v)}" for k, v in summary.items()))
    if len(summaries) > 1:
        keys = [k for k, v in summaries[0].items() if isinstance(v, float)]
        print(
            f"mean of {len(summaries)} files: "
            + ", ".join(f"{k} {_fmt(float(np.nanmean([s[k] for s in summaries])))}" for k in keys)
        )
    if args.output:
        write_csv(args.output, table)
        print(f"wrote {args.output}: {len(table)} rows")
    return 0


def _pairs(prediction: Path, reference: Path):
    """(name, prediction file, reference file) for two files or two folders."""
    if prediction.is_dir() != reference.is_dir():
        raise ValueError("PRED and REF must both be files or both be folders")
    if not prediction.is_dir():
        return [(prediction.name, prediction, reference)]

    def stem(p: Path) -> str:
        return p.name.split(".")[0]

    refs = {stem(p): p for p in sorted(reference.iterdir()) if p.is_file()}
    pairs = [
        (stem(p), p, refs[stem(p)])
        for p in sorted(prediction.iterdir())
        if p.is_file() and stem(p) in refs
    ]
    if not pairs:
        raise ValueError(f"no file in {prediction} has a namesake in {reference}")
    return pairs


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _demo(args, _extra) -> int:
    from .demo import DEMO_SAMPLES, fresh_folder, run_demo, show_in_napari  # napari: --gui

    if args.gui:
        import napari

        show_in_napari(args.sample or "nuclei_2d", device=args.device)
        napari.run()
        return 0
    names = [args.sample] if args.sample else DEMO_SAMPLES
    out = args.out or Path("segkit-demo")
    if args.out is None and not args.overwrite:
        out = fresh_folder(out, names)
    rows = run_demo(out, names=names, device=args.device, overwrite=args.overwrite)
    print(
        f"{'sample':<11} {'shape':<16} {'threshold':>9} {'objects':>8} {'truth':>6} "
        f"{'Dice':>6} {'seconds':>8}  device"
    )
    for r in rows:
        truth = "" if r["true_objects"] is None else r["true_objects"]
        dice = "" if r["dice"] is None else f"{r['dice']:.3f}"
        print(
            f"{r['sample']:<11} {str(r['shape']):<16} {r['threshold']:>9.4g} {r['objects']:>8} "
            f"{truth!s:>6} {dice:>6} {r['seconds']:>8.3f}  {r['device']}"
        )
    print(f"labels (*_labels.tif) and overviews (*_overview.png) are in {out.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
