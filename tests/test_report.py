import json

import pytest

from gridmap import GridmapError, Report


def test_report_ok_until_an_error_is_added():
    report = Report("demo")
    report.add("repaired", "geometry repaired", record="7", severity="warning")
    assert report.ok
    report.add("overlap", "grids overlap", record="A|B", area_m2=12.5)
    assert not report.ok
    frame = report.to_frame()
    assert list(frame["check"]) == ["repaired", "overlap"]
    assert frame.loc[1, "area_m2"] == 12.5


def test_report_raises_first_error_with_count():
    report = Report("codes")
    report.add("duplicate", "code 450102001003 appears twice", record="row 3")
    report.add("duplicate", "code 450102001004 appears twice", record="row 9")
    with pytest.raises(GridmapError, match=r"units.csv, record row 3: duplicate: .*and 1 more\)$"):
        report.raise_for_errors(path="units.csv")


def test_report_passes_the_fix_of_the_first_error():
    report = Report("cases")
    report.add("time_order", "closed before it was reported", record="case 7", fix="correct the times")
    assert report.to_frame().loc[0, "fix"] == "correct the times"
    with pytest.raises(GridmapError, match=r"record case 7: time_order: .*Fix: correct the times\.$"):
        report.raise_for_errors()


def test_report_json_keeps_chinese_readable():
    report = Report("社区")
    report.add("gap", "兴宁社区 has a gap", record="450102001003")
    payload = json.loads(report.to_json())
    assert payload["ok"] is False
    assert payload["findings"][0]["message"] == "兴宁社区 has a gap"
    assert "兴宁" in report.to_json()


def test_unknown_severity_is_refused():
    with pytest.raises(ValueError, match="severity"):
        Report("x").add("c", "m", severity="fatal")


def test_add_many_reads_like_add_in_a_loop():
    """Findings added at once are the same rows, counts, summary and first error as one by one."""
    records, distances = ["case 1", "case 2", "case 3"], [1234.5, 8.0, 20.25]
    one, many = Report("cases"), Report("cases")
    for report in (one, many):
        report.add("no_location", "the case has no point", record="case 9", severity="warning")
    for record, distance in zip(records, distances, strict=True):
        one.add("outside", f"lies {distance:,.0f} m 外", record=record, distance_m=distance, fix="check")
    many.add_many("outside", "lies {distance_m:,.0f} m 外", records=records, distance_m=distances,
                  fix="check")
    many.add_many("outside", "never shown", records=[], distance_m=[])
    assert len(many) == len(one) == 4 and not many.ok
    assert many.to_frame().equals(one.to_frame())
    assert many.to_frame().loc[1, "message"] == "lies 1,234 m 外"
    assert many.counts().equals(one.counts()) and many.summary() == one.summary()
    for report in (one, many):
        with pytest.raises(GridmapError, match=r"record case 1: outside: lies 1,234 m 外 \(and 2 more\)"):
            report.raise_for_errors()
    merged = Report("all")
    merged.extend(many)
    merged.add("late", "one more")
    assert len(merged) == 5 and merged.to_frame()["check"].tolist()[-1] == "late"


def test_add_many_refuses_ragged_columns_and_unknown_severity():
    with pytest.raises(ValueError, match="one value of each extra per record"):
        Report("x").add_many("c", "{d}", records=["a", "b"], d=[1.0])
    with pytest.raises(ValueError, match="severity"):
        Report("x").add_many("c", "m", records=["a"], severity="fatal")
