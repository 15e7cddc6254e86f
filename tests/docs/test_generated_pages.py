"""The generated parts of the site come from the code: every format, option, command and module appears
without a page being edited, and every command says what it does (its help is the reference)."""

from __future__ import annotations

import importlib.util
import pkgutil
from pathlib import Path

import click
import pytest
import typer

from neurodatahub.core import kinds, options, registry

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hooks() -> object:
    spec = importlib.util.spec_from_file_location("docs_hooks", REPO / "tools" / "docs_hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("kind", kinds.kind_names())
def test_each_kind_page_lists_its_formats_and_their_options(hooks: object, kind: str) -> None:
    page = hooks._formats(kind)
    for spec in registry.all_formats():
        if spec.kind != kind:
            continue
        assert f"### `{spec.name}`" in page
        for name in {*options.names(spec.read_options), *options.names(spec.write_options)}:
            assert f"| `{name}` |" in page, f"{spec.name}: option {name}"
        for lost in spec.cannot_store:
            assert lost.replace("|", "\\|") in page


def test_every_kind_has_a_page(hooks: object) -> None:
    written = {path.stem for path in (REPO / "docs" / "kinds").glob("*.md")}
    pages = hooks._generated_pages(REPO / "docs")
    generated = {Path(path).stem for path in pages if path.startswith("kinds/")}
    assert set(kinds.kind_names()) <= written | generated


def _commands() -> list[tuple[str, click.Command, click.Context]]:
    from neurodatahub.cli.main import app

    found = []

    def walk(command: click.Command, path: str, parent: click.Context | None) -> None:
        context = click.Context(command, info_name=path.rsplit(" ", 1)[-1], parent=parent)
        found.append((path, command, context))
        if isinstance(command, click.Group):
            for name in command.list_commands(context):
                walk(command.get_command(context, name), f"{path} {name}", context)

    walk(typer.main.get_command(app), "hub", None)
    return found


def test_the_cli_reference_has_every_command(hooks: object) -> None:
    reference = hooks._cli()
    for path, _, _ in _commands():
        assert f"`{path}`" in reference, path


@pytest.mark.parametrize("path", [path for path, _, _ in _commands()])
def test_every_command_argument_and_option_says_what_it_is(path: str) -> None:
    """The reference is made from these texts; an empty one is a hole in the documentation.

    (click 8.5 drops the help of typer 0.19's arguments: pyproject.toml keeps click below it.)
    """
    _, command, context = next(found for found in _commands() if found[0] == path)
    assert (command.help or "").strip(), f"{path} has no help"
    for param in command.get_params(context):
        assert (getattr(param, "help", None) or "").strip(), f"{path}: {param.name} has no help"


def test_the_api_reference_has_every_module(hooks: object) -> None:
    documented = {module for modules in hooks._api_packages().values() for module in modules}
    source = REPO / "src" / "neurodatahub"
    on_disk = {
        info.name
        for info in pkgutil.walk_packages([str(source)], prefix="neurodatahub.")
        if not info.name.rsplit(".", 1)[-1].startswith("_") and not info.name.endswith("format_index")
    }
    assert on_disk <= documented


def test_exit_codes_table_has_every_code(hooks: object) -> None:
    from neurodatahub.core.errors import ExitCode

    table = hooks._exit_codes()
    for name, code in vars(ExitCode).items():
        if not name.startswith("_"):
            assert f"| {code} | `{name}` |" in table
