"""Numbers set in environment variables: a malformed one is one line naming the variable and exit 2,
before any output is made; never a traceback, never a silent default."""

from __future__ import annotations

from pathlib import Path

import nibabel
import pytest
from cli_helpers import hub

from neurodatahub.core import environment
from neurodatahub.core.errors import ExitCode, UsageError

TRK = Path(nibabel.__file__).parent / "tests" / "data" / "standard.trk"  # written by nibabel's authors


def test_numbers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NDH_TEST_NUMBER", raising=False)
    assert environment.number("NDH_TEST_NUMBER", 7, whole=True) == 7
    monkeypatch.setenv("NDH_TEST_NUMBER", " 12 ")
    assert environment.number("NDH_TEST_NUMBER", 7, whole=True, minimum=1) == 12
    monkeypatch.setenv("NDH_TEST_NUMBER", "2.5")
    assert environment.number("NDH_TEST_NUMBER", 1.0, above=1) == 2.5
    for value, rule, message in (
        ("2.5", {"whole": True}, "must be a whole number, got '2.5'"),
        ("lots", {}, "must be a number, got 'lots'"),
        ("nan", {}, "must be a number, got 'nan'"),
        ("0", {"whole": True, "minimum": 1}, "must be at least 1, got '0'"),
        ("1", {"above": 1}, "must be more than 1, got '1'"),
    ):
        monkeypatch.setenv("NDH_TEST_NUMBER", value)
        with pytest.raises(UsageError, match=f"NDH_TEST_NUMBER {message}"):
            environment.number("NDH_TEST_NUMBER", 1.0, **rule)


def test_options_given_as_text_or_numbers_read_by_the_same_rule() -> None:
    """Storage options and format options (-S read_timeout=, -O resolution=) go through the same rule."""
    from neurodatahub.core import storage

    assert environment.parse(7, "storage option read_timeout", 60.0, above=0) == 7.0
    assert environment.parse("", "resolution", None, above=0) is None
    for value, message in (("0", "must be positive, got '0'"), ("nan", "must be a number, got 'nan'")):
        with pytest.raises(UsageError, match=f"storage option read_timeout {message}"):
            storage.s3_options({"read_timeout": value})


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NEURODATAHUB_TRACT_CHUNK_POINTS", "many"),
        ("NEURODATAHUB_MAX_RATIO", "0.5"),
        ("NEURODATAHUB_SPOOL_MIB", "-3"),
        ("NEURODATAHUB_FETCH_TIMEOUT", "soon"),
    ],
)
def test_a_malformed_setting_is_one_line_and_exit_2(
    variable: str, value: str, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neurodatahub.catalog.http import RetryPolicy
    from neurodatahub.core import budget, remote
    from neurodatahub.tractograms.common import chunk_points

    monkeypatch.setenv(variable, value)
    readers = {
        "NEURODATAHUB_TRACT_CHUNK_POINTS": chunk_points,
        "NEURODATAHUB_MAX_RATIO": budget.max_ratio,
        "NEURODATAHUB_SPOOL_MIB": remote.spool_budget,
        "NEURODATAHUB_FETCH_TIMEOUT": RetryPolicy.from_env,
    }
    with pytest.raises(UsageError, match=variable):
        readers[variable]()
    if variable == "NEURODATAHUB_TRACT_CHUNK_POINTS":  # through the CLI: before anything is written
        target = tmp_path / "out.tck"
        code, _, err = hub(capsys, "convert", str(TRK), str(target))
        assert code == ExitCode.USAGE and err.count("\n") == 1, err
        assert f"{variable} must be a whole number of points, got 'many'" in err and "Traceback" not in err
        assert not target.exists() and not list(tmp_path.iterdir())
