"""The README stays short, and every relative link in the docs leads somewhere.

Anchors are checked by GitHub's rule for heading ids: the heading's text,
lower-cased, with everything but word characters, hyphens and spaces
removed and spaces turned into hyphens; a repeated id gets ``-1``, ``-2``...
"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_LIMIT = 12 * 1024
PAGES = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")
SOURCE_DIRS = ("lava_eprop", "compilers", "process_models", "benchmarks", "tests")
#: ``docs/<page>.md`` or ``docs/<page>.md#anchor`` named in a docstring or comment.
SOURCE_REFERENCE = re.compile(r"\bdocs/([\w.-]+\.md)(?:#([\w-]+))?")


def prose_lines(text: str):
    """The lines outside fenced code blocks; inline code is dropped from prose
    (links in it are not links) and kept as text in headings (as GitHub's ids
    keep it)."""
    fenced = False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield re.sub(r"`[^`]*`", lambda m: m.group(0).strip("`"), line) \
                if line.lstrip().startswith("#") else re.sub(r"`[^`]*`", "", line)


def slug(heading: str) -> str:
    """GitHub's id of a heading with this text."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)     # a link counts as its text
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors_in(text: str) -> list:
    """The ids of the headings in this Markdown text, in order."""
    ids, seen = [], {}
    for line in prose_lines(text):
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            ids.append(base if count == 0 else f"{base}-{count}")
    return ids


def missing(file: Path, anchor: str) -> str | None:
    """What is missing of ``file#anchor`` (None if both exist)."""
    if not file.exists():
        return f"{file.relative_to(ROOT)}: no such file"
    if anchor and file.suffix == ".md" and anchor not in anchors_in(file.read_text()):
        return f"{file.relative_to(ROOT)}#{anchor}: no such heading"
    return None


def test_slug_follows_githubs_rule():
    assert slug("Changing one key: --set") == "changing-one-key---set"
    assert slug("Why evidence accumulation does not learn with Lava's model") == \
        "why-evidence-accumulation-does-not-learn-with-lavas-model"
    assert slug("tag_2 is the synaptic delay") == "tag_2-is-the-synaptic-delay"
    assert slug("See [the notes](notes.md) → here") == "see-the-notes--here"
    assert anchors_in("# A\n## A\n```\n# not a heading\n```\n## `A`\n") == ["a", "a-1", "a-2"]


def test_readme_is_at_most_12_kb():
    size = len((ROOT / "README.md").read_bytes())
    assert size <= README_LIMIT, f"README.md is {size} bytes; move detail to docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    problems = []
    for line in prose_lines(page.read_text()):
        for target in LINK.findall(line):
            if re.match(r"[a-z][a-z0-9+.-]*:", target):        # http:, https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            why = missing((page.parent / path).resolve() if path else page, anchor)
            if why:
                problems.append(why)
    assert not problems, problems


def test_docs_pages_named_in_the_code_exist_with_their_sections():
    problems = []
    for folder in SOURCE_DIRS:
        for source in sorted((ROOT / folder).rglob("*.py")):
            if source.name == Path(__file__).name:
                continue
            for name, anchor in SOURCE_REFERENCE.findall(source.read_text()):
                why = missing(ROOT / "docs" / name, anchor)
                if why:
                    problems.append(f"{source.relative_to(ROOT)}: {why}")
    assert not problems, problems
