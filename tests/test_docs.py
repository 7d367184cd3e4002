"""Every example of README.md and docs/*.md runs as written, from any directory, against the
installed package.

Each ```` ```python ```` block runs in ``python``, each ```` ```sh ```` block in ``bash -e`` (every
command must succeed), in a fresh temporary directory outside the clone: an example may use
only the package (its shipped samples, ``bbtok.data``), the ``bbtok`` and ``python`` commands,
and the files it makes itself. The hub is offline and its cache empty, so an example that needs
a model id fails instead of downloading. A block preceded by a line ``<!-- untested: why -->``
(one that installs from the clone, say) is reported as skipped, with that reason.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import REPOSITORY

PAGES = [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").glob("*.md"))]
BLOCK = re.compile(
    r"^(?:<!-- untested: (?P<untested>.+?) -->\n)?```(?P<language>python|sh)\n(?P<code>.*?)^```",
    re.DOTALL | re.MULTILINE,
)
SNIPPET_TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Snippet:
    page: Path
    line: int
    language: str
    code: str
    untested: str | None

    @property
    def name(self) -> str:
        return f"{self.page.relative_to(REPOSITORY)}:{self.line}"


def snippets() -> list[Snippet]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start("code"))
            found.append(Snippet(page, line, match["language"], match["code"], match["untested"]))
    return found


def snippet_param(snippet: Snippet) -> object:
    marks: list[pytest.MarkDecorator] = []
    if snippet.untested:
        marks.append(pytest.mark.skip(reason=f"{snippet.name} untested: {snippet.untested}"))
    if "import ray" in snippet.code:
        marks.append(pytest.mark.distributed)
    return pytest.param(snippet, id=snippet.name, marks=marks)


def run_snippet(snippet: Snippet, directory: Path) -> subprocess.CompletedProcess[str]:
    """``snippet`` run in ``directory`` with the environment of these tests (the installed
    package, or the one PYTHONPATH names), this Python's ``bbtok`` and ``python`` first on
    PATH, and an empty, offline Hugging Face cache."""
    scripts = Path(sys.executable).parent
    environment = {
        **os.environ,
        "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}",
        "HF_HUB_CACHE": str(directory / ".hub-cache"),
        "HF_HUB_OFFLINE": "1",
    }
    command = (
        [sys.executable, "-c", snippet.code]
        if snippet.language == "python"
        else ["bash", "-e", "-o", "pipefail", "-c", snippet.code]
    )
    return subprocess.run(
        command,
        cwd=directory,
        env=environment,
        capture_output=True,
        text=True,
        timeout=SNIPPET_TIMEOUT_SECONDS,
        stdin=subprocess.DEVNULL,
    )


def test_every_page_of_the_docs_is_listed_in_their_index() -> None:
    index = (REPOSITORY / "docs" / "README.md").read_text(encoding="utf-8")
    for page in PAGES[1:]:
        if page.name != "README.md":
            assert f"]({page.name})" in index, page.name


def test_the_readme_and_the_docs_have_examples_in_python_and_sh() -> None:
    found = snippets()
    readme = [s for s in found if s.page.name == "README.md" and s.page.parent == REPOSITORY]
    assert {s.language for s in readme if not s.untested} == {"python", "sh"}
    assert len([s for s in found if not s.untested]) >= 15


def test_every_untested_example_says_why() -> None:
    for snippet in snippets():
        assert snippet.untested is None or len(snippet.untested.split()) >= 3, snippet.name


@pytest.mark.parametrize("snippet", [snippet_param(s) for s in snippets()])
def test_the_example_runs_as_written_outside_the_clone(snippet: Snippet, tmp_path: Path) -> None:
    assert not tmp_path.resolve().is_relative_to(REPOSITORY)
    result = run_snippet(snippet, tmp_path)
    assert result.returncode == 0, (
        f"{snippet.name} failed with status {result.returncode}:\n{result.stderr[-3000:]}"
    )
