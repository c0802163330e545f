"""The bus's Prometheus counters and histograms, `lgsp_` prefix and units in the names.

They live in the process-wide registry: the router, the gap guard and in-process connectors update them;
the operator's gauges are read at scrape time (`hub.operator.metrics`).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

ROUTED = Counter("lgsp_messages_routed", "Messages delivered to a connector's inbox.", ["type", "source", "target"])
REJECTED = Counter("lgsp_messages_rejected", "Messages dead-lettered, by DLQ stage.", ["type", "source", "stage"])
WITHHELD = Counter("lgsp_deliveries_withheld", "Deliveries the router refused to a consumer for want of a "
                   "data-sharing agreement in force, by type, source and consumer.", ["type", "source", "consumer"])
REPLAY_EVICTED = Counter("lgsp_replay_window_evicted", "Messages a replay window forgot at its cap "
                         "(LGSP_REPLAY_WINDOW_MAX_ENTRIES) while their signatures were fresh, by where: 'router' "
                         "or 'http'.", ["where"])
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
LOG_INDEXER_LAG = Gauge("lgsp_log_indexer_lag", "Decisions on the decisions topic not in the message log's store "
                        "yet, over this process's log indexer's partitions.")
