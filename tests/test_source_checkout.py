"""A source checkout imports bbtok whether or not its Rust extension was built there: Python
started in the repository root imports the ``bbtok/`` source folder, not the installed package,
and the folder borrows the installed package's extension. (The documentation's examples are run
by tests/test_docs.py, outside the checkout.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import regex

from conftest import REPOSITORY

CHILD_TIMEOUT_SECONDS = 300


def hello_ids() -> str:
    """The ids of "Hello!" as the sample vocabulary lists them: ``hello`` then ``!``."""
    from bbtok.data import SAMPLE_CHECKPOINT

    vocab = json.loads((SAMPLE_CHECKPOINT / "vocab.json").read_text(encoding="utf-8"))
    return str([vocab["hello"], vocab["!"]])


def run_python(
    code: str, cwd: Path, without_site_packages: list[Path] | None = None
) -> subprocess.CompletedProcess[str]:
    """``code`` run by Python started in ``cwd``; ``without_site_packages``: with no installed
    package on the path (``python -S``) but these folders."""
    environment = dict(os.environ)
    # The working directory first on the path, as `python` started there (or a script in it).
    environment.pop("PYTHONPATH", None)
    environment["HF_HUB_OFFLINE"] = "1"
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
        timeout=CHILD_TIMEOUT_SECONDS,
        stdin=subprocess.DEVNULL,
    )


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
