"""What ``bbtok --version`` and ``bbtok --help`` import: the command line's entry point, its
parser and the defaults the help shows, and none of the code of the commands (each command's
modules load when it runs), so that they answer at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_python_child

# Spelled out: a module added here is a cost every command start pays.
PARSER_MODULES = {
    "bbtok",
    "bbtok.cli",
    "bbtok.cli.defaults",
    "bbtok.cli.parser",
    "bbtok.cli.process",
    "bbtok.cli.run",
    "bbtok.corpus",
    "bbtok.corpus.defaults",
    "bbtok.data",
}


# Modules of the standard library and others that only the commands use (the log handler, JSON
# records, the tokenizer's patterns), each slow to import.
COMMAND_ONLY_MODULES = {"dataclasses", "json", "logging", "regex"}


def modules_imported(tmp_path: Path, *arguments: str) -> set[str]:
    """The modules ``python -m bbtok ARGUMENTS`` imports, as ``-X importtime`` lists them on
    standard error."""
    child = run_python_child(["-X", "importtime", "-m", "bbtok", *arguments], tmp_path, 60)
    assert child.returncode == 0, child.stderr
    return {
        line.rsplit("|", 1)[1].strip()
        for line in child.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }


@pytest.mark.parametrize("option", ["--version", "--help"])
def test_version_and_help_import_only_the_parser_and_its_defaults(
    option: str, tmp_path: Path
) -> None:
    imported = modules_imported(tmp_path, option)
    assert {name for name in imported if name.split(".")[0] == "bbtok"} == PARSER_MODULES


@pytest.mark.parametrize("option", ["--version", "--help"])
def test_version_and_help_import_no_module_only_the_commands_use(
    option: str, tmp_path: Path
) -> None:
    assert modules_imported(tmp_path, option) & COMMAND_ONLY_MODULES == set()
