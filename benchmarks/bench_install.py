"""Install size and start-up time of napari-segkit: the light install and each extra.

Make the light venv first (no extras; the constraint keeps PyTorch on its CPU build):

    python3 -m venv /tmp/lightvenv
    PIP_CONSTRAINT=constraints/cpu.txt /tmp/lightvenv/bin/pip install .

then ``python benchmarks/bench_install.py --light /tmp/lightvenv --source .``. Each extra is
installed (``pip install "SOURCE[extra]"``, with ``--constraint``) into its own copy of the
light venv, which shows that it installs and imports and what it adds beyond the light venv.
Sizes are MiB of the files each distribution's RECORD lists (what pip wrote, .pyc included),
and the venv as ``du -sb`` (bytes of its files) and ``du -sm`` (space on disk) report it.
Without ``--source`` the extras are left out.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import time
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
#: each extra, and a check run in a venv that has it (it must exit 0; what it prints is shown)
EXTRAS = {
    "gmm": "import sklearn.mixture, sklearn; print('scikit-learn', sklearn.__version__)",
    "dicom": "import pylibjpeg, libjpeg, openjpeg; print('pylibjpeg', pylibjpeg.__version__)",
    "distributed": "import distributed; print('distributed', distributed.__version__)",
    "unet": "import torch, monai; print('torch', torch.__version__, 'monai', monai.__version__)",
    "gpu": "import cupy; from napari_segkit.backend import gpu_status; "
    "print('cupy', cupy.__version__, gpu_status())",
}


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def _distributions(venv: Path) -> dict:
    site = next(venv.glob("lib/python3*/site-packages"))
    return {_name(d.metadata["Name"]): d for d in metadata.distributions(path=[str(site)])}


def _mib(dist) -> float:
    """MiB of the files a distribution's RECORD lists."""
    paths = (Path(dist.locate_file(f)) for f in dist.files or ())
    return sum(p.stat().st_size for p in paths if p.is_file()) / 2**20


def _closure(dists: dict, roots: list[str]) -> set[str]:
    """The distributions (names) that requirement strings ``roots`` pull, extras followed."""
    seen, stack = set(), [(_name(Requirement(r).name), tuple(Requirement(r).extras)) for r in roots]
    while stack:
        name, extras = stack.pop()
        if (name, extras) in seen or name not in dists:
            continue
        seen.add((name, extras))
        for text in dists[name].requires or ():
            req = Requirement(text)
            if req.marker is None or any(
                req.marker.evaluate({"extra": e}) for e in extras or ("",)
            ):
                stack.append((_name(req.name), tuple(req.extras)))
    return {name for name, _ in seen}


def _du(path: Path, flag: str) -> int:
    """``du FLAG path`` (``-sb``: bytes of the files; ``-sm``: MiB of disk space)."""
    return int(
        subprocess.run(
            ["du", flag, str(path)], capture_output=True, text=True, check=True
        ).stdout.split()[0]
    )


def _pycache_mib(venv: Path) -> float:
    """MiB of disk space the ``__pycache__`` folders of ``venv`` take."""
    return (
        sum(
            f.stat().st_blocks * 512
            for folder in venv.rglob("__pycache__")
            for f in folder.iterdir()
        )
        / 2**20
    )


