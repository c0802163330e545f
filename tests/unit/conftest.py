"""Fixtures shared by the unit tests."""

import pytest

from hub.core.schemas.registry import SchemaRegistry, bundled_schemas_dir


@pytest.fixture(scope="module")
def schemas() -> SchemaRegistry:
    """The bundled message contracts, compiled once per test module."""
    return SchemaRegistry.from_dirs(bundled_schemas_dir())
