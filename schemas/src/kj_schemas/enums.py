"""Closed vocabularies shared by every message and by the city reference data."""

from enum import IntEnum, StrEnum


class ResponseTier(StrEnum):
    """The 1/3/5-minute promise: which target applies where."""

    key_location = "key_location"  # 重点部位, 60 s
    central_city = "central_city"  # 中心城区, 180 s
    other_city = "other_city"  # 其他城区, 300 s
    county = "county"  # outside the city's zones, configurable


class UnitKind(StrEnum):
    command_vehicle = "command_vehicle"  # 平台指挥车
    car = "car"  # 处警车
    motorcycle = "motorcycle"


class UnitStatus(StrEnum):
    available = "available"
    assigned = "assigned"
    en_route = "en_route"
    on_scene = "on_scene"
    returning = "returning"
    off_duty = "off_duty"
    lost_contact = "lost_contact"


class Priority(IntEnum):
    """1 is the most urgent."""

    p1 = 1
    p2 = 2
    p3 = 3
    p4 = 4


class AlarmCategory(StrEnum):
    """The code list 110 integrations send. See docs/contracts.md for the meaning of each code.

    The last group are non-police calls (非警务警情) that the alarm service diverts to 12345.
    """

    violent_crime = "violent_crime"  # 暴力犯罪: assault with a weapon, kidnapping
    robbery = "robbery"  # 抢劫抢夺 (两抢)
    theft = "theft"  # 盗窃
    fight = "fight"  # 打架斗殴
    domestic_violence = "domestic_violence"  # 家庭暴力
    suicide_attempt = "suicide_attempt"  # 轻生: someone about to jump
    missing_person = "missing_person"  # 走失
    traffic_accident = "traffic_accident"  # 交通事故
    fire = "fire"  # 火情 (with 119)
    public_disorder = "public_disorder"  # 扰乱秩序
    suspicious = "suspicious"  # 可疑人员/物品
    dispute = "dispute"  # 纠纷 needing police
    help_request = "help_request"  # 求助
    other_police = "other_police"  # 其他警情
    # non-police kinds, diverted to the 12345 government hotline
    noise = "noise"  # 噪音扰民
    utilities = "utilities"  # 水电气: leaking pipes, outages
    consumer_dispute = "consumer_dispute"  # 消费纠纷
    municipal = "municipal"  # 市政设施: potholes, street lights
    information = "information"  # 咨询


NON_POLICE_CATEGORIES: frozenset[AlarmCategory] = frozenset(
    {
        AlarmCategory.noise,
        AlarmCategory.utilities,
        AlarmCategory.consumer_dispute,
        AlarmCategory.municipal,
        AlarmCategory.information,
    }
)


class CancelReason(StrEnum):
    """Why a 110 integration cancels an alarm it reported (issue 19)."""

    false_alarm = "false_alarm"  # 谎报/误报: nothing happened
    resolved_by_phone = "resolved_by_phone"  # 电话处置: settled on the phone
    duplicate = "duplicate"  # the same incident was reported under another id
    caller_withdrew = "caller_withdrew"  # the caller called back: no police needed


class AlarmStatus(StrEnum):
    accepted = "accepted"  # taken in, waiting for or under dispatch
    merged = "merged"  # a repeat call about an open incident
    diverted = "diverted"  # handed to the 12345 hotline
    assigned = "assigned"
    on_scene = "on_scene"
    closed = "closed"


class WorkOrderAction(StrEnum):
    """What a message on dispatch.workorders tells the unit."""

    assign = "assign"
    withdraw = "withdraw"
    # go and patrol at a post (有警出警、无警巡逻): no alarm; the unit stays free for calls, and
    # a call's `assign` supersedes it at once (decision 0063)
    reposition = "reposition"


class WorkOrderRole(StrEnum):
    primary = "primary"
    backup = "backup"


class WorkOrderStatus(StrEnum):
    """Where a work order stands (`work_orders.status`)."""

    assigned = "assigned"  # issued, not yet accepted by its unit
    accepted = "accepted"
    en_route = "en_route"
    on_scene = "on_scene"
    closed = "closed"  # the unit finished the job
    withdrawn = "withdrawn"  # dispatch took it back: preempted, or not accepted in time
    rejected = "rejected"  # the unit declined it


class WorkOrderEventKind(StrEnum):
    accepted = "accepted"
    en_route = "en_route"
    on_scene = "on_scene"
    closed = "closed"
    rejected = "rejected"


class EventSource(StrEnum):
    terminal = "terminal"  # the officer pressed a button
    gps = "gps"  # detected from the unit's own fixes
    dispatch = "dispatch"  # decided by the dispatch service (e.g. timeout)


class NotificationChannel(StrEnum):
    terminal = "terminal"  # vehicle terminal or handset, over the gateway
    callback = "callback"  # a 110 integration's status callback URL
    taxi = "taxi"  # 的哥警务: registered taxi drivers
    volunteer = "volunteer"  # 义警: volunteer patrols
    sms = "sms"
    hotline = "hotline"  # the 12345 government hotline's system (diverted calls)


class ReceiptStatus(StrEnum):
    delivered = "delivered"
    read = "read"
    failed = "failed"


class NoticeKind(StrEnum):
    at_risk = "at_risk"  # best ETA exceeds the tier target
    shortfall = "shortfall"  # no unit can be assigned now
    coverage_gap = "coverage_gap"  # a platform's area left without an available unit
    unresponsive_unit = "unresponsive_unit"  # did not accept a work order in time
    preempted = "preempted"  # a unit taken for a more urgent alarm


class UnitDuty(StrEnum):
    """Whether dispatch may send a unit, as a dispatcher set it (dispatch's own overlay on the
    status the unit's terminal reports)."""

    on_duty = "on_duty"
    off_duty = "off_duty"  # 下班/休整: kept out of every assignment until back on duty
    out_of_service = "out_of_service"  # 车辆故障: the vehicle cannot go


class CommandKind(StrEnum):
    """What a dispatcher asks dispatch to do (`dispatch.commands`)."""

    assign_unit = "assign_unit"  # the alarm's primary: this unit (replaces an open primary)
    add_backup = "add_backup"
    withdraw_work_order = "withdraw_work_order"
    close_alarm = "close_alarm"
    set_unit_duty = "set_unit_duty"
    hold_alarm = "hold_alarm"  # keep (or release) a waiting alarm from automatic assignment


class CommandOutcome(StrEnum):
    done = "done"
    refused = "refused"  # with a reason a person reads; nothing was changed
