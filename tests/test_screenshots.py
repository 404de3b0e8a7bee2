"""scripts/make_screenshots.py: the README's province screenshots, made offline in headless chromium."""

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.browser
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make_screenshots.py"
ROOT = SCRIPT.parents[1]


@pytest.mark.slow
def test_a_small_province_gives_two_small_pngs_of_the_map(tmp_path, chromium):
    chromium()  # skips (or fails under CI) without chromium
    out = tmp_path / "shots" / "province.png"
    # a process of its own: Playwright's sync API refuses to start beside the worker's running browser
    argv = ["--grids", "600", "--out", str(out), "--width", "640", "--height", "400"]
    result = subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    paths = [out, out.with_name("province-grids.png")]
    assert f"wrote {paths[0]}" in result.stdout
    for path in paths:
        image = Image.open(io.BytesIO(path.read_bytes()))
        assert image.format == "PNG" and image.size == (640, 400) and path.stat().st_size < 300 * 1024
        colours = np.asarray(image.convert("RGB")).reshape(-1, 3)
        assert len(np.unique(colours, axis=0)) > 8, "a map, not a blank page"


def test_the_committed_screenshots_are_small_and_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("province.png", "province-grids.png"):
        path = ROOT / "docs" / name
        assert path.exists() and path.stat().st_size < 300 * 1024
        assert f'src="docs/{name}"' in readme
    assert "python scripts/make_screenshots.py" in readme
