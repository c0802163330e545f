"""Prometheus metrics of the hub, `lgsp_` prefix and units in the names.

Counters and histograms live in the process-wide registry (the router and in-process connectors
update them); the indicators and connector states are read at scrape time by `HubCollector`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

ROUTED = Counter("lgsp_messages_routed", "Messages delivered to a connector's inbox.", ["type", "source", "target"])
REJECTED = Counter("lgsp_messages_rejected", "Messages dead-lettered, by DLQ stage.", ["type", "source", "stage"])
OFFSET_GAPS = Counter("lgsp_offset_gaps", "Offset gaps a consumer met: 'recovered' by reading again, or "
                      "'accepted' as missing after the retries (offsets), by reader.", ["reader", "outcome"])
ROUTE_LATENCY = Histogram("lgsp_route_latency_seconds",
                          "From the ingress record's timestamp to the inbox produce acknowledged.",
                          buckets=_LATENCY_BUCKETS)
DELIVERY_LATENCY = Histogram("lgsp_delivery_latency_seconds",
                             "From the ingress record's timestamp to the receiving connector's handler.",
                             ["connector"], buckets=_LATENCY_BUCKETS)
HANDLED = Counter("lgsp_connector_messages_handled", "Messages handled by in-process connectors.",
                  ["connector", "outcome"])

STATES = ("RUNNING", "PAUSED", "FAILED", "UNREACHABLE")


class HubCollector(Collector):
    """Gauges computed from the hub's current view when Prometheus scrapes."""

    def __init__(self, hub: Any) -> None:
        self._hub = hub

    def collect(self) -> Iterator[GaugeMetricFamily]:
        hub = self._hub
        states = GaugeMetricFamily("lgsp_connectors", "Registered connectors by state.", labels=["state"])
        counts = dict.fromkeys(STATES, 0)
        lag = GaugeMetricFamily("lgsp_inbox_lag_messages", "Messages waiting in a connector's inbox.",
                                labels=["connector"])
        for connector_id, status in hub.operator.observer.statuses.items():
            counts[status["state"]] += 1
            if status["inbox_lag"] is not None:
                lag.add_metric([connector_id], status["inbox_lag"])
        for state, count in counts.items():
            states.add_metric([state], count)
        yield states
        yield lag
        yield from _indicators(hub.operator.observer.connectivity, hub.operator.observer.dossiers)


def _gauge(name: str, help: str, value: float | None) -> Iterator[GaugeMetricFamily]:
    if value is not None:
        yield GaugeMetricFamily(name, help, value=value)


def _indicators(connectivity: dict, dossiers: dict) -> Iterator[GaugeMetricFamily]:
    yield from _gauge("lgsp_connectivity_ratio", "Share of citizen/business-facing systems connected.",
                      connectivity.get("share"))
    yield from _gauge("lgsp_connectivity_target_ratio", "Connectivity target of the province plan.",
                      connectivity.get("target"))
    yield from _gauge("lgsp_systems_connected", "Systems connected (numerator).", connectivity.get("connected"))
    total = dossiers.get("cumulative", {})
    for name, key, help in (
        ("lgsp_dossiers_received", "received", "Dossiers received."),
        ("lgsp_dossiers_online_ratio", "online_share", "Share of dossiers submitted online (target ≥ 0.30)."),
        ("lgsp_dossiers_completed", "completed", "Dossiers whose processing ended."),
        ("lgsp_dossiers_late_ratio", "late_share", "Share of completed dossiers that were late."),
        ("lgsp_dossiers_open_late", "open_late", "Open dossiers already past their due date."),
        ("lgsp_dossiers_signed_ratio", "signed_share", "Share of results digitally signed (target 1.0)."),
    ):
        yield from _gauge(name, help, total.get(key))
