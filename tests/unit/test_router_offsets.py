"""The router's check that its consumer skipped no ingress offset: each would be a message never routed."""

from __future__ import annotations

import logging

import pytest
from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from hub import metrics
from hub.broker import INGRESS_TOPIC
from hub.catalog import Catalog
from hub.router import Router
from hub.schemas import SchemaRegistry
from hub.settings import Settings
from hub.store import Store

P0, P1 = TopicPartition(INGRESS_TOPIC, 0), TopicPartition(INGRESS_TOPIC, 1)


def records(tp: TopicPartition, *offsets: int) -> list[ConsumerRecord]:
    return [ConsumerRecord(tp.topic, tp.partition, o, 0, 0, None, b"{}", None, 0, 2, ()) for o in offsets]


def gaps() -> float:
    return metrics.INGRESS_GAPS._value.get()


@pytest.fixture
async def router(tmp_path) -> Router:
    return Router("127.0.0.1:1", Catalog(Store(f"sqlite:///{tmp_path / 'hub.db'}"), SchemaRegistry()), Settings())


async def test_offsets_that_follow_on_are_not_gaps(router):
    before = gaps()
    router._check_offsets({P0: records(P0, 10, 11, 12), P1: records(P1, 0)})  # the first batch sets the start
    router._check_offsets({P0: records(P0, 13, 14), P1: records(P1, 1, 2)})
    assert gaps() == before


async def test_skipped_offsets_are_counted_and_named(router, caplog):
    router._check_offsets({P0: records(P0, 10, 11), P1: records(P1, 0, 1, 2)})
    before = gaps()
    with caplog.at_level(logging.WARNING, logger="hub.router"):
        router._check_offsets({P0: records(P0, 13, 14)})  # 12 never came
        router._check_offsets({P1: records(P1, 3, 5, 6)})  # 4 missing inside a batch
    assert gaps() == before + 2
    assert f"{INGRESS_TOPIC}-0: 1 offsets skipped" in caplog.text and f"{INGRESS_TOPIC}-1: 1 offsets" in caplog.text


async def test_offsets_read_again_are_not_gaps(router):
    router._check_offsets({P0: records(P0, 10, 11)})
    before = gaps()
    router._check_offsets({P0: records(P0, 8, 9, 10, 11)})  # re-delivered after a failed commit
    router.next_offsets.clear()  # what a new assignment does: reading resumes at the committed offsets
    router._check_offsets({P0: records(P0, 40)})
    assert gaps() == before
