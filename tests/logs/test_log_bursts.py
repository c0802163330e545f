"""A client error repeated many times a second is logged once per interval, with the count of the others."""

from __future__ import annotations

import logging

from hub import log_bursts


def record(name: str, msg: str, *args) -> logging.LogRecord:
    return logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)


def test_repeats_within_the_interval_are_dropped_and_counted(monkeypatch):
    clock = [100.0]
    monkeypatch.setattr(log_bursts.time, "monotonic", lambda: clock[0])
    burst = log_bursts.BurstFilter(interval=30)
    assert burst.filter(record("aiokafka", "Unable connect to node with id %s", 1))
    assert not any(burst.filter(record("aiokafka", "Unable connect to node with id %s", n)) for n in range(500))
    assert burst.filter(record("aiokafka.cluster", "Unable connect to node with id %s", 1))  # another logger
    clock[0] += 31
    again = record("aiokafka", "Unable connect to node with id %s", 1)
    assert burst.filter(again)
    assert again.getMessage() == "Unable connect to node with id 1 (500 more like it in the last 31 s not shown)"


def test_the_simulated_provinces_failures_are_kept_to_one_an_interval_too(monkeypatch):
    monkeypatch.setattr(log_bursts.time, "monotonic", lambda: 100.0)
    burst = log_bursts.BurstFilter(interval=30)
    failures = [record("province.connectors.dossier_system.connector", "dossier %s failed", n) for n in range(100)]
    assert [burst.filter(failure) for failure in failures].count(True) == 1


def test_other_loggers_pass_untouched():
    burst = log_bursts.BurstFilter(interval=30)
    assert all(burst.filter(record("hub.bus.router", "routed %d", n)) for n in range(5))
