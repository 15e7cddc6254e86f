"""Every example on the documentation's pages runs as written, so none goes stale.

The rules, for whoever writes a page (CONTRIBUTING.md says the same):
- a ```sh block runs in bash (`set -euo pipefail`), a ```python block in a fresh Python process, in
  order, in a folder of the page's own that holds a copy of `examples/`, with the hub on PATH;
- a block with a title (```yaml title="lab.yaml"```) is written to that file instead of being run;
- `# exits N` at the end of a command says it must exit with N (anything else fails the page);
- `<!-- not-run: why -->` just before a block skips it, saying why;
- `<!-- docs-test: s3 -->` on a page points the AWS variables at the tests' S3 server on 127.0.0.1, with a
  bucket `lab-data`;
- `--8<-- "path"` lines (snippets of repository files) are expanded, as the site does.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
FENCE = re.compile(
    r"(?P<skip><!--\s*not-run:(?P<why>[^>]*)-->\s*\n)?^```(?P<lang>[\w-]*)(?P<attrs>[^\n]*)\n(?P<body>.*?)^```\s*$",
    re.MULTILINE | re.DOTALL,
)
TITLE = re.compile(r'title="(?P<title>[^"]+)"')
EXPECTED_EXIT = re.compile(r"#\s*exits\s+(\d+)")
SNIPPET = re.compile(r'^--8<--\s+"(?P<path>[^"]+)"\s*$', re.MULTILINE)
RUNNABLE = {"sh", "python"}


@dataclass(frozen=True)
class Block:
    language: str
    body: str
    title: str | None
    skipped: str | None
    line: int


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        title = TITLE.search(match["attrs"])
        body = SNIPPET.sub(lambda m: (REPO / m["path"]).read_text(encoding="utf-8"), match["body"])
        found.append(
            Block(
                language=match["lang"],
                body=body,
                title=title["title"] if title else None,
                skipped=match["why"].strip() if match["skip"] else None,
                line=text.count("\n", 0, match.start("lang")) + 1,
            )
        )
    return found


def _pages_with_examples() -> list[Path]:
    return [
        page
        for page in sorted(DOCS.rglob("*.md"))
        if any(block.language in RUNNABLE and not block.skipped and not block.title for block in blocks(page))
    ]


def _script(body: str) -> str:
    """The sh block as a script: commands with `# exits N` must exit with N, every other one with 0."""
    lines = ["set -euo pipefail"]
    for line in body.replace("\\\n", " ").splitlines():
        expected = EXPECTED_EXIT.search(line)
        if expected is None:
            lines.append(line)
            continue
        lines += [
            "set +e",
            line,
            f'status=$?; set -e; if [ "$status" != {expected.group(1)} ]; then '
            f'echo "expected exit {expected.group(1)}, got $status: {_quoted(line)}" >&2; exit 99; fi',
        ]
    return "\n".join(lines) + "\n"


def _quoted(line: str) -> str:
    return line.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")


@pytest.fixture
def page_folder(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    return tmp_path


@pytest.mark.parametrize("page", _pages_with_examples(), ids=lambda page: str(page.relative_to(DOCS)))
def test_every_example_of_the_page_runs(
    page: Path, page_folder: Path, request: pytest.FixtureRequest
) -> None:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "NEURODATAHUB_DATA_DIR": str(page_folder / "data"),
        "XDG_CONFIG_HOME": str(page_folder / "config"),  # `hub catalog source add` writes its list there
        "XDG_CACHE_HOME": str(page_folder / "cache"),
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
    if "<!-- docs-test: s3 -->" in page.read_text(encoding="utf-8"):
        env.update(_s3_environment(request))
    for block in blocks(page):
        where = f"{page.relative_to(REPO)}:{block.line}"
        if block.skipped:
            assert block.skipped, f"{where}: say why the block is not run"
            continue
        if block.title:
            target = page_folder / block.title
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.body, encoding="utf-8")
            continue
        if block.language == "sh":
            command = ["bash", "-c", _script(block.body)]
        elif block.language == "python":
            command = [sys.executable, "-c", block.body]
        else:
            continue
        done = subprocess.run(command, cwd=page_folder, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{where} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"


def _s3_environment(request: pytest.FixtureRequest) -> dict[str, str]:
    """The AWS variables a user would set, pointed at the tests' moto server, and the page's bucket."""
    endpoint = request.getfixturevalue("s3_endpoint")
    import s3fs

    variables = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }
    filesystem = s3fs.S3FileSystem(key="testing", secret="testing", endpoint_url=endpoint)
    if not filesystem.exists("lab-data"):
        filesystem.mkdir("lab-data")
    return variables


def test_the_runner_reads_the_rules(tmp_path: Path) -> None:
    """The conventions above, on a page made for it (a runner that skipped everything would pass)."""
    page = "\n".join(
        [
            "<!-- not-run: needs a cluster -->",
            "```sh",
            "false",
            "```",
            '```yaml title="a.yaml"',
            "x: 1",
            "```",
            "```sh",
            "hub validate missing.yaml   # exits 2",
            "```",
        ]
    )
    path = tmp_path / "rules.txt"
    path.write_text(page, encoding="utf-8")
    found = blocks(path)
    assert [(b.language, b.title, b.skipped) for b in found] == [
        ("sh", None, "needs a cluster"),
        ("yaml", "a.yaml", None),
        ("sh", None, None),
    ]
    script = _script(found[2].body)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = {"cwd": tmp_path, "env": env, "capture_output": True}
    assert subprocess.run(["bash", "-c", script], **run).returncode == 0
    wrong = _script(found[2].body.replace("exits 2", "exits 0"))
    assert subprocess.run(["bash", "-c", wrong], **run).returncode == 99
