"""Python started in the repository root imports the installed package: the sources live in
``python/bbtok/``, so no folder of the root shadows what pip built. Without any built extension,
the pure-Python tokenizer still works and the fast one says how to build it. (The documentation's
examples are run by tests/test_docs.py, outside the clone.)
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


def test_python_started_in_the_repository_root_imports_the_package_the_tests_import() -> None:
    import bbtok

    result = run_python(
        "import bbtok\n"
        "from bbtok import BlenderbotSmallTokenizerFast\n"
        "from bbtok.data import SAMPLE_CHECKPOINT\n"
        "print(bbtok.__file__)\n"
        "print(BlenderbotSmallTokenizerFast.from_pretrained(SAMPLE_CHECKPOINT)('Hello!').input_ids)\n",
        REPOSITORY,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    module_file, ids = result.stdout.splitlines()
    assert Path(module_file) == Path(bbtok.__file__)
    assert ids == hello_ids()


def test_the_repository_root_holds_no_folder_that_would_shadow_the_package() -> None:
    assert not (REPOSITORY / "bbtok").exists()
    assert (REPOSITORY / "python" / "bbtok" / "__init__.py").is_file()


def test_without_any_built_extension_the_pure_tokenizer_works_and_the_fast_one_says_why(
    tmp_path: Path,
) -> None:
    checkout = tmp_path / "checkout"
    shutil.copytree(
        REPOSITORY / "python" / "bbtok", checkout / "bbtok", ignore=shutil.ignore_patterns("*.so")
    )
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
