"""MkDocs hooks (mkdocs.yml `hooks:`): the pages of the site that come from the code and the schema.

Nothing here is copied by hand: every table is read from the code at build time, so a new format,
option, kind, command, module, check or schema class appears on the next `make docs` and cannot drift.

- Placeholders in the nav (`kinds/*`, `api/*`, `schema/*`) become the generated pages of that folder.
- Pages are added for each kind (when `docs/kinds/<kind>.md` does not exist), each top-level package of
  the API (mkdocstrings renders them from the docstrings) and each class, slot and enum of the schema
  (LinkML's gen-doc, run into a temporary folder).
- `<!-- hub:NAME ARGS -->` directives in a page are replaced by generated Markdown: `formats KIND`,
  `kinds`, `cli`, `exit-codes`, `checks`, `check-codes`. An unknown directive, or a kind's page without
  its formats, is an error, which `mkdocs build --strict` turns into a failed build.
"""

from __future__ import annotations

import ast
import inspect
import logging
import pkgutil
import re
import tempfile
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "src" / "neurodatahub"
log = logging.getLogger("mkdocs.plugins.neurodatahub")
DIRECTIVE = re.compile(r"<!--\s*hub:([\w-]+)((?:\s+[^\s>-][^\s>]*)*)\s*-->")
SCHEMA_OVERVIEW = "schema-overview"  # gen-doc's index page (tools/generate.py names it)
_schema_pages: dict[str, str] = {}  # gen-doc's pages by path under schema/, made once per build


# ---------------------------------------------------------------- events


def on_config(config: Any) -> Any:
    _schema_pages.clear()
    _schema_pages.update(_gen_doc_pages())
    config["nav"] = _expand_nav(config["nav"], config["docs_dir"])
    return config


def on_files(files: Files, config: Any) -> Files:
    for path, content in _generated_pages(Path(config["docs_dir"])).items():
        if files.get_file_from_path(path) is None:
            files.append(File.generated(config, path, content=content))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    path = page.file.src_uri
    if path.startswith("kinds/") and path != "kinds/index.md" and "hub:formats" not in markdown:
        log.warning("%s: a kind's page needs <!-- hub:formats KIND --> (its formats and options)", path)
    return DIRECTIVE.sub(lambda found: _directive(found, path), markdown)


def _directive(found: re.Match, path: str) -> str:
    name, args = found.group(1), found.group(2).split()
    render = DIRECTIVES.get(name)
    if render is None:
        log.warning("%s: unknown directive hub:%s (known: %s)", path, name, ", ".join(DIRECTIVES))
        return found.group(0)
    return render(*args)


# ---------------------------------------------------------------- the generated pages and the nav


def _generated_pages(docs_dir: Path) -> dict[str, str]:
    from neurodatahub.core import kinds

    pages = {}
    for kind in kinds.kind_names():
        if not (docs_dir / "kinds" / f"{kind}.md").is_file():
            pages[f"kinds/{kind}.md"] = (
                f"# {_kind_title(kind)}\n\n{kinds.description(kind)}\n\n<!-- hub:formats {kind} -->\n"
            )
    for package, modules in _api_packages().items():
        blocks = "\n".join(f"::: {module}\n" for module in modules)
        extra = _top_level_api() if package == "neurodatahub" else ""
        pages[f"api/{package}.md"] = f"# `{package}`\n\n{extra}{blocks}"
    pages.update(_schema_pages)
    return pages


def _expand_nav(nav: list, docs_dir: str) -> list:
    """Replace `folder/*` in the nav by the pages of that folder: written ones first, then generated."""
    expanded = []
    for item in nav:
        if isinstance(item, dict):
            (title, value), *_ = item.items()
            if isinstance(value, list):
                expanded.append({title: _expand_nav(value, docs_dir)})
            elif value == "schema/*":
                expanded.append({title: _schema_nav()})
            elif isinstance(value, str) and value.endswith("/*"):
                expanded.append({title: _folder_nav(value[:-2], Path(docs_dir))})
            else:
                expanded.append(item)
        else:
            expanded.append(item)
    return expanded


