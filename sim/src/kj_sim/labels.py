"""What a person reads in the demo's dashboard and report, for each code the record keeps."""

TIER_LABEL = {
    "key_location": "重点部位 1 min",
    "central_city": "中心城区 3 min",
    "other_city": "其他城区 5 min",
    "county": "县城 county",
}
ALARM_STATUS = {
    "accepted": "待派 waiting for a unit",
    "assigned": "已派 unit on its way",
    "on_scene": "到场 police on scene",
    "closed": "结案 closed",
    "merged": "合并 repeat call, merged",
    "diverted": "分流 diverted to 12345",
}
# what intake answered each call the simulator posted
POST_ANSWER = {
    "accepted": "accepted",
    "merged": "merged into an open incident",
    "diverted": "diverted to 12345",
}
UNIT_STATUS = {
    "available": "空闲 available",
    "assigned": "已派 assigned",
    "en_route": "途中 en route",
    "on_scene": "到场 on scene",
    "returning": "返回 returning",
    "off_duty": "下班 off duty",
    "lost_contact": "失联 lost contact",
}
# the dashboard's per-platform columns: units free, on a call, on their way back, out of reach
UNIT_GROUPS = {
    "free": ("available",),
    "call": ("assigned", "en_route", "on_scene"),
    "back": ("returning",),
    "lost": ("lost_contact",),
}
UNIT_GROUP_LABEL = {
    "free": "空闲 free",
    "call": "出警 on a call",
    "back": "返回 returning",
    "lost": "失联 lost",
}


def label(table: dict[str, str], code: str) -> str:
    return table.get(code, code.replace("_", " "))


def duration(seconds: float) -> str:
    """`45 s`, `3 min 05 s`, `1 h 02 min`."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
