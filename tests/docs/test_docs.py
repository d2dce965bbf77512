"""The documentation is tested: nothing the program knows may go undocumented.

Every entry type, consistency rule and form field must be named (in backticks) somewhere
in docs/ or README.md; every CLI command must have its own section in docs/cli.md that
names each of its arguments and options; and the worked example of
docs/record-format.md must still compute to the values printed there.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from saksi.cli.main import cli
from saksi.ingest.fields import FIELDS
from saksi.ingest.rules import RULES
from saksi.log.entry import EntryType
from saksi.web.pages import PAGES

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"


def _documentation() -> str:
    pages = sorted(DOCS.glob("*.md"))
    readme = REPO / "README.md"
    if readme.exists():
        pages.append(readme)
    return "\n".join(p.read_text(encoding="utf-8") for p in pages)


TEXT = _documentation()


@pytest.mark.parametrize("name", [t.value for t in EntryType])
def test_entry_type_is_documented(name: str) -> None:
    assert f"`{name}`" in TEXT, f"entry type {name} is not described in docs/"


@pytest.mark.parametrize("rule", list(RULES))
def test_rule_is_documented(rule: str) -> None:
    assert f"`{rule}`" in TEXT, f"consistency rule {rule} is not described in docs/"


@pytest.mark.parametrize("field", list(FIELDS))
def test_form_field_is_documented(field: str) -> None:
    assert f"`{field}`" in TEXT, f"form field {field} is not described in docs/"


# -- the CLI -------------------------------------------------------------------------------


def _commands(command: click.Command, path: str) -> Iterator[tuple[str, click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            yield from _commands(command.commands[name], f"{path} {name}")


COMMANDS = dict(_commands(cli, "saksi"))


def _sections(markdown: str) -> dict[str, str]:
    """Heading line -> the text up to the next heading."""
    sections: dict[str, str] = {}
    heading, lines = "", list[str]()
    for line in markdown.splitlines():
        if line.startswith("#"):
            sections[heading] = "\n".join(lines)
            heading, lines = line, []
        else:
            lines.append(line)
    sections[heading] = "\n".join(lines)
    return sections


def _cli_section(path: str) -> str | None:
    cli_page = DOCS / "cli.md"
    for heading, body in _sections(cli_page.read_text(encoding="utf-8")).items():
        if heading.lstrip("#").strip() == f"`{path}`":
            return body
    return None


def _names(param: click.Parameter) -> list[str]:
    if isinstance(param, click.Argument):
        return [(param.name or "").upper()]
    return [*param.opts, *param.secondary_opts]


@pytest.mark.parametrize("path", list(COMMANDS))
def test_command_has_a_section_in_cli_md(path: str) -> None:
    body = _cli_section(path)
    assert body is not None, f"docs/cli.md has no heading `{path}` (e.g. ## `{path}`)"
    assert body.strip(), f"the section of `{path}` in docs/cli.md is empty"
    for param in COMMANDS[path].params:
        for name in _names(param):
            assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", body), (
                f"docs/cli.md, section `{path}`, does not mention {name}"
            )


# -- the worked example of the record format ----------------------------------------------


def _example_code() -> str:
    page = (DOCS / "record-format.md").read_text(encoding="utf-8")
    section = page.split("## 7. Worked example", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None, "record-format.md section 7 has no Python snippet"
    return match.group(1)


def test_record_format_worked_example_is_current() -> None:
    page = (DOCS / "record-format.md").read_text(encoding="utf-8")
    flat = re.sub(r"\s+", "", page)
    namespace: dict[str, Any] = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(_example_code(), namespace)  # the snippet exactly as the page shows it
    entry: bytes = namespace["entry"]
    expected = {
        "canonical payload": namespace["body"].decode(),
        "payload hash": namespace["form_hash"].hex(),
        "key": namespace["auth"].key,
        "signature": namespace["auth"].signature,
        "envelope": entry.decode(),
        "entry hash": hashlib.sha256(entry).hexdigest(),
        "attestation entry": namespace["att_entry"].decode(),
        "attestation payload hash": namespace["att_hash"],
        "attested form": namespace["covered"].decode(),
    }
    for what, value in expected.items():
        assert value in page, f"record-format.md shows a stale {what}; it is now {value}"
    assert namespace["message"].hex() in flat, "record-format.md shows a stale signing input"
    assert f"({len(entry)} bytes;" in page
    assert f"`{len(entry).to_bytes(2, 'big').hex(' ')}`" in page
    assert f"({len(namespace['body'])} bytes;" in page


@pytest.mark.parametrize("path", PAGES)
def test_website_page_is_in_the_interface_table(path: str) -> None:
    website = (DOCS / "website.md").read_text(encoding="utf-8")
    table = website.split("## Interface that scripts rely on", 1)[1].split("\n## ", 1)[0]
    assert f"| `{path}` |" in table
