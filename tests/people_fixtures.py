"""A small hand-checked city for the roster, staffing-rule and liaison tests.

Two communities of one district: 兴宁社区 (urban, ``…001003``, grids U1 and U2) in street ``450102001`` and
双安村 (rural, ``…100201``, grid R1) in town ``450102100``. The roster meets every default rule except the
planted breaks listed in :data:`EXPECTED` (each found by hand from the rules' table):

* U2 has 5 网格员 (max 4); R1 has no 网格长 and only 2 网格员 (min 3);
* 双安村 has 9 法律明白人 (min 10), no 辅警 (一村一辅警) and a 党建网格长 who is not a party member;
* town 450102100 has no 乡镇级网格长; the district has two 县级网格长;
* one 网格长 serves grid ``450102001003009``, which does not exist (retired);
* one 微网格员 serves a micro-grid, a level given no units.
"""

from __future__ import annotations

import pandas as pd

DISTRICT, STREET_U, STREET_R = "450102", "450102001", "450102100"
COMM_U, COMM_R = "450102001003", "450102100201"
U1, U2, R1 = COMM_U + "001", COMM_U + "002", COMM_R + "001"
RETIRED = COMM_U + "009"
MICRO = U1 + "01"

#: (岗位, 层级, 单位编码, 政治面貌) of each person, in roster order.
POSTS = [
    ("网格指导员", "网格", U1, "群众"), ("网格长", "网格", U1, "中共党员"), ("专职网格员", "网格", U1, "否"),
    ("兼职网格员", "网格", U1, None),
    ("网格指导员", "网格", U2, "是"), ("网格长", "网格", U2, "是"), ("专职网格员", "网格", U2, "是"),
    ("定岗网格员", "网格", U2, "否"), ("兼职网格员", "网格", U2, "否"), ("兼职网格员", "网格", U2, "否"),
    ("网格指导员", "网格", R1, "是"), ("专职网格员", "网格", R1, "是"), ("兼职网格员", "网格", R1, "是"),
    ("医生(定岗)", "网格", R1, "否"),
    *[("法律明白人", "社区", COMM_U, "否")] * 10,
    ("党建网格长", "社区", COMM_U, "是"), ("综治网格长", "社区", COMM_U, "否"),
    ("网格长", "社区", COMM_U, "是"),
    *[("法律明白人", "村", COMM_R, "否")] * 9,
    ("党建网格长", "村", COMM_R, "否"), ("综治网格长", "村", COMM_R, "是"),
    ("村级网格长", None, COMM_R, "是"),
    ("志愿者", "社区", COMM_U, None),
    ("街道级网格长", None, STREET_U, "是"),
    ("县级网格长", "区", DISTRICT, "是"), ("一级网格长", None, DISTRICT, "是"),
    ("网格长", "网格", RETIRED, "是"),
    ("微网格员", "微网格", MICRO, "否"),
]

#: The errors the default rules find: (check, unit code, rule number or None).
EXPECTED = {
    ("unknown_unit", RETIRED, None),
    ("overstaffed", U2, 5),
    ("understaffed", R1, 2), ("understaffed", R1, 5),
    ("understaffed", COMM_R, 7), ("understaffed", COMM_R, 8),
    ("not_party_member", COMM_R, 9),
    ("understaffed", STREET_R, 12),
    ("overstaffed", DISTRICT, 11),
}


def grids() -> pd.DataFrame:
    """The three grids with Chinese headers."""
    return pd.DataFrame({"网格编码": [U1, U2, R1], "社区代码": [COMM_U, COMM_U, COMM_R],
                         "户数": [420, 380, 300]})


def roster_frame() -> pd.DataFrame:
    """The roster as a city types it: Chinese headers, ids, names and phones."""
    n = len(POSTS)
    return pd.DataFrame({
        "人员编号": [f"ID{k:04d}" for k in range(1, n + 1)],
        "姓名": [f"人员{k}" for k in range(1, n + 1)],
        "岗位": [post[0] for post in POSTS], "层级": [post[1] for post in POSTS],
        "单位编码": [post[2] for post in POSTS], "政治面貌": [post[3] for post in POSTS],
        "联系电话": [f"1380000{k:04d}" for k in range(1, n + 1)],
    })


def write_gbk_csv(path, frame: pd.DataFrame) -> None:
    """Write ``frame`` as a GBK-encoded CSV, the way Chinese Excel exports it."""
    path.write_bytes(frame.to_csv(index=False, lineterminator="\r\n").encode("gbk"))


def personal_values(frame: pd.DataFrame) -> list[str]:
    """Every phone and id of the roster: none may appear in a public output."""
    return [*frame["联系电话"], *frame["人员编号"]]
