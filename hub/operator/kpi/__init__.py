"""The province's indicators, computed by the hub from what it routes (pure logic, no I/O).

- `hub.operator.kpi.dossiers`: received / online / on time vs late / signed results, from the `dossier.*` messages.
- `hub.operator.kpi.documents`: documents exchanged electronically between agencies, and processed after their
  DueDate per receiving agency, from the `document.*` messages (read off the decisions topic).
- `hub.operator.kpi.connectivity`: the share of systems serving citizens and businesses connected through the
  LGSP, and a linear projection of when its target is reached.
- `hub.operator.kpi.display`: each as the pages show them (verdicts, shares, display order), for the endpoints.
"""

from hub.operator.kpi.connectivity import connectivity, projection
from hub.operator.kpi.documents import DocumentIndicators
from hub.operator.kpi.dossiers import DossierIndicators

__all__ = ["DocumentIndicators", "DossierIndicators", "connectivity", "projection"]
