"""The national population database stub (CSDL quốc gia về dân cư): answers citizen verification.

Latency and a transient failure rate are configurable, so callers meet timeouts and the SDK's
retries the way they would against the real service.
"""

from __future__ import annotations

import asyncio
import random

from hub.sdk import Connector, Message
from province.connectors.population_db.population import Population

ID = "csdl-dan-cu"


class TransientFailure(RuntimeError):
    pass


class PopulationDatabase:
    def __init__(self, population: Population, latency_seconds: float = 0.0, failure_rate: float = 0.0,
                 seed: int = 0) -> None:
        self.population = population
        self.latency_seconds, self.failure_rate = latency_seconds, failure_rate
        self._rng = random.Random(f"population-db:{seed}")
        self.answered = 0
        self.failures = 0
        self.connector = Connector(ID, name="Cơ sở dữ liệu quốc gia về dân cư", agency="Bộ Công an (C06)",
                                   level="national", produces=["citizen.verify.reply"])
        self.connector.serves("citizen.verify.request", reply="citizen.verify.reply",
                              description="Does this citizen exist, and do the name, birth date and old ID "
                                          "number given match the population database?")(self._verify)

    async def _verify(self, message: Message) -> None:
        if self.latency_seconds:
            await asyncio.sleep(self._rng.uniform(0.5, 1.5) * self.latency_seconds)
        if self._rng.random() < self.failure_rate:
            self.failures += 1
            raise TransientFailure("population database did not answer (simulated)")
        await self.connector.reply(message, "citizen.verify.reply", self.population.verify(message.payload))
        self.answered += 1
