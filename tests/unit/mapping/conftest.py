import pytest

from flows.settings import DEFAULT_MAPPING
from mapping.config import MappingConfig, load_mapping


@pytest.fixture(scope="session")
def mapping() -> MappingConfig:
    return load_mapping(DEFAULT_MAPPING)
