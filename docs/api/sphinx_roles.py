"""A Griffe extension for the API reference: numpydoc's Sphinx markup to Markdown.

The docstrings are written for ``help()`` and numpydoc; mkdocstrings renders Markdown. For the
site only, this rewrites ``:func:`x``` (and ``:class:``, ``:mod:``, ``~a.b`` ...) to ```x```,
``:doi:`d``` to a link, the entries of "See Also" and "References" to list items and the
citation ``[1]_`` to ``[1]``. mkdocs.yml loads it; the docstrings themselves are unchanged.
"""

from __future__ import annotations

import re

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|obj|exc|const):`(~?)([^`]+)`")
DOI = re.compile(r":doi:`([^`]+)`")
CITATION = re.compile(r"\[(\w+)\]_")
SEE_ALSO = re.compile(r"([\w.]+(?:, [\w.]+)*)(?: : (.*))?")  # "name : what" or "a, b"
REFERENCE = re.compile(r"\.\. (\[\w+\] .*)")  # ".. [1] Author, title ..."


def _role(match: re.Match) -> str:
    name = match[2].rsplit(".", 1)[-1] if match[1] else match[2]
    return f"`{name}`"


def _entry(line: str, section: str) -> str:
    """A top-level line of a See Also or References section as a Markdown list item."""
    if section == "See Also" and (match := SEE_ALSO.fullmatch(line)):
        names = ", ".join(f"`{name}`" for name in match[1].split(", "))
        return f"- {names}: {match[2]}" if match[2] else f"- {names}"
    if section == "References" and (match := REFERENCE.fullmatch(line)):
        return f"- {match[1]}"
    return line


def to_markdown(text: str) -> str:
    """``text`` with the Sphinx roles, See Also and References rewritten as Markdown."""
    lines = text.splitlines()
    section = ""
    for i, line in enumerate(lines):
        if i + 1 < len(lines) and line.strip() and set(lines[i + 1].strip()) == {"-"}:
            section = line.strip()
        elif line and not line[0].isspace():
            lines[i] = _entry(line, section)
    text = ROLE.sub(_role, "\n".join(lines))
    text = DOI.sub(r"[doi:\1](https://doi.org/\1)", text)
    return CITATION.sub(r"\\[\1\\]", text)  # escaped: "[3] [4]" is no Markdown link


class SphinxRoles(griffe.Extension):
    """Rewrite each docstring as it is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = to_markdown(obj.docstring.value)
