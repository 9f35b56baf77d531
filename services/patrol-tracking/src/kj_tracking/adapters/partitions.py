"""The partitions of a topic, from a metadata answer (a consumer without a group does not
learn them by itself)."""

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner

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


async def unit_partitions(
    settings: KafkaSettings, topic: str, unit_ids: list[str]
) -> dict[int, set[str]]:
    """Which units' pings land in each partition of `topic`: pings are keyed by unit id and
    partitioned by Kafka's default partitioner (murmur2 of the key), as every client here and
    Java's default produce them."""
    partitions = [tp.partition for tp in await partitions_of(settings, settings.topic(topic))]
    if not partitions:
        return {}
    partitioner = DefaultPartitioner()
    owners: dict[int, set[str]] = {}
    for unit_id in unit_ids:
        partition = partitioner(unit_id.encode(), partitions, partitions)
        owners.setdefault(partition, set()).add(unit_id)
    return owners
