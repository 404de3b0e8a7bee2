"""scripts/make_screenshots.py: the README's province screenshots, made offline in headless chromium."""

import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest
from browser import launch_chromium
from PIL import Image

pytestmark = pytest.mark.browser
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make_screenshots.py"
ROOT = SCRIPT.parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("make_screenshots", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_a_small_province_gives_two_small_pngs_of_the_map(tmp_path, capsys):
    playwright, browser = launch_chromium()  # skips (or fails under CI) without chromium
    browser.close()
    playwright.stop()
    out = tmp_path / "shots" / "province.png"
    assert _script().main(["--grids", "600", "--out", str(out), "--width", "640", "--height", "400"]) == 0
    paths = [out, out.with_name("province-grids.png")]
    assert f"wrote {paths[0]}" in capsys.readouterr().out
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
