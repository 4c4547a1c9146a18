"""Install size and start-up time of napari-segkit: the light install and its extras.

Make the light venv first (no extras; the constraint keeps PyTorch on its CPU build):

    python3 -m venv /tmp/lightvenv
    PIP_CONSTRAINT=constraints/cpu.txt /tmp/lightvenv/bin/pip install .

then ``python benchmarks/bench_install.py --light /tmp/lightvenv --full /work/venv``. The extras'
sizes are those of the distributions their requirements pull that the light venv lacks, read
from a venv that has them (``--full``). Sizes are MiB of the files each distribution's RECORD
lists (what pip wrote, .pyc included); the venv's total is also given as ``du`` reports it.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

EXTRAS = {"unet": ["monai>=1.3", "torch>=2.1", "einops>=0.7"],
          "distributed": ["dask[distributed]>=2023.6"]}


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
    seen, stack = set(), [(_name(Requirement(r).name), tuple(Requirement(r).extras))
                          for r in roots]
    while stack:
        name, extras = stack.pop()
        if (name, extras) in seen or name not in dists:
            continue
        seen.add((name, extras))
        for text in dists[name].requires or ():
            req = Requirement(text)
            if req.marker is None or any(req.marker.evaluate({"extra": e})
                                         for e in extras or ("",)):
                stack.append((_name(req.name), tuple(req.extras)))
    return {name for name, _ in seen}


def _best(command: list[str], repeat: int) -> float:
    """Best wall time (s) of ``repeat`` runs of ``command``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def sizes(light: Path, full: Path) -> list[str]:
    dists = _distributions(light)
    size = {name: _mib(d) for name, d in dists.items()}
    core = [r for r in dists["napari-segkit"].requires if "extra ==" not in r]
    every = _closure(dists, core) | {"napari-segkit"}
    disk = subprocess.run(["du", "-sm", str(light)], capture_output=True, text=True)
    out = [f"Light venv: `du -sm` {disk.stdout.split()[0]} MiB on disk; the distributions "
           f"napari-segkit pulls: {len(every)}, {sum(size[n] for n in every):.0f} MiB "
           f"({sum(size[n] for n in every) * 2**20 / 1e9:.2f} GB) of files.", "",
           "| largest distributions | MiB |", "|---|---:|"]
    out += [f"| {n} {dists[n].version} | {size[n]:.1f} |"
            for n in sorted(every, key=size.get, reverse=True)[:15]]
    out += ["", "| core requirement | MiB gone without it | what leaves with it |",
            "|---|---:|---|"]
    rows = []
    for req in core:
        name = _name(Requirement(req).name)
        gone = every - _closure(dists, [r for r in core if r != req]) - {"napari-segkit"}
        rows.append((sum(size[n] for n in gone), name, sorted(gone, key=size.get, reverse=True)))
    for mib, name, gone in sorted(rows, reverse=True)[:6]:
        listed = ", ".join(f"{n} {size[n]:.0f}" for n in gone[:6])
        listed += f" (+{len(gone) - 6} more)" if len(gone) > 6 else ""
        out.append(f"| {name} | {mib:.1f} | {listed} |")
    more = _distributions(full)
    out += ["", "| extra | MiB added | distributions added |", "|---|---:|---|"]
    for extra, roots in EXTRAS.items():
        added = sorted(_closure(more, roots) - set(dists), key=lambda n: -_mib(more[n]))
        listed = ", ".join(f"{n} {more[n].version} {_mib(more[n]):.0f}" for n in added)
        out.append(f"| `[{extra}]` | {sum(_mib(more[n]) for n in added):.0f} | {listed} |")
    return out


def timings(light: Path, repeat: int) -> list[str]:
    python, segkit = str(light / "bin" / "python"), str(light / "bin" / "segkit")
    out = ["| command (light venv) | best of | seconds |", "|---|---:|---:|"]
    for text, command in (("python -c pass", [python, "-c", "pass"]),
                          ("python -c 'import napari_segkit'",
                           [python, "-c", "import napari_segkit"]),
                          ("segkit --version", [segkit, "--version"]),
                          ("segkit --help", [segkit, "--help"])):
        out.append(f"| `{text}` | {repeat} | {_best(command, repeat):.3f} |")
    with tempfile.TemporaryDirectory() as folder:
        for run in (1, 2):
            start = time.perf_counter()
            subprocess.run([segkit, "demo", "--out", f"{folder}/demo{run}"], check=True,
                           capture_output=True)
            out.append(f"| `segkit demo` (run {run}) | 1 | {time.perf_counter() - start:.1f} |")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--light", type=Path, required=True, help="venv with `pip install .`")
    parser.add_argument("--full", type=Path, default=Path(sys.prefix),
                        help="venv with the extras (default: this one)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print("\n".join(sizes(args.light, args.full) + [""] + timings(args.light, args.repeat)))


if __name__ == "__main__":
    main()
