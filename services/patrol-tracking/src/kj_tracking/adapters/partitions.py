"""The partitions of a topic, from a metadata answer (a consumer without a group does not
learn them by itself)."""

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from kj_runtime.settings import KafkaSettings


async def partitions_of(settings: KafkaSettings, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(
        TopicPartition(topic, p["partition"])
        for t in described
        if t["error_code"] == 0
        for p in t["partitions"]
    )
