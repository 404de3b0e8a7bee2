"""gridmap is typed and tidy: mypy (configured in setup.cfg) finds no error in the package, and ruff
(configured in ruff.toml) none in the package, its tests, scripts, benchmarks and notebooks."""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mypy_finds_no_error_in_gridmap():
    if importlib.util.find_spec("mypy") is None:
        if os.environ.get("CI"):
            pytest.fail("mypy is missing: pip install -e '.[test]' installs it")
        pytest.skip("mypy is not installed (pip install -e '.[test]')")
    # A fresh clone (CI) has no cache to read, and the one a cold run writes (~2,000 modules) is never read
    # again there: writing it was a seventh of the run. A cache already present is used and kept up to date.
    cache = [] if (ROOT / ".mypy_cache").is_dir() else ["--cache-dir", os.devnull]
    result = subprocess.run([sys.executable, "-m", "mypy", *cache, "gridmap"], cwd=ROOT, capture_output=True,
                            text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert "Success: no issues found" in result.stdout


def test_ruff_finds_nothing_in_the_code_and_notebooks():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        if os.environ.get("CI"):
            pytest.fail("ruff is missing: pip install -e '.[test]' installs it")
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    checked = ["gridmap", "tests", "scripts", "benchmarks", "notebooks"]
    result = subprocess.run([ruff, "check", "--no-cache", "--output-format", "concise", *checked], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