def _folder_nav(folder: str, docs_dir: Path) -> list:
    generated = _generated_pages(docs_dir)
    paths = {f"{folder}/{p.name}" for p in (docs_dir / folder).glob("*.md")} | {
        path for path in generated if path.startswith(f"{folder}/") and path.count("/") == 1
    }
    index = f"{folder}/index.md"
    ordered = ([index] if index in paths else []) + sorted(paths - {index}, key=_nav_order)
    return [{_nav_title(path): path} for path in ordered]


def _schema_nav() -> list:
    """gen-doc's pages grouped: the overview, then classes, enums, slots, types and schema modules."""
    from neurodatahub_models.facts import CLASSES, ENUMS

    groups: dict[str, list] = {"Classes": [], "Enums": [], "Slots": [], "Types": [], "Modules": []}
    modules = {facts["module"] for facts in CLASSES.values()} | {"neurodatahub", "types"}
    overview = f"schema/{SCHEMA_OVERVIEW}.md"
    for path in sorted(_schema_pages):
        if path == overview:
            continue
        stem = Path(path).stem
        group = (
            "Classes" if stem in CLASSES
            else "Enums" if stem in ENUMS
            else "Modules" if stem in modules
            else "Types" if stem[:1].isupper()
            else "Slots"
        )  # fmt: skip
        groups[group].append({stem: path})
    return [{"Overview": overview}, *({name: pages} for name, pages in groups.items() if pages)]


def _nav_order(path: str) -> tuple:
    from neurodatahub.core import kinds

    stem = Path(path).stem
    order = kinds.kind_names() if path.startswith("kinds/") else _api_order()
    return (order.index(stem) if stem in order else len(order), stem)


def _nav_title(path: str) -> str:
    stem = Path(path).stem
    if path.endswith("index.md"):
        return "Overview"
    if path.startswith("kinds/"):
        return _kind_title(stem)
    return stem


def _kind_title(kind: str) -> str:
    from neurodatahub.core import kinds

    pivot = kinds.pivot_class(kind)
    return f"{kind} ({pivot})" if pivot else kind


# ---------------------------------------------------------------- API reference


def _api_order() -> list[str]:
    return ["neurodatahub", "core", *sorted(set(_api_packages()) - {"neurodatahub", "core"})]


def _top_level_api() -> str:
    """The names `import neurodatahub` offers (imported on first use), each documented where it lives."""
    import types

    import neurodatahub

    lines = ["Imported on first use: `import neurodatahub as ndh`, then `ndh.NAME`.", ""]
    for name in neurodatahub.__all__:
        found = getattr(neurodatahub, name)
        if isinstance(found, types.ModuleType):  # models, storage: documented on their package's page
            lines.append(f"- `ndh.{name}`: the module `{found.__name__}`")
        elif hasattr(found, "__module__") and hasattr(found, "__qualname__"):
            where = f"{found.__module__}.{found.__qualname__}"
            lines += ["", f"::: {where}", "    options:", "      heading_level: 3", ""]
    return "\n".join(lines) + "\n\n"


def _api_packages() -> dict[str, list[str]]:
    """Each top-level package of neurodatahub with its modules (found on disk: new ones appear)."""
    packages: dict[str, list[str]] = {"neurodatahub": ["neurodatahub", "neurodatahub.models"]}
    for info in pkgutil.iter_modules([str(SOURCE)]):
        if not info.ispkg:
            continue
        name = f"neurodatahub.{info.name}"
        modules = [name]
        for sub in pkgutil.walk_packages([str(SOURCE / info.name)], prefix=f"{name}."):
            if not sub.name.rsplit(".", 1)[-1].startswith("_") and not sub.name.endswith("format_index"):
                modules.append(sub.name)
        packages[info.name] = modules
    return packages


# ---------------------------------------------------------------- the schema's pages (LinkML gen-doc)


def _gen_doc_pages() -> dict[str, str]:
    schema_pages = _generator().schema_pages
    with tempfile.TemporaryDirectory() as folder:
        schema_pages(Path(folder))
        return {
            f"schema/{path.relative_to(folder).as_posix()}": path.read_text(encoding="utf-8")
            for path in sorted(Path(folder).rglob("*.md"))
        }


