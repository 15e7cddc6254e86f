"""The configuration of `hub validate`: `[tool.neurodatahub.validate]` in pyproject.toml, or the `validate`
section of `.neurodatahub.yaml`, at the dataset root.

```toml
[tool.neurodatahub.validate]
include = ["**/*.nwb", "**/*.nii.gz"]          # only these (globs relative to the config's folder)
exclude = ["sourcedata/**"]
select = ["ALL"]                                # codes or prefixes (NDH1 = every data check)
ignore = ["NDH202"]
fail-on = "warning"                             # the lowest severity that fails the run (default error)
require-known = true                            # files of no known format are errors, not skipped
severity = {NDH204 = "error"}                   # per code or prefix
[tool.neurodatahub.validate.files]
"**/*_FA.nii.gz" = {class = "VoxelMap"}         # per glob: format, kind, class, reader options, ignore
"raw/*.nwb" = {options = {units_path = "/processing/ecephys/units"}, ignore = ["NDH103"]}
```

The search starts at the folder of the first input (its glob root, the folder of a file) and goes up to
the first folder that holds either file (local datasets; on object stores only the prefix itself is
looked at). A pyproject.toml without the table does not stop the search.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from neurodatahub.core import storage
from neurodatahub.core.errors import InputError, UsageError
from neurodatahub.datasets import checks
from neurodatahub.datasets.inputs import matches

Severity = Literal["info", "warning", "error"]
YAML_NAME = ".neurodatahub.yaml"
PYPROJECT = "pyproject.toml"


class FileRule(BaseModel):
    """How the files a glob matches are read: their format, kind or class, and the reader's options."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str | None = Field(None, description="format name, as `hub formats` lists it")
    kind: str | None = Field(None, description="kind of data (a value of the schema's DataKind)")
    class_name: str | None = Field(None, alias="class", description="data class the files hold")
    options: dict[str, Any] = Field(default_factory=dict, description="reader options (typed)")
    ignore: tuple[str, ...] = Field((), description="codes not reported for these files")


class ValidateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")  # only the spellings documented (fail-on, not fail_on)

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    severity: dict[str, Severity] = Field(default_factory=dict)
    fail_on: Severity = Field("error", alias="fail-on")
    require_known: bool = Field(False, alias="require-known")
    files: dict[str, FileRule] = Field(default_factory=dict)
    # where it was read from, and the folder its globs are relative to (not settings)
    source: str | None = Field(None, exclude=True)
    root: str | None = Field(None, exclude=True)

    @field_validator("select", "ignore")
    @classmethod
    def _codes(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [pattern for pattern in patterns if not checks.known_code_or_prefix(pattern)]
        if unknown:
            raise ValueError(f"no check has the code {', '.join(unknown)} (hub validate --list-checks)")
        return tuple(pattern.upper() for pattern in patterns)

    @field_validator("severity")
    @classmethod
    def _severity_codes(cls, given: dict[str, str]) -> dict[str, str]:
        cls._codes(tuple(given))
        return {pattern.upper(): severity for pattern, severity in given.items()}

    def rule_for(self, relpath: str) -> FileRule:
        """Every rule whose glob matches, merged in order (a later glob's settings win)."""
        merged: dict[str, Any] = {}
        ignored: list[str] = []
        for pattern, rule in self.files.items():
            if matches(relpath, pattern):
                merged.update(rule.model_dump(by_alias=True, exclude_defaults=True, exclude={"ignore"}))
                ignored += rule.ignore
        return FileRule.model_validate({**merged, "ignore": tuple(ignored)})

    def relative(self, url: str, relpath: str) -> str:
        """The path globs are matched against: below the config's folder when the file is there."""
        if self.root is not None:
            prefix = self.root.rstrip("/") + "/"
            absolute = _absolute(url)
            if absolute.startswith(prefix):
                return absolute[len(prefix) :]
        return relpath

    def overridden(self, **given: Any) -> ValidateConfig:
        """This configuration with the command line's choices (None: not given) on top."""
        updates = {name: value for name, value in given.items() if value not in (None, (), [])}
        try:
            return self.model_validate({**self.model_dump(by_alias=True), **_aliased(updates)}).model_copy(
                update={"source": self.source, "root": self.root}
            )
        except ValidationError as error:
            raise UsageError(_message(error, "the command line")) from None


def _aliased(values: Mapping[str, Any]) -> dict[str, Any]:
    aliases = {"fail_on": "fail-on", "require_known": "require-known"}
    return {aliases.get(name, name): value for name, value in values.items()}


def _absolute(url: str) -> str:
    return str(storage.local_path(url).resolve()) if storage.is_local(url) else url


def load(path: str) -> ValidateConfig:
    """A configuration file named explicitly (--config): pyproject.toml or YAML."""
    found = _read(path)
    if found is None:
        raise UsageError(f"{path} has no [tool.neurodatahub.validate] table")
    return found


def discover(inputs: Sequence[str], storage_options: Mapping[str, Any] | None = None) -> ValidateConfig:
    """The configuration that governs the first input, else the defaults."""
    if not inputs:
        return ValidateConfig()
    for folder in _search_path(inputs[0], storage_options):
        for name in (YAML_NAME, PYPROJECT):
            candidate = storage.join(folder, name)
            if storage.exists(candidate, storage_options):
                found = _read(candidate, storage_options)
                if found is not None:
                    return found
    return ValidateConfig()


def _search_path(given: str, storage_options: Mapping[str, Any] | None) -> list[str]:
    if storage.is_glob(given):
        head = given[: min(given.index(char) for char in storage.GLOB_CHARACTERS if char in given)]
        given = head.rsplit("/", 1)[0] if "/" in head else "."
    if not storage.is_local(given):
        folder = given if storage.is_dir(given, storage_options) else given.rsplit("/", 1)[0]
        return [folder]
    path = storage.local_path(given).resolve()
    start = path if path.is_dir() else path.parent
    return [str(folder) for folder in (start, *start.parents)]


def _read(url: str, storage_options: Mapping[str, Any] | None = None) -> ValidateConfig | None:
    import tomllib

    from neurodatahub.core.documents import load_text, load_yaml

    # a dataset's configuration is as untrusted as its data: read within the budget, aliases counted
    text = load_text(url, storage_options)
    if url.endswith(".toml"):
        try:
            section = _table(tomllib.loads(text), "tool", "neurodatahub", "validate")
        except (tomllib.TOMLDecodeError, RecursionError, ValueError) as error:
            message = " ".join(str(error).split()) or type(error).__name__
            raise InputError(f"{url}: not a readable configuration ({message})") from error
    else:
        document = load_yaml(text, url) or {}
        section = document.get("validate") if isinstance(document, dict) else None
    if section is None:
        return None
    if not isinstance(section, dict):
        raise UsageError(f"{url}: the validate settings must be a table of keys")
    root = str(Path(url).parent) if storage.is_local(url) else url.rsplit("/", 1)[0]
    try:
        config = ValidateConfig.model_validate(section)
    except ValidationError as error:
        raise UsageError(_message(error, url)) from None
    return config.model_copy(update={"source": url, "root": _absolute(root)})


def _table(document: Any, *keys: str) -> Any:
    """document[keys[0]][keys[1]]..., None where a level is missing or is no table."""
    for key in keys:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def _message(error: ValidationError, where: str) -> str:
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"])
    return f"{where}: validate setting {location}: {first['msg'].removeprefix('Value error, ')}"