def _best(command: list[str], repeat: int) -> float:
    """Best wall time (s) of ``repeat`` runs of ``command``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def sizes(light: Path) -> list[str]:
    dists = _distributions(light)
    size = {name: _mib(d) for name, d in dists.items()}
    core = [r for r in dists["napari-segkit"].requires if "extra ==" not in r]
    every = _closure(dists, core) | {"napari-segkit"}
    files, sb, sm = sum(size[n] for n in every), _du(light, "-sb"), _du(light, "-sm")
    out = [
        "| light venv, counted as | MiB | GB |",
        "|---|---:|---:|",
        f"| files of the {len(every)} distributions napari-segkit pulls | {files:.0f} | "
        f"{files * 2**20 / 1e9:.2f} |",
        f"| all files of the venv ({len(dists)} distributions; `du -sb`) | {sb / 2**20:.0f} "
        f"| {sb / 1e9:.2f} |",
        f"| space on disk (`du -sm`) | {sm} | {sm * 2**20 / 1e9:.2f} |",
        f"| of which `__pycache__` (on disk) | {_pycache_mib(light):.0f} | |",
        "",
        "| largest distributions | MiB |",
        "|---|---:|",
    ]
    out += [
        f"| {n} {dists[n].version} | {size[n]:.1f} |"
        for n in sorted(every, key=size.get, reverse=True)[:15]
    ]
    out += [
        "",
        "| core requirement | MiB gone without it | what leaves with it |",
        "|---|---:|---|",
    ]
    rows = []
    for req in core:
        name = _name(Requirement(req).name)
        gone = every - _closure(dists, [r for r in core if r != req]) - {"napari-segkit"}
        rows.append((sum(size[n] for n in gone), name, sorted(gone, key=size.get, reverse=True)))
    for mib, name, gone in sorted(rows, reverse=True)[:6]:
        listed = ", ".join(f"{n} {size[n]:.0f}" for n in gone[:6])
        listed += f" (+{len(gone) - 6} more)" if len(gone) > 6 else ""
        out.append(f"| {name} | {mib:.1f} | {listed} |")
    return out


def extra(light: Path, source: Path, name: str, constraint: Path | None) -> str:
    """A table row: ``SOURCE[name]`` installed into a copy of ``light``, timed and checked."""
    with tempfile.TemporaryDirectory() as folder:
        venv = Path(folder) / "venv"
        subprocess.run(["cp", "-a", str(light), str(venv)], check=True)
        python = str(venv / "bin" / "python")
        pip = [python, "-m", "pip", "install", "--quiet", f"{source}[{name}]"]
        pip += ["--constraint", str(constraint)] if constraint else []
        start = time.perf_counter()
        done = subprocess.run(pip, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode:
            return f"| `[{name}]` | fails | | | {done.stderr.strip().splitlines()[-1]} | |"
        check = subprocess.run(
            [python, "-c", EXTRAS[name]], capture_output=True, text=True, check=True
        ).stdout.strip()
        before, after = _distributions(light), _distributions(venv)
        added = sorted(set(after) - set(before), key=lambda n: -_mib(after[n]))
        changed = [
            n
            for n in set(after) & set(before) - {"napari-segkit"}
            if after[n].version != before[n].version
        ]
        listed = ", ".join(f"{n} {after[n].version} {_mib(after[n]):.0f}" for n in added)
        listed += "".join(f"; {n} {before[n].version} → {after[n].version}" for n in changed)
        mib = sum(_mib(after[n]) for n in added)
        grown = _du(venv, "-sm") - _du(light, "-sm")
    return f"| `[{name}]` | {seconds:.0f} | {mib:.0f} | {grown} | {listed} | {check} |"


def extras(light: Path, source: Path, constraint: Path | None) -> list[str]:
    out = [
        "| extra | install (s) | MiB added (files) | `du -sm` growth | distributions added "
        "(MiB) | check |",
        "|---|---:|---:|---:|---|---|",
    ]
    return out + [extra(light, source, name, constraint) for name in EXTRAS]


def _import_ms(python: str, repeat: int) -> float:
    """Best cumulative ``-X importtime`` of ``napari_segkit`` (ms) over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        err = subprocess.run(
            [python, "-X", "importtime", "-c", "import napari_segkit"],
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        row = next(
            line for line in err.splitlines() if line.split("|")[-1].strip() == "napari_segkit"
        )
        times.append(int(row.split("|")[1]) / 1000)
    return min(times)


def timings(light: Path, repeat: int) -> list[str]:
    python, segkit = str(light / "bin" / "python"), str(light / "bin" / "segkit")
    out = ["| command (light venv) | best of | seconds |", "|---|---:|---:|"]
    for text, command in (
        ("python -c pass", [python, "-c", "pass"]),
        ("python -c 'import napari_segkit'", [python, "-c", "import napari_segkit"]),
        ("segkit --version", [segkit, "--version"]),
        ("segkit --help", [segkit, "--help"]),
    ):
        out.append(f"| `{text}` | {repeat} | {_best(command, repeat):.3f} |")
    out.append(
        f"| `python -X importtime -c 'import napari_segkit'`: napari_segkit, "
        f"cumulative | {repeat} | {_import_ms(python, repeat) / 1000:.3f} |"
    )
    with tempfile.TemporaryDirectory() as folder:
        for run in (1, 2):
            start = time.perf_counter()
            subprocess.run(
                [segkit, "demo", "--out", f"{folder}/demo{run}"], check=True, capture_output=True
            )
            out.append(f"| `segkit demo` (run {run}) | 1 | {time.perf_counter() - start:.1f} |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--light", type=Path, required=True, help="venv with `pip install .`")
    parser.add_argument(
        "--source",
        type=Path,
        help="napari-segkit's source, to install the extras from (default: leave the extras out)",
    )
    parser.add_argument(
        "--constraint",
        type=Path,
        default=ROOT / "constraints" / "cpu.txt",
        help="pip constraints for the extras (default: constraints/cpu.txt)",
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    constraint = args.constraint if args.constraint.exists() else None
    more = [""] + extras(args.light, args.source.resolve(), constraint) if args.source else []
    print("\n".join(sizes(args.light) + more + [""] + timings(args.light, args.repeat)))


if __name__ == "__main__":
    main()