def _generator() -> Any:
    """tools/generate.py as a module (tools/ is not a package): the one place gen-doc is configured."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("generate", REPO / "tools" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- directives


def _formats(kind: str) -> str:
    """The formats of one kind: a table, then each format's options and what it cannot store."""
    from neurodatahub.core import kinds, registry

    if kind not in kinds.kind_names():
        raise ValueError(f"hub:formats {kind}: not a kind of the schema ({', '.join(kinds.kind_names())})")
    specs = [spec for spec in registry.all_formats() if spec.kind == kind]
    if not specs:
        return "No format reads or writes this kind yet.\n"
    pivot = kinds.pivot_class(kind)
    lines = [
        f"Every format below reads into, or writes from, one validated [`{pivot}`](../schema/{pivot}.md)."
        if pivot
        else "",
        "",
        "| format | extensions | reads | writes | cannot store |",
        "|---|---|---|---|---|",
    ]
    for spec in specs:
        extensions = " ".join(f"`{ext}`" for ext in spec.extensions) + (" (folder)" if spec.directory else "")
        cannot = "; ".join(spec.cannot_store) or "-"
        lines.append(
            f"| [`{spec.name}`](#{_anchor(spec.name)}) | {extensions or '-'} | {_yes(spec.read)} "
            f"| {_yes(spec.write)} | {_cell(cannot)} |"
        )
    for spec in specs:
        lines += ["", f"### `{spec.name}` {{#{_anchor(spec.name)}}}", "", _cell(spec.description) + "."]
        lines.append("")
        lines.append(f"Shown by `hub formats {spec.name} --kind {kind}`.")
        for role, options_class in (("Reader", spec.read_options), ("Writer", spec.write_options)):
            lines += ["", _options_table(role, options_class)]
        if spec.cannot_store:
            lines += ["", "Cannot store (reported as losses): " + "; ".join(spec.cannot_store) + "."]
    return "\n".join(lines).lstrip() + "\n"


def _options_table(role: str, options_class: Any) -> str:
    from neurodatahub.core import options

    described = options.describe(options_class)
    if not described:
        return f"{role} options: none."
    flag = "-R" if role == "Reader" else "-O"
    rows = [
        f"{role} options (`{flag} NAME=VALUE` on the command line, keyword arguments in Python):",
        "",
        "| option | type | default | description |",
        "|---|---|---|---|",
    ]
    for name, facts in described.items():
        kind = facts["type"] + (f" ({facts['bounds']})" if facts["bounds"] else "")
        default = "-" if facts["default"] is None else f"`{facts['default']}`"
        default = "required" if facts["required"] else default
        rows.append(f"| `{name}` | {_cell(kind)} | {_cell(default)} | {_cell(facts['help'])} |")
    return "\n".join(rows)


def _kinds() -> str:
    from neurodatahub.core import kinds, registry

    counts: dict[str, int] = {}
    for spec in registry.all_formats():
        counts[spec.kind] = counts.get(spec.kind, 0) + 1
    lines = ["| kind | class | package | formats | what it is |", "|---|---|---|---|---|"]
    for kind in kinds.kind_names():
        pivot = kinds.pivot_class(kind)
        cls = f"[`{pivot}`](../schema/{pivot}.md)" if pivot else "any class"
        lines.append(
            f"| [{kind}]({kind}.md) | {cls} | `neurodatahub.{kinds.package_of_kind(kind)}` "
            f"| {counts.get(kind, 0)} | {_cell(kinds.description(kind))} |"
        )
    return "\n".join(lines) + "\n"


def _cli() -> str:
    """Every command of `hub`, from the click command tree typer builds (kinds' groups included)."""
    import click
    import typer

    from neurodatahub.cli.main import app

    root = typer.main.get_command(app)
    sections: list[str] = []

    def walk(command: click.Command, path: list[str], parent: click.Context | None) -> None:
        context = click.Context(command, info_name=path[-1], parent=parent)
        sections.append(_command_section(command, context, path))
        if isinstance(command, click.Group):
            for name in command.list_commands(context):
                sub = command.get_command(context, name)
                if sub is not None and not sub.hidden:
                    walk(sub, [*path, name], context)

    walk(root, ["hub"], None)
    return "\n".join(sections)


