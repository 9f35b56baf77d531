"""Every producer here partitions by key as Kafka's default partitioner does (murmur2), with
each key's hash remembered: a unit's records, a region's alarms and an alarm's story land on
the partition that the process owning that key reads, whichever client produced them."""

import uuid

from aiokafka.partitioner import DefaultPartitioner

from kj_runtime.kafka import KeyPartitioner


def test_a_key_lands_where_kafkas_default_partitioner_puts_it_the_first_time_and_after() -> None:
    keys = [f"SY-P{n // 7:02d}-M{n % 7}".encode() for n in range(700)]
    keys += [str(uuid.UUID(int=n * 7919)).encode() for n in range(700)]
    keys += [b"hunan-shaoyang", b"hunan-changsha", b""]
    reference, remembering = DefaultPartitioner(), KeyPartitioner()
    for count in (1, 3, 12, 24):
        partitions = list(range(count))
        expected = [reference(key, partitions, partitions) for key in keys]
        assert [remembering(key, partitions, partitions) for key in keys] == expected
        assert [remembering(key, partitions, partitions) for key in keys] == expected  # again
    spread = {remembering(key, list(range(12)), list(range(12))) for key in keys}
    assert spread == set(range(12))  # and the keys do spread


def test_a_record_without_a_key_goes_to_an_available_partition() -> None:
    partitioner = KeyPartitioner()
    chosen = {partitioner(None, [0, 1, 2, 3], [1, 3]) for _ in range(200)}
    assert chosen <= {1, 3}
