"""`make up` names the topics that interrupted test and benchmark runs left on the broker;
`make strays` lists them with the databases those runs left, and removes them."""

from kj_runtime.infra_cli import stray_databases
from kj_runtime.kafka import stray_topic_names, stray_topics
from kj_runtime.settings import KafkaSettings
from kj_schemas.topics import CATALOGUE


def test_only_topics_outside_the_catalogue_and_kafka_s_own_are_counted_by_prefix() -> None:
    settings = KafkaSettings(topic_prefix="")
    ours = [settings.topic(spec.name) for spec in CATALOGUE]
    left = [f"bench-1a2b.{spec.name}" for spec in CATALOGUE] + ["test-9f.alarm.alarms.intake"]
    strays = stray_topics([*ours, "__consumer_offsets", *left], settings)
    assert strays == {"bench-1a2b": len(CATALOGUE), "test-9f": 1}
    assert stray_topic_names([*ours, "__consumer_offsets", *left], settings) == left


def test_with_a_prefix_the_unprefixed_catalogue_is_someone_else_s() -> None:
    settings = KafkaSettings(topic_prefix="demo.")
    assert stray_topics([settings.topic(CATALOGUE[0].name)], settings) == {}
    assert stray_topics([CATALOGUE[0].name], settings) == {CATALOGUE[0].name.split(".")[0]: 1}


def test_only_the_databases_runs_make_for_themselves_are_strays() -> None:
    names = ["postgres", "template0", "template1", "kuaijing", "kj_test_1a2b", "kj_bench_e2e_9f"]
    assert stray_databases(names) == ["kj_bench_e2e_9f", "kj_test_1a2b"]
