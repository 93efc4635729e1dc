"""Which `MessageTemplateAttributes` value a placeholder key names, and how to read it.

The user-facing table is in `template_render`'s docstring; this module implements it. A key
(the trimmed text between the braces) resolves to a *path* of model member names, map keys and
list indexes inside a `MessageTemplateAttributes` dict, e.g. `Attributes.Customer.FirstName` →
`("customerProfileAttributes", "firstName")`. The member lists below are the model's
(`tests/test_template_render.py` checks them against service-2.json), and every fixed field's
placeholder name is its member name with the first letter capitalised.
"""

from __future__ import annotations

from collections.abc import Mapping
from math import isfinite
from typing import Any, Final

Path = tuple[str | int, ...]

PREFIX: Final = "Attributes."

# Model members, in model order.
AGENT_MEMBERS: Final = ("firstName", "lastName")
PROFILE_MEMBERS: Final = (
    "profileId", "profileARN", "firstName", "middleName", "lastName", "accountNumber", "emailAddress",
    "phoneNumber", "additionalInformation", "partyType", "businessName", "birthDate", "gender",
    "mobilePhoneNumber", "homePhoneNumber", "businessPhoneNumber", "businessEmailAddress",
    "address1", "address2", "address3", "address4", "city", "county", "country", "postalCode",
    "province", "state",
    "shippingAddress1", "shippingAddress2", "shippingAddress3", "shippingAddress4", "shippingCity",
    "shippingCounty", "shippingCountry", "shippingPostalCode", "shippingProvince", "shippingState",
    "mailingAddress1", "mailingAddress2", "mailingAddress3", "mailingAddress4", "mailingCity",
    "mailingCounty", "mailingCountry", "mailingPostalCode", "mailingProvince", "mailingState",
    "billingAddress1", "billingAddress2", "billingAddress3", "billingAddress4", "billingCity",
    "billingCounty", "billingCountry", "billingPostalCode", "billingProvince", "billingState",
)  # fmt: skip
CATALOG_ITEM_MEMBERS: Final = (
    "id", "name", "code", "type", "category", "description", "additionalInformation", "imageLink",
    "link", "createdAt", "updatedAt", "price",
)  # fmt: skip
MAX_RECOMMENDATIONS: Final = 50  # ProfileRecommendations max

_SYSTEM: Final = ("systemAttributes",)
_PROFILE: Final = ("customerProfileAttributes",)


def pascal(member: str) -> str:
    """`firstName` → `FirstName`: the placeholder spelling of a model member."""
    return member[:1].upper() + member[1:]


def _fixed_paths() -> dict[str, Path]:
    """Every fixed-field key, built from the member lists so the table cannot drift from the model."""
    paths: dict[str, Path] = {
        # The console's attribute finder names (documented) and the member-path spelling (ours).
        "Attributes.System.Name": (*_SYSTEM, "name"),
        "Attributes.System.CustomerEndpointAddress": (*_SYSTEM, "customerEndpoint", "address"),
        "Attributes.System.CustomerEndpoint.Address": (*_SYSTEM, "customerEndpoint", "address"),
        "Attributes.System.SystemEmailAddress": (*_SYSTEM, "systemEndpoint", "address"),
        "Attributes.System.SystemEndpointAddress": (*_SYSTEM, "systemEndpoint", "address"),
        "Attributes.System.SystemEndpoint.Address": (*_SYSTEM, "systemEndpoint", "address"),
    }
    for member in AGENT_MEMBERS:
        paths[f"Attributes.Agent.{pascal(member)}"] = ("agentAttributes", member)
    for member in PROFILE_MEMBERS:
        paths[f"Attributes.Customer.{pascal(member)}"] = (*_PROFILE, member)
    return paths


FIXED_PATHS: Final = _fixed_paths()

# Map namespaces: the rest of the key after the prefix, verbatim, is the map key.
MAP_PREFIXES: Final[tuple[tuple[str, Path], ...]] = (
    ("Attributes.Custom.", ("customAttributes",)),
    ("Attributes.Case.", ("caseAttributes",)),
    ("Attributes.Customer.Attributes.", (*_PROFILE, "custom")),
    ("Attributes.Customer.Custom.", (*_PROFILE, "custom")),
    ("Attributes.Customer.CalculatedAttributes.", (*_PROFILE, "calculatedAttributes")),
)

RECOMMENDATION_PREFIX: Final = "Attributes.Customer.Recommendations.["
_RECOMMENDATION_FIELDS: Final[dict[str, Path]] = {
    "Score": ("score",),
    **{f"CatalogItem.{pascal(m)}": ("catalogItem", m) for m in CATALOG_ITEM_MEMBERS},
}
_CATALOG_ATTRIBUTES: Final = "CatalogItem.Attributes."

# Model enum MessageTemplateAttributeType, by namespace prefix.
NAMESPACE_TYPES: Final = (
    ("Attributes.System.", "SYSTEM"),
    ("Attributes.Agent.", "AGENT"),
    ("Attributes.Customer.", "CUSTOMER_PROFILE"),
    ("Attributes.Custom.", "CUSTOM"),
    ("Attributes.Case.", "CASE"),
)


def attribute_path(key: str) -> Path | None:
    """The path a key names, or None when it names no attribute (it then never resolves)."""
    fixed = FIXED_PATHS.get(key)
    if fixed is not None:
        return fixed
    for prefix, base in MAP_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            return (*base, key[len(prefix) :])
    if key.startswith(RECOMMENDATION_PREFIX):
        return _recommendation_path(key[len(RECOMMENDATION_PREFIX) :])
    return None


def _recommendation_path(rest: str) -> Path | None:
    """`0].CatalogItem.Name` → `(..., "recommendations", 0, "catalogItem", "name")`."""
    index_text, separator, field = rest.partition("].")
    if not separator or not _is_index(index_text):
        return None
    base: Path = (*_PROFILE, "recommendations", int(index_text))
    known = _RECOMMENDATION_FIELDS.get(field)
    if known is not None:
        return (*base, *known)
    if field.startswith(_CATALOG_ATTRIBUTES) and len(field) > len(_CATALOG_ATTRIBUTES):
        return (*base, "catalogItem", "attributes", field[len(_CATALOG_ATTRIBUTES) :])
    return None


def _is_index(text: str) -> bool:
    """Plain ASCII decimal, no sign or leading zero, at most three digits (the list holds ≤ 50)."""
    return 0 < len(text) <= 3 and text.isascii() and text.isdigit() and (text == "0" or text[0] != "0")


def lookup(source: Mapping[str, Any] | None, path: Path) -> str | None:
    """The text at `path` in one attributes dict, or None when any step is absent or not text."""
    node: Any = source
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                return None
            node = node[step]
        elif isinstance(node, Mapping):
            node = node.get(step)
        else:
            return None
    return as_text(node)


def as_text(value: Any) -> str | None:
    """Strings as they are; numbers (the only one is a recommendation's score) in shortest form."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and isfinite(value):
        return repr(value)
    return None


def attribute_type(key: str) -> str | None:
    """The MessageTemplateAttributeType of the namespace a key uses, or None outside them."""
    for prefix, kind in NAMESPACE_TYPES:
        if key.startswith(prefix):
            return kind
    return None
