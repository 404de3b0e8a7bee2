"""Sample handling histories, satisfaction and mediation for the sample city's cases (issue 21).

Called by ``make_sample_data.py`` after ``cases.parquet`` and ``staff.csv`` are written; reads them, never
changes them. Writes ``case_steps.csv`` (one row per handling step) and ``case_feedback.csv`` (满意度,
调解结果, 调解层级 per case) for the cases reported in the last quarter of the sample year.
"""

from __future__ import annotations

import io
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gridmap.cases import assign
from gridmap.io._atomic import atomic_path
from gridmap.schema import HANDLING_LEVELS, MEDIATION_LEVELS, SATISFACTION_CLASSES

__all__ = ["generate_escalation", "STREAM", "STEPS_NAME", "FEEDBACK_NAME"]

STREAM = 8
STEPS_NAME, FEEDBACK_NAME = "case_steps.csv", "case_feedback.csv"
FIRST_DAY = pd.Timestamp("2025-10-01")  # histories for the cases reported from here on (the last quarter)
SKIP, RETURN, ENTER_ABOVE, BACKWARDS = 0.10, 0.04, 0.05, 3  # shares of cases, and a count of flawed ones
RATED = 0.7  # share of closed cases whose residents answered the return visit (回访)
#: Chance of 满意 / 基本满意 / 不满意 by the level a case was settled at, and after a skip or a return.
SATISFACTION = {
    "grid": (0.78, 0.18, 0.04),
    "community": (0.66, 0.26, 0.08),
    "street": (0.55, 0.30, 0.15),
    "district": (0.45, 0.32, 0.23),
    "detour": (0.40, 0.35, 0.25),
}
MEDIATION_SUCCESS = 0.82
DISPUTES = "矛盾纠纷"


def generate_escalation(out: Path, grids: gpd.GeoDataFrame, seed: int) -> list[str]:
    """Write ``case_steps.csv`` and ``case_feedback.csv`` into ``out``; return the README section."""
    rng = np.random.default_rng([seed, STREAM])
    cases = _cases(out, grids)
    handlers = _full_time_ids(out)
    steps = _steps(cases, handlers, rng)
    feedback = _feedback(cases, steps, rng)
    _write_csv(out / STEPS_NAME, steps.drop(columns="kind"))
    _write_csv(out / FEEDBACK_NAME, feedback)
    return _readme(cases, steps, feedback)


def _cases(out: Path, grids: gpd.GeoDataFrame) -> pd.DataFrame:
    """The sample's cases of the last quarter, with the grid each lies in (as gridmap assigns them)."""
    cases = gpd.read_parquet(out / "cases.parquet")
    cases = cases[cases["reported_at"] >= FIRST_DAY].reset_index(drop=True)
    located = assign(cases, grids[["code", "geometry"]])
    community = dict(zip(grids["code"], grids["community_code"], strict=True))
    frame = pd.DataFrame(located.drop(columns=located.geometry.name))
    frame["community_code"] = frame["grid_code"].map(community)
    return frame[frame["grid_code"].notna()].reset_index(drop=True)


def _full_time_ids(out: Path) -> dict[str, str]:
    """Grid code → its full-time worker's person id (``P`` + row number in staff.csv), else its leader's."""
    staff = pd.read_csv(out / "staff.csv", dtype=str)
    staff["person_id"] = [f"P{number:06d}" for number in range(1, len(staff) + 1)]
    ids: dict[str, str] = {}
    for role in ("leader", "full_time"):  # the full-time worker wins
        rows = staff[staff["role"] == role].drop_duplicates("grid_code")
        ids.update(zip(rows["grid_code"], rows["person_id"], strict=True))
    return ids


def _path(final: int, rng: np.random.Generator) -> tuple[list[int], str]:
    """The levels a case passes to end at level ``final`` (0 grid … 3 district), and how it went."""
    path, kind = list(range(final + 1)), "plain"
    draw = rng.random()
    if final >= 2 and draw < SKIP:
        path.remove(int(rng.integers(1, final)))  # reported over the head of a level (越级)
        kind = "skip"
    elif final <= 2 and SKIP <= draw < SKIP + RETURN:
        path.extend([final + 1, final])  # sent up one level too far, then returned down (退回)
        kind = "return"
    elif final >= 1 and SKIP + RETURN <= draw < SKIP + RETURN + ENTER_ABOVE:
        path = path[1:]  # reported straight to the community (or above)
        kind = "above"
    return path, kind


