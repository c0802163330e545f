"""What the tests share besides fixtures: brokers, records on topics, hub processes, connector registrations,
a router in the test's process, waiting. tests/conftest.py builds its fixtures from these; test modules import
them from here."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository
