"""The patrol coverage layer and figures of ``gridmap demo`` (the session's one demo run, tests/conftest.py).

Expected figures from data/sample/README.md (Patrols) and ``gridmap patrols`` on the same files: the week of
GPS tracks covers the 48 grids of street 990102001 (53 of their 55 units passed, 6 grids short of one patrol
a day), the check-ins the 34 grids of town 990121100 (48 of 54 units, 18 grids short).
"""

import json
import re

import pytest

NEVER = ("990102001003001", "990102001006009", "990121100201011", "990121100203002")  # no patrol all week


def overlays(page: str) -> list[dict]:
    return [json.loads(text) for text in re.findall(r"gridmap\.overlay\((\{.*?\}), \w+\);\n", page)]


@pytest.fixture(scope="module")
def pages(demo):
    return {name: (demo.folder / name).read_text(encoding="utf-8") for name in ("index.html", "cockpit.html")}


@pytest.mark.parametrize("name", ["index.html", "cockpit.html"])
def test_demo_pages_draw_patrol_coverage_of_the_tracked_street_and_the_checked_in_town(pages, name):
    page = pages[name]
    spec = overlays(page)[-1]
    assert spec["key"] == "overlay_patrols_7"
    codes = json.loads(re.search(r"gridmap\.gridLayer\((\{.*?\})\);\n", page).group(1))["codes"]
    rows = {codes[f["g"]]: dict(zip(spec["fields"], f["v"][1:], strict=True)) for f in spec["features"]}
    assert len(rows) == 48 + 34
    assert {code[:9] for code in rows} == {"990102001", "990121100"}
    for code in NEVER:
        assert rows[code]["巡查覆盖率"] == "0.0%" and rows[code]["距上次巡查"] == "期间未巡查", code
    assert rows["990102001004006"]["巡查次数（实际/应巡）"] == "5/7"  # its worker is away Wednesday to Friday
    variable = re.search(r'var (\w+) = gridmap\.overlay\(\{"key":"overlay_patrols_7"', page).group(1)
    assert f"{variable}.addTo(" not in page  # off when the page opens


def test_demo_cockpit_sums_patrols_and_circles_up(pages):
    page = pages["cockpit.html"]
    assert re.search(r"<th>巡查覆盖率</th><td class=\"value\">92\.7%</td>"  # 101 of 109 units
                     r"<td class=\"detail\">途经单元 101/109 · 82 个网格 · 巡查不足 24 个</td>", page)
    worst = re.findall(r'<tr data-grid="\d+"><td>(\d+)</td>', page.split("巡查覆盖率最低的5个网格", 1)[1])
    assert set(worst[:4]) == set(NEVER) and len(worst) == 5
    households = re.search(r"15分钟圈内 ([\d,]+) 户，占 ([\d.]+)%", page)
    total = int(re.search(r'<div class="label">户数</div><div class="value">([\d,]+)', page)
                .group(1).replace(",", ""))
    inside = int(households.group(1).replace(",", ""))
    assert 0 < inside < total and float(households.group(2)) == round(100 * inside / total, 1)
