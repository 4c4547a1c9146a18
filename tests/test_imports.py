"""Heavy libraries load where they are used, not when napari-segkit is imported.

Each case runs in a fresh interpreter and lists which heavy modules it left in sys.modules:
a rule about imports, not a timing (timings are in the report of issue 25)."""

import subprocess
import sys

import pytest

HEAVY = (
    "torch",
    "dask",
    "pydicom",
    "zarr",
    "nibabel",
    "sklearn",
    "monai",
    "pandas",
    "numba",
    "cupy",
)

_CLI = (
    "import contextlib, io\nfrom napari_segkit.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    try:\n        main([{flag!r}])\n    except SystemExit:\n        pass\n"
)


def _heavy_after(code: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The heavy modules (and ``extra``) imported by running ``code`` in a new Python."""
    check = f"import sys\nprint(sorted(m for m in {HEAVY + extra!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\n{check}"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return eval(done.stdout.strip().splitlines()[-1])


def test_import_package_loads_no_science_stack():
    assert _heavy_after("import napari_segkit", extra=("scipy", "skimage")) == []


@pytest.mark.parametrize(
    "code",
    [
        "import napari_segkit.methods, napari_segkit.methods.metrics",
        "from napari_segkit import read, write, Volume, threshold, label",
        "import napari_segkit._reader, napari_segkit._writer",
        _CLI.format(flag="--version"),
        _CLI.format(flag="--help"),
    ],
    ids=["methods", "public-api", "napari-reader-writer", "cli-version", "cli-help"],
)
def test_heavy_libraries_load_only_where_used(code):
    assert _heavy_after(code) == []


@pytest.mark.parametrize(
    "code",
    [
        "import napari_segkit.cli",
        _CLI.format(flag="--version"),
        _CLI.format(flag="--help"),
    ],
    ids=["import", "version", "help"],
)
def test_the_command_line_starts_without_the_science_stack(code):
    """`segkit --version` and `--help` start at once: the methods (scikit-image, SciPy) and
    even NumPy load only when a command runs."""
    assert _heavy_after(code, extra=("scipy.ndimage", "skimage", "numpy")) == []


def test_reading_a_small_tiff_and_measuring_it_loads_no_dask(tmp_path):
    """A small TIFF is read into memory, labelled and measured: only pandas (the table) and
    CuPy (the "auto" device asks for a GPU) may load; dask and zarr are for lazy stacks."""
    path = tmp_path / "small.tif"
    code = (
        "import numpy as np, tifffile\n"
        f"tifffile.imwrite({str(path)!r}, np.arange(64, dtype=np.uint8).reshape(8, 8))\n"
        "import napari_segkit as sk\n"
        f"volume = sk.read({str(path)!r}).load()\n"
        "sk.measure(sk.label(volume.data > 31))\n"
    )
    assert set(_heavy_after(code)) <= {"pandas", "cupy"}


def test_the_check_sees_an_import():
    """The blockwise package is the dask part: importing it shows up (the check works)."""
    assert "dask" in _heavy_after("import napari_segkit.tiling")


_NO_TORCH = "import sys\nsys.modules['torch'] = None  # as without the unet extra\n"


@pytest.mark.parametrize(
    "call",
    [
        "unet.train(np.zeros((32, 32), np.float32), np.ones((32, 32), np.uint8))",
        "unet.predict('some-model', np.zeros((32, 32), np.float32))",
        "unet.load_model('some-model')",
    ],
)
def test_the_unet_without_pytorch_names_the_extra_to_install(call):
    """The classic methods need no PyTorch; the U-Net says in one sentence what to install."""
    code = (
        _NO_TORCH + "import numpy as np\nfrom napari_segkit import unet, threshold\n"
        "threshold(np.arange(64.0).reshape(8, 8))\n"
        f"try:\n    {call}\nexcept ImportError as err:\n    print(type(err).__name__, err)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    # MONAI is installed here but cannot import without PyTorch, so both are named
    assert done.stdout.startswith(
        "MissingDependency the U-Net needs torch and monai, which "
        'are not installed: pip install "napari-segkit[unet]"'
    )


def test_segkit_train_without_pytorch_is_one_line(tmp_path):
    code = (
        _NO_TORCH + "from napari_segkit.cli import main\n"
        f"sys.exit(main(['train', '--image', 'x.tif', '--labels', 'y.tif', "
        f"'-o', {str(tmp_path / 'model')!r}]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "segkit: error: the U-Net needs torch and monai, which are not installed: pip install "
        '"napari-segkit[unet]" (without an NVIDIA GPU, install PyTorch\'s CPU build first, '
        "as the README says)"
    ]


_NO_DISTRIBUTED = (
    'a Dask cluster (scheduler "local" or an address) needs distributed, which '
    'is not installed: pip install "napari-segkit[distributed]"'
)


def test_a_cluster_without_distributed_names_the_extra(monkeypatch):
    """Blocks run on threads with dask alone; a cluster says in one sentence what to install."""
    import dask.array as da
    import dask.base

    from napari_segkit import tiling
    from napari_segkit._checks import MissingDependency

    monkeypatch.setitem(sys.modules, "distributed", None)  # as without the distributed extra
    # dask caches whether distributed imports; put its cache back after this test
    monkeypatch.setattr(dask.base, "_DISTRIBUTED_AVAILABLE", None, raising=False)
    with tiling.scheduler("threads") as client:
        assert client is None
        assert tiling.compute([da.arange(10, chunks=3).sum()]) == [45]
    for address in ("local", "tcp://127.0.0.1:8786"):
        with pytest.raises(MissingDependency) as missing:
            with tiling.scheduler(address):
                pass
        assert str(missing.value) == _NO_DISTRIBUTED


def test_segkit_run_on_a_cluster_without_distributed_is_one_line(tmp_path, monkeypatch, capsys):
    import numpy as np
    import tifffile

    from napari_segkit.cli import main

    tifffile.imwrite(tmp_path / "in.tif", np.arange(64, dtype=np.uint8).reshape(8, 8))
    monkeypatch.setitem(sys.modules, "distributed", None)
    assert (
        main(
            [
                "run",
                "threshold",
                str(tmp_path / "in.tif"),
                "-o",
                str(tmp_path / "out.tif"),
                "--scheduler",
                "local",
            ]
        )
        == 1
    )
    assert capsys.readouterr().err.strip().splitlines() == [f"segkit: error: {_NO_DISTRIBUTED}"]
    assert not (tmp_path / "out.tif").exists()