def _steps(cases: pd.DataFrame, handlers: dict[str, str], rng: np.random.Generator) -> pd.DataFrame:
    """One row per step: levels from the path, times spread between acceptance and closing."""
    end_of_data = cases[["reported_at", "accepted_at", "closed_at"]].max().max()
    rows = []
    for case in cases.itertuples(index=False):
        path, kind = _path(HANDLING_LEVELS.index(case.level), rng)
        start = case.accepted_at if pd.notna(case.accepted_at) else case.reported_at
        end = case.closed_at if pd.notna(case.closed_at) else end_of_data
        cuts = np.sort(rng.random(len(path) - 1)) * 0.8 * (end - start).total_seconds()
        times = [start] + [start + pd.Timedelta(seconds=float(s)) for s in cuts]
        for level, time in zip(path, times, strict=True):
            name = HANDLING_LEVELS[level]
            handler = (
                handlers.get(case.grid_code) if name == "grid" else _unit_code(case.community_code, name)
            )
            rows.append((case.case_id, name, handler, time.floor("min"), kind))
    steps = pd.DataFrame(rows, columns=["case_id", "level", "handler", "time", "kind"])
    steps.insert(1, "step", steps.groupby("case_id").cumcount() + 1)
    seconds = steps.index[steps["step"].eq(2)]  # a clerk's typo: the second step timed before the first
    flawed = np.sort(rng.choice(seconds, BACKWARDS, replace=False))
    steps.loc[flawed, "time"] = steps.loc[flawed - 1, "time"].to_numpy() - pd.Timedelta(hours=2)
    return steps


def _unit_code(community: str, level: str) -> str:
    return community[: {"community": 12, "street": 9, "district": 6}[level]]


def _feedback(cases: pd.DataFrame, steps: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """满意度 for most closed cases; 调解结果 and 调解层级 for the disputes (矛盾纠纷)."""
    kinds = steps.groupby("case_id", sort=False)["kind"].first()
    kind = cases["case_id"].map(kinds).to_numpy()
    closed = cases["status"].eq("closed").to_numpy()
    words = list(SATISFACTION_CLASSES.values())
    satisfaction = []
    for level, how, done in zip(cases["level"], kind, closed, strict=True):
        odds = SATISFACTION["detour" if how in ("skip", "return") else level]
        answered = done and rng.random() < RATED
        satisfaction.append(words[int(rng.choice(3, p=odds))] if answered else None)
    dispute = cases["category"].eq(DISPUTES).to_numpy()
    success = rng.random(len(cases)) < MEDIATION_SUCCESS
    outcome = np.where(~closed, "未结", np.where(success, "调解成功", "调解失败"))
    centre = cases["level"].map({"grid": MEDIATION_LEVELS["community"], **MEDIATION_LEVELS}).to_numpy()
    feedback = pd.DataFrame(
        {
            "事件编号": cases["case_id"],
            "满意度": satisfaction,
            "调解结果": np.where(dispute, outcome, None),
            "调解层级": np.where(dispute, centre, None),
        }
    )
    keep = feedback["满意度"].notna() | feedback["调解结果"].notna()
    return feedback[keep].reset_index(drop=True)


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n", date_format="%Y-%m-%d %H:%M")
    with atomic_path(path) as temporary:
        Path(temporary).write_text(buffer.getvalue(), encoding="utf-8")


def _readme(cases: pd.DataFrame, steps: pd.DataFrame, feedback: pd.DataFrame) -> list[str]:
    kinds = steps.groupby("case_id")["kind"].first().value_counts()
    rated = int(feedback["满意度"].notna().sum())
    mediated = int(feedback["调解结果"].notna().sum())
    return [
        "## Handling histories, satisfaction and mediation (issue 21)",
        "",
        f"`{STEPS_NAME}` (UTF-8, {len(steps):,} rows): one row per handling step of the {len(cases):,} cases "
        f"reported from {FIRST_DAY:%Y-%m-%d} (the last quarter): `case_id`, `step` (1, 2 …), `level` "
        "(grid / community / street / district), `handler` (the grid's full-time worker's person id, "
        "`P` + row number in staff.csv, at grid level; the code of the community, street or district above), "
        "`time` (Beijing time, to the minute). Each "
        "history ends at the level `cases.parquet` records for the case; the steps run from acceptance to "
        "closing (open cases: to the end of the data).",
        f"Made to be found: {kinds.get('skip', 0)} cases skip a level (越级: 网格 → 街道), "
        f"{kinds.get('return', 0)} go one level too far and are returned down (退回), "
        f"{kinds.get('above', 0)} are reported straight to the community or above, and {BACKWARDS} "
        "have a second step timed before the first (a typing slip, reported as `time_backwards`). Under "
        "the default tiered response (`gridmap.schema.TIER_RULES`) the 环境卫生 and 城市管理 cases that "
        "reach the district break the rules (`tier_breach`).",
        "",
        f"`{FEEDBACK_NAME}` (UTF-8): `事件编号`, `满意度` (满意 / 基本满意 / 不满意: {rated:,} return "
        f"visits, {RATED:.0%} of the closed cases; less satisfied after a skip or a return), `调解结果` "
        f"and `调解层级` for the {mediated:,} disputes (矛盾纠纷): 调解成功 / 调解失败 for closed ones, "
        "未结 for open ones, at the mediation centre of the level the case was settled at "
        "(村(社区)调解点, 乡镇(街道)调解站, 县(区)调解中心).",
        "`gridmap escalation --cases data/sample/cases.parquet --steps data/sample/case_steps.csv --grids "
        "demo/gridmap.gpkg --feedback data/sample/case_feedback.csv` analyses them.",
    ]
