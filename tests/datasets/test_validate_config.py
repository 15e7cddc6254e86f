"""Finding and reading the configuration of `hub validate`; bad configurations are one line and exit 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from neurodatahub.cli import main
from neurodatahub.core.errors import ExitCode, InputError, UsageError
from neurodatahub.datasets import config

DOCUMENTS = Path(__file__).resolve().parent.parent / "data"


def test_discovery_goes_up_to_the_first_folder_with_settings(tmp_path: Path) -> None:
    inner = tmp_path / "lab" / "study" / "sub-01"
    inner.mkdir(parents=True)
    (tmp_path / "lab" / "pyproject.toml").write_text('[tool.neurodatahub.validate]\nignore = ["NDH2"]\n')
    (tmp_path / "lab" / "study" / "pyproject.toml").write_text('[project]\nname = "not-settings"\n')
    found = config.discover([str(inner)])
    assert found.source == str(tmp_path / "lab" / "pyproject.toml") and found.ignore == ("NDH2",)
    assert found.root == str((tmp_path / "lab").resolve())
    assert found.relative(str(inner / "x.nwb"), "x.nwb") == "study/sub-01/x.nwb"
    (tmp_path / "lab" / "study" / ".neurodatahub.yaml").write_text("validate:\n  fail-on: warning\n")
    assert config.discover([str(inner / "*.nwb")]).fail_on == "warning"  # from a glob's folder too
    assert config.discover([str(tmp_path / "elsewhere.nwb")]).source is None


def test_rules_merge_in_order_and_ignores_add_up() -> None:
    settings = config.ValidateConfig.model_validate(
        {
            "files": {
                "**/*.nii.gz": {"kind": "lesion-mask", "ignore": ["NDH202"]},
                "anat/*_FA.nii.gz": {"class": "VoxelMap", "options": {"space": "MNI152NLin6Asym"}},
                "anat/*": {"ignore": ["NDH104"]},
            }
        }
    )
    rule = settings.rule_for("anat/sub-01_FA.nii.gz")
    assert (rule.kind, rule.class_name, rule.options) == (
        "lesion-mask",
        "VoxelMap",
        {"space": "MNI152NLin6Asym"},
    )
    assert rule.ignore == ("NDH202", "NDH104")
    assert settings.rule_for("func/run.nii.gz").class_name is None


@pytest.mark.parametrize(
    ("text", "error", "words"),
    [
        ("[tool.neurodatahub.validate\n", InputError, "not a readable configuration"),
        ('[tool.neurodatahub.validate]\nfail_on = "warning"\n', UsageError, "fail_on"),
        ('[tool.neurodatahub.validate]\nfail-on = "loud"\n', UsageError, "fail-on"),
        ('[tool.neurodatahub.validate]\nselect = ["XYZ1"]\n', UsageError, "no check has the code XYZ1"),
        ('[tool.neurodatahub.validate.files]\n"*.nwb" = {colour = "red"}\n', UsageError, "colour"),
    ],
)
def test_bad_configurations_say_where_and_what(tmp_path: Path, text: str, error: type, words: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(error, match=words) as raised:
        config.discover([str(tmp_path)])
    assert "pyproject.toml" in str(raised.value)


def test_the_command_line_overrides_the_file_and_bad_values_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    shutil.copy(DOCUMENTS / "invalid-invariants" / "SpikeData-unsorted.yaml", tmp_path / "unsorted.yaml")
    (tmp_path / "pyproject.toml").write_text('[tool.neurodatahub.validate]\nignore = ["NDH102"]\n')
    assert main(["validate", str(tmp_path / "unsorted.yaml"), "--no-cache"]) == ExitCode.OK
    other = tmp_path / "other.toml"
    other.write_text('[tool.neurodatahub.validate]\nselect = ["NDH1"]\n')
    assert main(["validate", str(tmp_path), "--no-cache", "--config", str(other)]) == ExitCode.INVALID
    assert main(["validate", str(tmp_path), "--no-cache", "--fail-on", "loud"]) == ExitCode.USAGE
    assert "the command line: validate setting fail-on" in capsys.readouterr().err
    assert main(["validate", str(tmp_path), "--no-cache", "--kind", "nope"]) == ExitCode.USAGE
