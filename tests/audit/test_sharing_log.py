"""What agreements made of a delivery travels in its decision record and is kept, hashed, in the message log."""

from __future__ import annotations

import sqlalchemy as sa

from hub.audit.decisions import decode, record
from hub.audit.message_log import GENESIS, chained, verify
from hub.core.agreements import Agreement, Withheld
from hub.core.envelope import encode
from hub.core.routing import Delivery
from hub.store import Store, message_log
from hub.testing.samples import dossier_submitted

TERMS = Agreement.model_validate({
    "id": "so-tu-phap.1", "version": 3, "provider": "mot-cua", "consumer": "so-tu-phap", "types": ["dossier.submitted"],
    "fields": ["/MaHoSo"], "purpose": {"code": "P", "text": "p"}, "legal_basis": "NĐ 47/2020",
    "valid_from": "2026-01-01T00:00:00+07:00", "changed_at": "2026-01-01T00:00:00+07:00", "changed_by": "a"})


def test_sharing_travels_with_the_decision_and_an_edit_of_it_shows(tmp_path):
    envelope = dossier_submitted()
    outcome = Delivery(envelope, ("ndxp", "so-tu-phap"), (None, TERMS), (Withheld("cong-an", "no agreement"),))
    d = decode(*record(encode(envelope), outcome, 1.0, "lgsp.ingress/0/1")[1:])
    assert d.sharing == {"deliveries": {"so-tu-phap": {"agreement": "so-tu-phap.1", "version": 3, "fields": ["/MaHoSo"]}},
                         "withheld": {"cong-an": "no agreement"}}
    plain = decode(*record(encode(envelope), Delivery(envelope, ("ndxp",)), 2.0, "lgsp.ingress/0/2")[1:])
    assert plain.sharing is None

    store = Store(f"sqlite:///{tmp_path / 'hub.db'}")
    store.engine.dispose()
    from hub.store import metadata
    metadata.create_all(store.engine)
    rows, _ = chained([d, plain], "lgsp.decisions/0", GENESIS, [d.origin, plain.origin])
    store.append_log(rows)
    assert verify(store).ok and verify(store).checked == 2
    with store.engine.begin() as conn:
        conn.execute(sa.update(message_log).where(message_log.c.seq == 1)
                     .values(sharing='{"deliveries":{},"withheld":{}}'))
    assert verify(store).broken["seq"] == 1
