import pytest
from pydantic import ValidationError

from mapping.schema import CANONICAL_FIELDS, Consent, Contact


def test_contact_model_and_field_registry_name_the_same_fields() -> None:
    assert set(Contact.model_fields) == set(CANONICAL_FIELDS)


def test_contact_refuses_values_outside_the_schema() -> None:
    assert Contact(email="a@x.org").email_consent is Consent.NOT_SPECIFIED
    with pytest.raises(ValidationError, match="lifecycle_stage"):
        Contact(email="a@x.org", lifecycle_stage="lukewarm")
