"""The hook `hub-validate` of .pre-commit-hooks.yaml, run by the real pre-commit in a throwaway repository.

Offline: pre-commit would build a fresh environment from the package index for `language: python`, so the
test declares the hook as a `repo: local` hook with the same id, entry, types and options as the hooks file
and `language: system` (the `hub` installed here). Everything else is pre-commit's: the git hook, the staged
files it passes, the exit code that stops the commit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent.parent
DOCUMENTS = REPO / "tests" / "data"
PRE_COMMIT = Path(sys.executable).with_name("pre-commit")


@pytest.fixture
def repository(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "hub-validate" and hook["entry"] == "hub validate"
    local = {key: value for key, value in hook.items() if key != "description"} | {"language": "system"}
    root = tmp_path / "lab-data"
    root.mkdir()
    (root / ".pre-commit-config.yaml").write_text(
        yaml.safe_dump({"repos": [{"repo": "local", "hooks": [local]}]}, sort_keys=False)
    )
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "GIT_AUTHOR_NAME": "Lab",
        "GIT_AUTHOR_EMAIL": "lab@example.org",
        "GIT_COMMITTER_NAME": "Lab",
        "GIT_COMMITTER_EMAIL": "lab@example.org",
        "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    for command in (["git", "init", "-q", "-b", "main"], [str(PRE_COMMIT), "install"]):
        subprocess.run(command, cwd=root, env=env, check=True, capture_output=True)
    return root, env


def _commit(root: Path, env: dict[str, str], *names: str) -> tuple[int, str]:
    """The exit code of `git commit` and what it printed (pre-commit writes to stderr under git)."""
    subprocess.run(["git", "add", *names], cwd=root, env=env, check=True)
    done = subprocess.run(
        ["git", "commit", "-q", "-m", "data"], cwd=root, env=env, capture_output=True, text=True
    )
    return done.returncode, done.stdout + done.stderr


def test_the_hook_stops_a_commit_of_invalid_data_and_lets_the_rest_through(repository) -> None:
    root, env = repository
    shutil.copy(DOCUMENTS / "valid" / "SpikeData.yaml", root / "spikes.yaml")
    (root / "README.md").write_text("# lab data\n")
    code, out = _commit(root, env, ".pre-commit-config.yaml", "spikes.yaml", "README.md")
    assert code == 0 and "hub validate" in out and "Passed" in out, out
    shutil.copy(DOCUMENTS / "invalid-invariants" / "SpikeData-unsorted.yaml", root / "unsorted.yaml")
    code, out = _commit(root, env, "unsorted.yaml")
    assert code != 0 and "Failed" in out and "unsorted.yaml" in out and "NDH102" in out, out
    assert "spikes.yaml" not in out  # only the staged files are validated
    log = subprocess.run(["git", "log", "--format=%s"], cwd=root, env=env, capture_output=True, text=True)
    assert log.stdout.split() == ["data"]
    (root / "pyproject.toml").write_text('[tool.neurodatahub.validate]\nignore = ["NDH102"]\n')
    code, out = _commit(root, env, "pyproject.toml", "unsorted.yaml")  # the repository's configuration
    assert code == 0, out
