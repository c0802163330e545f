"""What the hub says when Apache Kafka cannot run here: the package to install, and LGSP_BROKER=tansu."""

from __future__ import annotations

import pytest

from hub.bus.brokers import kafka
from hub.bus.brokers.kafka import BrokerUnavailable, cluster_id, find_java, install, pinned_version


def fake_java(tmp_path, version: str):
    home = tmp_path / "jdk"
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(f'#!/bin/sh\necho \'openjdk version "{version}" 2021-01-01\' >&2\n')
    java.chmod(0o755)
    return home


def test_an_old_java_is_named_with_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(fake_java(tmp_path, "11.0.2")))
    with pytest.raises(BrokerUnavailable) as refused:
        find_java()
    message = str(refused.value)
    assert "Java 17 or newer" in message and "is 11" in message
    assert "openjdk-17-jre-headless" in message and "LGSP_BROKER=tansu" in message


def test_java_8_reads_as_8_and_17_passes(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(fake_java(tmp_path, "1.8.0_392")))
    with pytest.raises(BrokerUnavailable, match="is 8"):
        find_java()
    monkeypatch.setenv("JAVA_HOME", str(fake_java(tmp_path / "new", "17.0.15")))
    assert find_java().endswith("/bin/java")


def test_no_java_at_all(tmp_path, monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(kafka.shutil, "which", lambda name: None)
    with pytest.raises(BrokerUnavailable, match="no java was found.*LGSP_BROKER=tansu"):
        find_java()


def test_no_maven_names_the_package(tmp_path, monkeypatch):
    monkeypatch.setattr(kafka.shutil, "which", lambda name: None)
    with pytest.raises(BrokerUnavailable, match="apt-get install maven.*LGSP_BROKER=tansu"):
        install(tmp_path / "cache", "4.1.1")


def test_the_pinned_version_and_cluster_ids():
    assert pinned_version().split(".")[0] in ("3", "4")
    ids = {cluster_id() for _ in range(200)}
    assert len(ids) == 200 and all(len(i) == 22 and not i.startswith("-") for i in ids)
