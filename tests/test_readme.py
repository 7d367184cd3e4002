"""The README's Python snippets run as written, from the repository root, after its install
command; and a source checkout imports bbtok whether or not its Rust extension was built there.

Python started in the repository root imports the ``bbtok/`` source folder, not the installed
package. Each snippet runs in a subprocess whose working directory stands in for the root: it
links the checkout's ``bbtok/`` and ``fixtures/`` (so the source folder shadows the installed
package exactly as in the root) and holds what a user would have beside them (``corpus.txt``);
what the snippets write lands there, not in the checkout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import regex

from conftest import REPOSITORY, cached_snapshot

README = REPOSITORY / "README.md"
SNIPPET_TIMEOUT_SECONDS = 300
HUB_CACHE = "hub-cache"


def hello_ids() -> str:
    """The ids of "Hello!" as the sample vocabulary lists them: ``hello`` then ``!``."""
    from bbtok.data import SAMPLE_CHECKPOINT

    vocab = json.loads((SAMPLE_CHECKPOINT / "vocab.json").read_text(encoding="utf-8"))
    return str([vocab["hello"], vocab["!"]])


def python_snippets() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def snippet_id(snippet: str) -> str:
    return snippet.strip().splitlines()[-1][:60]


def snippet_marks(snippet: str) -> list[pytest.MarkDecorator]:
    return [pytest.mark.distributed] if "import ray" in snippet else []


def repository_root_stand_in(directory: Path) -> Path:
    """A working directory that imports like the repository root and reads its fixtures, with
    what a user has beside it: a corpus, and a Hugging Face cache holding the model id the
    README loads (the sample checkpoint's files stand in for the published ones)."""
    for name in ("bbtok", "fixtures"):
        (directory / name).symlink_to(REPOSITORY / name, target_is_directory=True)
    lines = (REPOSITORY / "fixtures" / "multilingual.txt").read_text(encoding="utf-8")
    (directory / "corpus.txt").write_text(lines, encoding="utf-8")
    cached_snapshot(directory / HUB_CACHE, "0" * 40)
    return directory


def run_python(
    code: str, cwd: Path, without_site_packages: list[Path] | None = None
) -> subprocess.CompletedProcess[str]:
    """``code`` run by Python started in ``cwd``; ``without_site_packages``: with no installed
    package on the path (``python -S``) but these folders."""
    environment = dict(os.environ)
    # The working directory first on the path, as `python` started there (or a script in it).
    environment.pop("PYTHONPATH", None)
    # Offline: the model ids must come from the stand-in's cache, never from a network.
    environment.update(HF_HUB_CACHE=str(cwd / HUB_CACHE), HF_HUB_OFFLINE="1")
    options = []
    prelude = "import sys; sys.path.insert(0, '')\n"
    if without_site_packages is not None:
        options = ["-S"]
        prelude += f"sys.path[1:1] = {[str(folder) for folder in without_site_packages]!r}\n"
    return subprocess.run(
        [sys.executable, *options, "-c", prelude + code],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=SNIPPET_TIMEOUT_SECONDS,
        stdin=subprocess.DEVNULL,
    )


def test_the_readme_has_python_snippets() -> None:
    assert len(python_snippets()) >= 4


@pytest.mark.parametrize(
    "snippet",
    [pytest.param(s, id=snippet_id(s), marks=snippet_marks(s)) for s in python_snippets()],
)
def test_readme_snippet_runs_from_the_repository_root(snippet: str, tmp_path: Path) -> None:
    root = repository_root_stand_in(tmp_path)
    result = run_python(snippet, root)
    assert result.returncode == 0, result.stderr[-3000:]
    # The snippet ran the source folder's modules, as Python started in the root does.
    check = run_python("import bbtok; print(bbtok.__file__)", root)
    assert Path(check.stdout.strip()).parent == root / "bbtok"


def test_a_checkout_without_a_built_extension_borrows_the_installed_one(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    shutil.copytree(REPOSITORY / "bbtok", checkout / "bbtok", ignore=shutil.ignore_patterns("*.so"))
    result = run_python(
        "import bbtok\n"
        "from bbtok import BlenderbotSmallTokenizerFast\n"
        "from bbtok.data import SAMPLE_CHECKPOINT\n"
        "print(bbtok.__file__)\n"
        "print(BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_CHECKPOINT)('Hello!').input_ids)\n",
        checkout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    module_file, ids = result.stdout.splitlines()
    assert Path(module_file) == checkout / "bbtok" / "__init__.py"
    assert ids == hello_ids()


def test_without_any_built_extension_the_pure_tokenizer_works_and_the_fast_one_says_why(
    tmp_path: Path,
) -> None:
    checkout = tmp_path / "checkout"
    shutil.copytree(REPOSITORY / "bbtok", checkout / "bbtok", ignore=shutil.ignore_patterns("*.so"))
    # No installed package at all, but the pure tokenizer's one dependency: the extension is
    # nowhere to be found.
    dependencies = tmp_path / "dependencies"
    shutil.copytree(Path(regex.__file__).parent, dependencies / "regex")
    result = run_python(
        "from bbtok import BlenderbotSmallTokenizer\n"
        "from bbtok.data import SAMPLE_CHECKPOINT\n"
        "print(BlenderbotSmallTokenizer.from_pretrained(SAMPLE_CHECKPOINT)('Hello!').input_ids)\n"
        "from bbtok import BlenderbotSmallTokenizerFast\n",
        checkout,
        without_site_packages=[dependencies],
    )
    assert result.stdout.strip() == hello_ids()
    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ImportError: bbtok's Rust extension (bbtok._native) is not built")
    assert "pip install ." in last_line
    assert "circular import" not in result.stderr
