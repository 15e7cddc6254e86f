"""No docstring, comment, message or catalog entry cites a document the repository does not have.

Design notes and on-disk facts once lived in documents outside the repository, which a user of the
package never sees; what a reader needs is in the documentation (`docs/`), and citations point there.
The site's own links are checked by `mkdocs build --strict`, so docs/ is not scanned here. A catalog
entry's values (its `facts_source`, its files) name the publishers' documents, outside any repository of
ours by design: only the entries' comments are scanned, and not the index compiled from them.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CITED = re.compile(r"(?<![\w/.{}-])((?:\.{1,2}/)*[\w][\w./-]*\.md)\b")
NOT_SCANNED = ("docs/", "tools/docs_hooks.py", "catalog/index.json")
TEXT_SUFFIXES = {".py", ".yaml", ".yml", ".json", ".toml", ".md", ".sh", ".cff", ".txt", ".jinja", ""}


def _files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [
        REPO / name
        for name in listed
        if not name.startswith(NOT_SCANNED)
        and Path(name).suffix in TEXT_SUFFIXES
        and not name.startswith("tests/data/")
        and (REPO / name).is_file()
    ]


def _exists(cited: str, where: Path, names: set[str]) -> bool:
    if "/" not in cited.strip("./"):
        return Path(cited).name in names
    return any((base / cited).exists() for base in (where.parent, REPO, REPO / "docs"))


def _scanned_lines(path: Path) -> list[tuple[int, str]]:
    lines = list(enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1))
    if path.parent.name == "catalog":  # the entries' comments, not the publishers' facts they record
        return [(number, line) for number, line in lines if line.lstrip().startswith("#")]
    return lines


def test_every_cited_document_is_in_the_repository() -> None:
    files = _files()
    names = {path.name for path in files} | {path.name for path in (REPO / "docs").rglob("*.md")}
    missing = [
        f"{path.relative_to(REPO)}:{number}: {cited}"
        for path in files
        if path != Path(__file__).resolve()
        for number, line in _scanned_lines(path)
        for cited in CITED.findall(line)
        if not _exists(cited, path, names)
    ]
    assert not missing, "documents cited but not in the repository:\n" + "\n".join(missing)


def test_the_scan_finds_a_missing_document(tmp_path: Path) -> None:
    """The pattern catches the forms citations take (a test that could not fail would prove nothing)."""
    line = 'Layout (NOTES.md 2.1), see docs/kinds/spikes.md and "../shared/PLAN.md"; not foo.mdx'
    assert CITED.findall(line) == ["NOTES.md", "docs/kinds/spikes.md", "../shared/PLAN.md"]
    names = {"spikes.md"}
    assert _exists("docs/kinds/spikes.md", REPO / "src" / "x.py", names)
    assert not _exists("NOTES.md", REPO / "src" / "x.py", names)
    assert not _exists("../shared/PLAN.md", REPO / "src" / "x.py", names)
