import pytest
from pydantic import ValidationError

from mapping.config import MappingConfig
from mapping.schema import BUILT_IN, CONSENT_FIELD, IDENTITY_FIELD, FieldType, contact_model


def test_contact_model_has_every_declared_field(mapping: MappingConfig) -> None:
    model = contact_model(mapping.specs)
    assert set(model.model_fields) == set(mapping.fields)
    contact = model(email="a@x.org", service_line="cardiology")
    assert contact.model_dump()["service_line"] == "cardiology"


def test_contact_model_refuses_fields_nobody_declared(mapping: MappingConfig) -> None:
    model = contact_model(mapping.specs)
    with pytest.raises(ValidationError, match="shoe_size"):
        model(email="a@x.org", shoe_size="9")


def test_only_identity_and_consent_are_built_in(mapping: MappingConfig) -> None:
    assert set(BUILT_IN) == {IDENTITY_FIELD, CONSENT_FIELD}
    assert mapping.spec(IDENTITY_FIELD).type is FieldType.EMAIL
    assert mapping.spec(CONSENT_FIELD).type is FieldType.CONSENT


def test_shipped_choices_come_from_the_mapping_file(mapping: MappingConfig) -> None:
    assert mapping.spec("service_line").type is FieldType.ENUM
    assert "cardiology" in mapping.spec("service_line").choices
    assert "disqualified" in mapping.spec("lifecycle_stage").choices
    assert mapping.spec("phone").type is FieldType.PHONE
