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


def bbtok_modules_imported(tmp_path: Path, *arguments: str) -> set[str]:
    """The bbtok modules ``python -m bbtok ARGUMENTS`` imports, as ``-X importtime`` lists
    them on standard error."""
    child = run_python_child(["-X", "importtime", "-m", "bbtok", *arguments], tmp_path, 60)
    assert child.returncode == 0, child.stderr
    imported = {
        line.rsplit("|", 1)[1].strip()
        for line in child.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    return {name for name in imported if name == "bbtok" or name.startswith("bbtok.")}


@pytest.mark.parametrize("option", ["--version", "--help"])
def test_version_and_help_import_only_the_parser_and_its_defaults(
    option: str, tmp_path: Path
) -> None:
    assert bbtok_modules_imported(tmp_path, option) == PARSER_MODULES
