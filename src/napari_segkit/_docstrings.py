"""What a numpydoc docstring says about a function's parameters, for the faces that list them
(the panels' fields and tooltips, the command line's options)."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass

_ENTRY = re.compile(r"^(\*{0,2}[\w, *]+?)(?: : (.*))?$")
_CHOICE = re.compile(r"""["']([^"']*)["']""")


@dataclass(frozen=True)
class ParameterDoc:
    """One entry of a Parameters section: its type text and description (one line each)."""

    kind: str
    text: str

    @property
    def choices(self) -> tuple[str, ...]:
        """The allowed strings of a type written ``{"a", "b"}``; () for other types."""
        braces = re.match(r"\{(.*?)\}", self.kind)
        return tuple(_CHOICE.findall(braces.group(1))) if braces else ()


@functools.cache
def parameter_docs(function: Callable) -> dict[str, ParameterDoc]:
    """name -> :class:`ParameterDoc` from ``function``'s numpydoc Parameters section
    (``a, b : float`` documents both; "As for ..." entries are kept as written). Cached:
    a panel asks once per field; do not change the returned dict."""
    lines = (inspect.getdoc(inspect.unwrap(function)) or "").splitlines()
    found: dict[str, ParameterDoc] = {}
    inside = False
    names: list[str] = []
    kind, text = "", []
    for i, line in enumerate(lines):
        underline = i + 1 < len(lines) and re.fullmatch(r"-{3,}", lines[i + 1].strip())
        if underline:
            inside = line.strip() == "Parameters"
            continue
        if not inside or re.fullmatch(r"-{3,}", line.strip()):
            continue
        if line and not line[0].isspace() and (match := _ENTRY.match(line)):
            _store(found, names, kind, text)
            names = [n.strip().lstrip("*") for n in match.group(1).split(",")]
            kind, text = match.group(2) or "", []
        elif line.strip():
            text.append(line.strip())
    _store(found, names, kind, text)
    return found


def _store(found: dict, names: list[str], kind: str, text: list[str]) -> None:
    for name in names:
        found[name] = ParameterDoc(kind, " ".join(text))
