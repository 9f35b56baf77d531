"""What an 808-only vehicle's screen shows and its speaker reads (0x8300, GBK): a work order in
one short Chinese text, within the message's 1,023 bytes."""

from kj_schemas.workorders import WorkOrder

CATEGORY = {
    "violent_crime": "暴力犯罪",
    "robbery": "抢劫抢夺",
    "theft": "盗窃",
    "fight": "打架斗殴",
    "domestic_violence": "家庭暴力",
    "suicide_attempt": "轻生",
    "missing_person": "走失",
    "traffic_accident": "交通事故",
    "fire": "火情",
    "public_disorder": "扰乱秩序",
    "suspicious": "可疑人员物品",
    "dispute": "纠纷",
    "help_request": "求助",
    "other_police": "其他警情",
}
TIER = {
    "key_location": "重点部位",
    "central_city": "中心城区",
    "other_city": "其他城区",
    "county": "县城",
}
MAX_BYTES = 1021  # 2019's flag and type bytes leave this much of a 1,023-byte body


def work_order_text(order: WorkOrder) -> str:
    short = str(order.work_order_id)[:8]
    if order.for_post:  # a post to patrol (有警出警、无警巡逻), or its withdrawal
        place = f"{order.scene.lat:.5f},{order.scene.lon:.5f}"
        if order.action.value == "withdraw":
            return fit(f"【巡逻调整 {short}】前往巡逻点 {order.post_id} 的指令已撤销。")
        radius = f"，半径{order.patrol_radius_m}米内巡逻" if order.patrol_radius_m else ""
        return fit(
            f"【巡逻指令 {short}】请前往巡逻点 {order.post_id}（{place}）{radius}。有警出警。"
        )
    assert order.category is not None and order.tier is not None  # a call's order
    category = CATEGORY.get(order.category.value, order.category.value)
    if order.action.value == "withdraw":
        text = f"【撤销工单 {short}】{category} 已撤销，原因：{order.withdraw_reason}。请停止前往。"
    else:
        address = order.address or f"{order.scene.lat:.5f},{order.scene.lon:.5f}"
        text = (
            f"【快警工单 {short}】{category}，{TIER.get(order.tier.value, '')}，"
            f"优先级{order.priority}。地址：{address}。"
            f"请于{order.target_seconds}秒内到场。"
        )
        if order.description:
            text += f"情况：{order.description}"
    return fit(text)


def fit(text: str, limit: int = MAX_BYTES) -> str:
    """Cut at a character, never inside one, so the GBK bytes stay within `limit`."""
    while len(text.encode("gbk", "replace")) > limit:
        text = text[: max(len(text) - 8, 0)]
    return text
