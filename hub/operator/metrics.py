"""Prometheus gauges of the operator's view (connector states, lag, indicators), read when scraped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

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
        for connector_id, status in hub.observer.statuses.items():
            counts[status["state"]] += 1
            if status["inbox_lag"] is not None:
                lag.add_metric([connector_id], status["inbox_lag"])
        for state, count in counts.items():
            states.add_metric([state], count)
        yield states
        yield lag
        yield from _gauge("lgsp_router_lag_messages", "Ingress messages the router group has not routed yet.",
                          hub.observer.router_lag)
        yield from _indicators(hub.observer.connectivity, hub.observer.dossiers, hub.observer.documents)


def _gauge(name: str, help: str, value: float | None) -> Iterator[GaugeMetricFamily]:
    if value is not None:
        yield GaugeMetricFamily(name, help, value=value)


def _indicators(connectivity: dict, dossiers: dict, documents: dict) -> Iterator[GaugeMetricFamily]:
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
    sent = documents.get("cumulative", {})
    for name, key, help in (
        ("lgsp_documents", "documents", "Documents sent between agencies (new, once per DocumentId)."),
        ("lgsp_documents_electronic_ratio", "electronic_share",
         "Share of documents sent electronically only (target 0.90)."),
        ("lgsp_documents_processed_late", "late", "Receivers' completions of a document after its DueDate."),
        ("lgsp_documents_open_late", "open_late", "Receivers yet to process a document past its DueDate."),
    ):
        yield from _gauge(name, help, sent.get(key))
