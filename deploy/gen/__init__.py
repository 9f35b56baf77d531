"""Generators for everything under deploy/ that must not drift from the code: Grafana dashboards,
Prometheus rules, Strimzi topics from the topic catalogue, per-service Kubernetes manifests and
Dockerfiles. Run `uv run python -m deploy.gen` from the repo root (`--check` fails when stale)."""
