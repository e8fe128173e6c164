"""Name-based event ids are exactly ``uuid.uuid5``'s."""

import uuid

from hypothesis import given
from hypothesis import strategies as st

from models.ids import name_based_id

NAMESPACES = st.builds(uuid.UUID, st.uuids().map(str))
NAMES = st.text(alphabet=st.characters(exclude_categories=["Cs"]))


@given(NAMESPACES, NAMES)
def test_a_name_based_id_is_the_uuid5_of_its_namespace_and_name(
    namespace: uuid.UUID, name: str
) -> None:
    assert name_based_id(namespace, name) == uuid.uuid5(namespace, name)


def test_a_name_based_id_is_version_5_of_rfc_4122s_variant() -> None:
    made = name_based_id(uuid.NAMESPACE_URL, "https://shop.example/orders/1")
    assert made.version == 5
    assert made.variant == uuid.RFC_4122