def _command_section(command: Any, context: Any, path: list[str]) -> str:
    import click

    depth = min(len(path) + 1, 4)
    title = " ".join(path)
    text = inspect.cleandoc(command.help or "")
    usage = " ".join(command.collect_usage_pieces(context))
    lines = [f"{'#' * depth} `{title}` {{#{_anchor(title)}}}", "", _escape(text), ""]
    lines += ["```text", f"{title} {usage}".rstrip(), "```", ""]
    rows = []
    for param in command.get_params(context):
        if getattr(param, "hidden", False):
            continue
        if isinstance(param, click.Argument):
            name = f"`{param.make_metavar(context) if _takes_context(param) else param.make_metavar()}`"
            helptext = getattr(param, "help", "") or ""
        else:
            name = ", ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])
            if not param.is_flag and not param.count:
                metavar = param.make_metavar(context) if _takes_context(param) else param.make_metavar()
                name += f" `{metavar}`"
            helptext = param.help or ""
        default = param.default if not callable(param.default) else None
        shown = "" if default in (None, False, (), []) or name.startswith("`--help") else f"`{default}`"
        rows.append(f"| {name} | {_cell(_escape(helptext))} | {shown} |")
    if rows:
        lines += ["| argument or option | description | default |", "|---|---|---|", *rows, ""]
    return "\n".join(lines)


def _takes_context(param: Any) -> bool:
    return "ctx" in inspect.signature(param.make_metavar).parameters


def _exit_codes() -> str:
    from neurodatahub.core.errors import EXIT_CODE_MEANINGS

    lines = ["| code | name | meaning |", "|---|---|---|"]
    for code, (name, meaning) in sorted(EXIT_CODE_MEANINGS.items()):
        lines.append(f"| {code} | `{name}` | {_cell(meaning)} |")
    return "\n".join(lines) + "\n"


def _checks() -> str:
    """The invariants of each class, with the messages they raise (read from their source)."""
    from neurodatahub.core import checks, kinds

    for package in kinds.kind_packages():
        __import__(f"neurodatahub.{package}.checks")
    lines = []
    for class_name in sorted(checks.CHECKS):
        lines += [f"### [`{class_name}`](../schema/{class_name}.md)", ""]
        for check in checks.CHECKS[class_name]:
            where = f"`{check.__module__}.{check.__qualname__}`"
            messages = _raised_messages(check)
            lines.append(f"- {where}" + ("" if messages else ": see its source"))
            shown = [message if message.startswith("`") else _escape(message) for message in messages]
            lines += [f"    - {message}" for message in shown]
        lines.append("")
    return "\n".join(lines)


def _raised_messages(function: Any) -> list[str]:
    """The messages of the ValueErrors a check raises (placeholders shown as `…`), and the shared checks
    it calls."""
    tree = ast.parse(inspect.cleandoc("\n" + inspect.getsource(function)))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args:
            name = getattr(node.exc.func, "id", "")
            text = _literal_text(node.exc.args[0])
            if name == "ValueError" and text:
                found.append(text)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "").startswith("require_"):
            # the core's shared checks (require_unique, require_affine...), named with what they check
            shown = ", ".join(repr(_literal_text(arg)) if _literal_text(arg) else "…" for arg in node.args)
            found.append(f"`{node.func.id}({shown})`")
    return list(dict.fromkeys(found))


def _literal_text(node: ast.AST) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else "…" for part in node.values)
    return ""


def _check_codes() -> str:
    """The codes `hub validate` reports for datasets, from where they are defined (`datasets.checks`)."""
    from neurodatahub.datasets import checks as codes

    lines = ["| code | name | severity | exit code | meaning |", "|---|---|---|---|---|"]
    for check in codes.all_checks():
        row = check.as_row()
        lines.append(
            f"| `{row['code']}` | {row['name']} | {row['severity']} | {row['exit_code']} "
            f"| {_cell(_escape(str(row['summary'])))} |"
        )
    return "\n".join(lines) + "\n"


DIRECTIVES = {
    "formats": _formats,
    "kinds": _kinds,
    "cli": _cli,
    "exit-codes": _exit_codes,
    "checks": _checks,
    "check-codes": _check_codes,
}


# ---------------------------------------------------------------- Markdown helpers


def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _escape(text: str) -> str:
    """Text from docstrings and messages: angle brackets and stars are not Markdown here."""
    return text.replace("<", "&lt;").replace(">", "&gt;").replace("*", "\\*")


def _yes(function: Any) -> str:
    return "yes" if function is not None else "-"
