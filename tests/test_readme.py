"""The README's five-minute tour runs as written and does what its comments say."""

import re
import warnings
from pathlib import Path

import pytest

import gridmap
from gridmap.errors import GridmapWarning

README = Path(__file__).resolve().parents[1] / "README.md"


def tour_code() -> str:
    """The first Python block under the README's "A five-minute tour" heading."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## A five-minute tour"):]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


@pytest.mark.slow
def test_five_minute_tour_runs_and_keeps_its_promises(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridmapWarning)  # the sample city's deliberate flaws are reported
        exec(compile(tour_code(), "README.md (five-minute tour)", "exec"), namespace)  # noqa: S102
    build, communities = namespace["build"], namespace["communities"]
    assert len(build.grids) > 0 and set(build.grids["type"]) == {"city", "rural", "dedicated"}
    assert gridmap.check(build.grids, communities).ok  # "全覆盖、不交叉: True"
    findings = gridmap.check(build.grids, communities, build.units).to_frame()
    assert (findings["check"] == "unit_multiple").sum() == 5  # "the 5 compounds straddling a community line"
    page = tmp_path / "city.html"
    assert page.stat().st_size > 10_000 and "<html" in page.read_text(encoding="utf-8")[:2000].lower()
