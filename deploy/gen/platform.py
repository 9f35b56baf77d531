"""Kafka (Strimzi, KRaft with node pools), its topics from the topic catalogue, and PostgreSQL
(CloudNativePG), per overlay: one node and replication 1 in dev, three of each in prod."""

from dataclasses import dataclass
from typing import Any

from deploy.gen.k8s import APP_PODS, PART_OF
from deploy.gen.services import KAFKA_CLUSTER, PG_CLUSTER, PG_DATABASE
from kj_schemas.topics import CATALOGUE

KAFKA_VERSION = "4.1.1"  # the newest 4.1 that Strimzi 0.49 supports; local runs 4.1.2 (ADR 0001)
KAFKA_METADATA_VERSION = "4.1-IV1"
PG_IMAGE = "ghcr.io/cloudnative-pg/postgresql:15.14"  # major 15, as the local server


@dataclass(frozen=True)
class Size:
    name: str
    replicas: int  # Kafka brokers, controllers, topic replicas and PostgreSQL instances
    broker_storage: str
    pg_storage: str
    persistent: bool


DEV = Size("dev", 1, "10Gi", "5Gi", persistent=False)
PROD = Size("prod", 3, "200Gi", "100Gi", persistent=True)


def _storage(size: Size, volume: str) -> dict[str, Any]:
    if not size.persistent:
        return {"type": "ephemeral"}
    return {
        "type": "jbod",
        "volumes": [
            {
                "id": 0,
                "type": "persistent-claim",
                "size": volume,
                "deleteClaim": False,
                "kraftMetadata": "shared",
            }
        ],
    }


def _pool(name: str, roles: list[str], size: Size, volume: str) -> dict[str, Any]:
    return {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "KafkaNodePool",
        "metadata": {"name": name, "labels": {"strimzi.io/cluster": KAFKA_CLUSTER, **PART_OF}},
        "spec": {
            "replicas": size.replicas,
            "roles": roles,
            "storage": _storage(size, volume),
            "resources": {
                "requests": {"cpu": "250m", "memory": "1Gi"},
                "limits": {"memory": "2Gi" if "broker" in roles else "1Gi"},
            },
        },
    }


def kafka(size: Size) -> list[dict[str, Any]]:
    rf = size.replicas
    min_isr = max(1, rf - 1)
    if size.replicas == 1:
        pools = [_pool("dual", ["controller", "broker"], size, size.broker_storage)]
    else:
        pools = [
            _pool("controllers", ["controller"], size, "20Gi"),
            _pool("brokers", ["broker"], size, size.broker_storage),
        ]
    cluster = {
        "apiVersion": "kafka.strimzi.io/v1beta2",
        "kind": "Kafka",
        "metadata": {
            "name": KAFKA_CLUSTER,
            "labels": dict(PART_OF),
            "annotations": {"strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled"},
        },
        "spec": {
            "kafka": {
                "version": KAFKA_VERSION,
                "metadataVersion": KAFKA_METADATA_VERSION,
                "listeners": [
                    {
                        "name": "plain",
                        "port": 9092,
                        "type": "internal",
                        "tls": False,
                        # Strimzi turns this into the brokers' NetworkPolicy: our pods only
                        "networkPolicyPeers": [{"podSelector": APP_PODS}],
                    }
                ],
                "config": {
                    "auto.create.topics.enable": False,
                    "default.replication.factor": rf,
                    "min.insync.replicas": min_isr,
                    "offsets.topic.replication.factor": rf,
                    "transaction.state.log.replication.factor": rf,
                    "transaction.state.log.min.isr": min_isr,
                    "share.coordinator.state.topic.replication.factor": rf,
                    "share.coordinator.state.topic.min.isr": min_isr,
                },
            },
            "entityOperator": {"topicOperator": {}, "userOperator": {}},
        },
    }
    return [cluster, *pools]


def topics(size: Size) -> list[dict[str, Any]]:
    docs = []
    for spec in CATALOGUE:
        config: dict[str, Any] = dict(spec.config())
        if size.replicas > 1:
            config["min.insync.replicas"] = str(size.replicas - 1)
        docs.append(
            {
                "apiVersion": "kafka.strimzi.io/v1beta2",
                "kind": "KafkaTopic",
                "metadata": {
                    "name": spec.name,
                    "labels": {"strimzi.io/cluster": KAFKA_CLUSTER, **PART_OF},
                    "annotations": {"kuaijing/description": spec.description},
                },
                "spec": {
                    "topicName": spec.name,
                    "partitions": spec.partitions,
                    "replicas": size.replicas,
                    "config": config,
                },
            }
        )
    return docs


def postgres(size: Size) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "Cluster",
            "metadata": {"name": PG_CLUSTER, "labels": dict(PART_OF)},
            "spec": {
                "instances": size.replicas,
                "imageName": PG_IMAGE,
                "primaryUpdateStrategy": "unsupervised",
                # the services' user is the owner; its password is in Secret kj-pg-app
                "bootstrap": {"initdb": {"database": PG_DATABASE, "owner": PG_DATABASE}},
                "storage": {"size": size.pg_storage},
                "resources": {
                    "requests": {"cpu": "250m", "memory": "512Mi"},
                    "limits": {"memory": "1Gi" if size.replicas == 1 else "4Gi"},
                },
                "postgresql": {"parameters": {"max_connections": "200"}},
                "monitoring": {"enablePodMonitor": True},
            },
        }
    ]


def overlay_files(size: Size) -> dict[str, list[dict[str, Any]]]:
    return {
        "kafka.yaml": kafka(size),
        "topics.yaml": topics(size),
        "postgres.yaml": postgres(size),
    }
