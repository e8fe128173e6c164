"""Unit tests: the Docker files agree with the settings, the package and each other."""

import configparser
import json
import re
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from ecommerce_streams.cli import main as cli
from ecommerce_streams.harness.kafka.server_config import replication_settings
from ecommerce_streams.harness.registry.service import DEFAULT_VERSION
from ecommerce_streams.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def _services(kind: str) -> dict[str, dict[str, Any]]:
    """Services whose name starts with ``kind`` (``kafka``, ``worker``)."""
    return {name: s for name, s in _compose()["services"].items() if name.startswith(kind)}


def _workers() -> dict[str, dict[str, Any]]:
    workers = _services("worker")
    assert len(workers) >= 2, "compose.yaml should show scaling out: several workers"
    return workers


def _dockerfile_instruction(name: str) -> str:
    """The argument of the last ``name`` instruction in the Dockerfile."""
    lines = (DOCKER / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    found = [line.split(None, 1)[1] for line in lines if line.upper().startswith(f"{name} ")]
    assert found, f"no {name} in docker/Dockerfile"
    return found[-1].strip()


def test_every_es_variable_in_compose_is_a_setting() -> None:
    fields = {f"ES_{name.upper()}" for name in Settings.model_fields}
    used = {
        variable
        for service in _compose()["services"].values()
        for variable in (service.get("environment") or {})
        if variable.startswith("ES_")
    }
    assert used, "the workers are configured with ES_* variables"
    assert used <= fields, f"not settings of the app: {sorted(used - fields)}"


def test_brokers_replicate_three_ways_and_need_two_in_sync_replicas() -> None:
    brokers = _services("kafka")
    assert len(brokers) == 3
    for name, broker in brokers.items():
        env = {k: str(v) for k, v in broker["environment"].items()}
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller", name
        for setting, value in replication_settings(len(brokers)).items():  # the embedded cluster's
            assert env["KAFKA_" + setting.upper().replace(".", "_")] == value, (name, setting)
        assert replication_settings(3)["min.insync.replicas"] == "2"
        voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
        assert sorted(v.split("@")[1].split(":")[0] for v in voters) == sorted(brokers), name
    node_ids = {str(b["environment"]["KAFKA_NODE_ID"]) for b in brokers.values()}
    assert len(node_ids) == 3, "each KRaft node needs its own node id"


def test_workers_create_topics_with_replication_three() -> None:
    for name, worker in _workers().items():
        assert str(worker["environment"]["ES_REPLICATION"]) == "3", name
        brokers = worker["environment"]["ES_BROKER"].split(",")
        assert {b.split(":")[0] for b in brokers} == set(_services("kafka")), name


def _volume_on(worker: dict[str, Any], path: PurePosixPath) -> str:
    """The named volume mounted on ``path`` or on one of its parents."""
    for mount in worker.get("volumes", []):
        source, target = mount.split(":")[:2]
        if path == PurePosixPath(target) or PurePosixPath(target) in path.parents:
            return source
    raise AssertionError(f"no volume holds {path}")


def test_each_worker_has_its_own_datadir_volume_and_web_port() -> None:
    workers = _workers()
    datadirs = [PurePosixPath(w["environment"]["ES_DATADIR"]) for w in workers.values()]
    volumes = [_volume_on(w, d) for w, d in zip(workers.values(), datadirs, strict=True)]
    ports = [int(w["environment"]["ES_WEB_PORT"]) for w in workers.values()]
    assert len(set(datadirs)) == len(workers), datadirs
    assert len(set(volumes)) == len(workers), volumes
    assert set(volumes) <= set(_compose()["volumes"]), "worker state lives in named volumes"
    assert len(set(ports)) == len(workers), ports


def test_each_worker_advertises_its_own_service_name_and_port() -> None:
    for name, worker in _workers().items():
        env = worker["environment"]
        assert "ES_WEB_HOST" not in env, "workers bind to the image's 0.0.0.0"
        assert env["ES_WEB_ADVERTISED_URL"] == f"http://{name}:{env['ES_WEB_PORT']}"


def test_prometheus_scrapes_exactly_the_workers() -> None:
    config = yaml.safe_load((DOCKER / "prometheus.yml").read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        if job.get("metrics_path", "/metrics") == "/metrics"
        for static in job["static_configs"]
        for target in static["targets"]
    }
    workers = {
        f"{w.get('hostname', name)}:{w['environment']['ES_WEB_PORT']}"
        for name, w in _workers().items()
    }
    assert targets == workers


def test_dockerfile_runs_the_console_script_as_a_non_root_worker() -> None:
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    scripts = dict(
        re.split(r"\s*=\s*", line.strip(), maxsplit=1)
        for line in setup["options.entry_points"]["console_scripts"].strip().splitlines()
    )
    entrypoint = json.loads(_dockerfile_instruction("ENTRYPOINT"))
    command = json.loads(_dockerfile_instruction("CMD"))
    assert entrypoint == ["ecommerce-streams"]
    assert entrypoint[0] in scripts
    assert command == ["worker"] and command[0] in cli.commands
    assert _dockerfile_instruction("FROM") == "python:3.11-slim"
    assert _dockerfile_instruction("USER") not in ("root", "0")
    assert "ES_WEB_HOST=0.0.0.0" in _dockerfile_instruction("ENV")


def test_the_schema_registry_is_the_embedded_ones_version_kept_in_kafka_for_every_worker() -> None:
    registry = _compose()["services"]["schema-registry"]
    env = registry["environment"]
    image, version = registry["image"].split(":")

    assert (image, version) == ("apicurio/apicurio-registry", DEFAULT_VERSION)
    assert env["APICURIO_STORAGE_KIND"] == "kafkasql"
    assert env["APICURIO_KAFKASQL_BOOTSTRAP_SERVERS"] == _compose()["x-worker-env"]["ES_BROKER"]
    assert env["APICURIO_KAFKASQL_TOPIC"] == "schema-registry-journal"
    assert env["APICURIO_RULES_GLOBAL_COMPATIBILITY"] == Settings().schema_compatibility
    port = registry["ports"][0].split(":")[1]
    wanted = f"http://schema-registry:{port}/apis/ccompat/v7"
    for name, worker in _workers().items():
        assert worker["environment"]["ES_SCHEMA_REGISTRY_URL"] == wanted, name
