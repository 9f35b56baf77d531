"""Kafka (Strimzi, `kafka.strimzi.io/v1`, KRaft with node pools), its topics from the topic
catalogue, and PostgreSQL (CloudNativePG, backed up by the Barman Cloud plugin on a schedule), per
overlay: one node and replication 1 in dev, three of each in prod (decision 0052)."""

from dataclasses import dataclass
from typing import Any

import yaml

from deploy.gen.k8s import APP_PODS, MANAGED_BY, PART_OF
from deploy.gen.public import public_routes
from deploy.gen.services import KAFKA_CLUSTER, PG_CLUSTER, PG_DATABASE
from kj_runtime.retention import SIZES_SQL
from kj_schemas.topics import CATALOGUE

STRIMZI_API = "kafka.strimzi.io/v1"  # Strimzi 1.0 and later accept no other (decision 0052)
# Strimzi 1.1 dropped Kafka 4.1: 4.2.1 is the oldest line Strimzi 1.2 runs; local runs 4.1.2
KAFKA_VERSION = "4.2.1"
KAFKA_METADATA_VERSION = "4.2-IV1"
PG_IMAGE = "ghcr.io/cloudnative-pg/postgresql:15.14"  # major 15, as the local server
BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"
BACKUP_STORE = f"{PG_CLUSTER}-backups"  # the ObjectStore (bucket and credentials)
BACKUP_S3_SECRET = f"{PG_CLUSTER}-backup-s3"  # ACCESS_KEY_ID, ACCESS_SECRET_KEY; never in git
LABELS = {**PART_OF, **MANAGED_BY}
TABLE_SIZES = f"{PG_CLUSTER}-table-sizes"  # CloudNativePG custom queries


@dataclass(frozen=True)
class Size:
    name: str
    replicas: int  # Kafka brokers, controllers, topic replicas and PostgreSQL instances
    broker_storage: str
    pg_storage: str
    persistent: bool
    domain: str  # public host names: alarm.<domain>, terminals.<domain>
    backup_retention: str  # base backups and WAL kept in the object store


DEV = Size("dev", 1, "10Gi", "5Gi", False, "kj-dev.example.invalid", "7d")
PROD = Size("prod", 3, "200Gi", "100Gi", True, "kj.example.invalid", "30d")


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
        "apiVersion": STRIMZI_API,
        "kind": "KafkaNodePool",
        "metadata": {"name": name, "labels": {"strimzi.io/cluster": KAFKA_CLUSTER, **LABELS}},
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
        "apiVersion": STRIMZI_API,
        "kind": "Kafka",
        # KRaft and node pools are all Strimzi 1.x knows: no annotation turns them on
        "metadata": {"name": KAFKA_CLUSTER, "labels": dict(LABELS)},
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
                "apiVersion": STRIMZI_API,
                "kind": "KafkaTopic",
                "metadata": {
                    "name": spec.name,
                    "labels": {"strimzi.io/cluster": KAFKA_CLUSTER, **LABELS},
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


def table_sizes_queries() -> dict[str, Any]:
    queries = {
        "kj_tables": {
            "query": SIZES_SQL,
            "target_databases": [PG_DATABASE],
            "metrics": [
                {"table": {"usage": "LABEL", "description": "table (partitions summed)"}},
                {"rows": {"usage": "GAUGE", "description": "estimated rows"}},
                {"bytes": {"usage": "GAUGE", "description": "bytes with indexes and TOAST"}},
            ],
        }
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": TABLE_SIZES, "labels": {**LABELS, "cnpg.io/reload": ""}},
        "data": {"queries": yaml.safe_dump(queries, sort_keys=False, width=100)},
    }


def postgres(size: Size) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "Cluster",
            "metadata": {"name": PG_CLUSTER, "labels": dict(LABELS)},
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
                # rows and bytes of every table (cnpg_kj_tables_rows, _bytes; decision 0055)
                "monitoring": {
                    "enablePodMonitor": True,
                    "customQueriesConfigMap": [{"name": TABLE_SIZES, "key": "queries"}],
                },
                # WAL archived continuously and base backups through the Barman Cloud plugin
                # (CloudNativePG's in-tree barmanObjectStore is deprecated since 1.26)
                "plugins": [
                    {
                        "name": BARMAN_PLUGIN,
                        "isWALArchiver": True,
                        "parameters": {"barmanObjectName": BACKUP_STORE},
                    }
                ],
            },
        },
        table_sizes_queries(),
        {
            "apiVersion": "barmancloud.cnpg.io/v1",
            "kind": "ObjectStore",
            "metadata": {"name": BACKUP_STORE, "labels": dict(LABELS)},
            "spec": {
                "retentionPolicy": size.backup_retention,
                "configuration": {
                    # set the release's bucket (and endpointURL for a non-AWS S3) here
                    "destinationPath": f"s3://kuaijing-pg-backups/{size.name}",
                    "s3Credentials": {
                        "accessKeyId": {"name": BACKUP_S3_SECRET, "key": "ACCESS_KEY_ID"},
                        "secretAccessKey": {"name": BACKUP_S3_SECRET, "key": "ACCESS_SECRET_KEY"},
                    },
                    "wal": {"compression": "gzip"},
                    "data": {"compression": "gzip"},
                },
            },
        },
        {
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "ScheduledBackup",
            "metadata": {"name": f"{PG_CLUSTER}-daily", "labels": dict(LABELS)},
            "spec": {
                "schedule": "0 0 2 * * *",  # seconds first: every day at 02:00
                "immediate": True,  # the first one as soon as the cluster is up
                "backupOwnerReference": "self",
                "cluster": {"name": PG_CLUSTER},
                "method": "plugin",
                "pluginConfiguration": {"name": BARMAN_PLUGIN},
            },
        },
    ]


def overlay_files(size: Size) -> dict[str, list[dict[str, Any]]]:
    return {
        "kafka.yaml": kafka(size),
        "topics.yaml": topics(size),
        "postgres.yaml": postgres(size),
        "public.yaml": public_routes(size.domain),
    }
