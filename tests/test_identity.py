"""Who owns what: the account comes from the access key id, the region from the signing scope.

A 12-digit access key id *is* the account (any other key id gets the default account
123456789012), and every resource lives in one account and one region. The older `wisdom`
client reaches the same service and the same knowledge bases.
"""

from __future__ import annotations

from typing import Any

import pytest

ClientFactory = Any
ALICE, BOB = "111122223333", "444455556666"


def create(qc: Any, name: str = "support", **extra: Any) -> dict[str, Any]:
    kb: dict[str, Any] = qc.create_knowledge_base(name=name, knowledgeBaseType="CUSTOM", **extra)[
        "knowledgeBase"
    ]
    return kb


def names(qc: Any) -> list[str]:
    return [kb["name"] for kb in qc.list_knowledge_bases()["knowledgeBaseSummaries"]]


def test_a_twelve_digit_access_key_id_is_the_account(make_client: ClientFactory) -> None:
    kb = create(make_client(account=ALICE))
    assert kb["knowledgeBaseArn"].split(":")[4] == ALICE


def test_any_other_access_key_id_is_the_default_account(make_client: ClientFactory) -> None:
    kb = create(make_client(account="AKIAIOSFODNN7EXAMPLE"))
    assert kb["knowledgeBaseArn"].split(":")[4] == "123456789012"


def test_one_accounts_knowledge_bases_are_invisible_to_another(make_client: ClientFactory) -> None:
    alice, bob = make_client(account=ALICE), make_client(account=BOB)
    kb = create(alice, "alice-kb", tags={"owner": "alice"})
    assert names(bob) == []
    for call in (
        lambda: bob.get_knowledge_base(knowledgeBaseId=kb["knowledgeBaseId"]),
        lambda: bob.get_knowledge_base(knowledgeBaseId=kb["knowledgeBaseArn"]),
        lambda: bob.delete_knowledge_base(knowledgeBaseId=kb["knowledgeBaseId"]),
        lambda: bob.update_knowledge_base_template_uri(
            knowledgeBaseId=kb["knowledgeBaseId"], templateUri="https://x/{{Id}}"
        ),
        lambda: bob.list_tags_for_resource(resourceArn=kb["knowledgeBaseArn"]),
        lambda: bob.tag_resource(resourceArn=kb["knowledgeBaseArn"], tags={"owner": "bob"}),
    ):
        with pytest.raises(bob.exceptions.ResourceNotFoundException):
            call()
    assert alice.get_knowledge_base(knowledgeBaseId=kb["knowledgeBaseId"])["knowledgeBase"] == kb


def test_accounts_may_use_the_same_names(make_client: ClientFactory) -> None:
    alice, bob = make_client(account=ALICE), make_client(account=BOB)
    create(alice, "support")
    create(bob, "support")
    assert names(alice) == names(bob) == ["support"]


def test_the_region_comes_from_the_signing_scope(make_client: ClientFactory) -> None:
    kb = create(make_client(account=ALICE, region="eu-west-1"))
    assert kb["knowledgeBaseArn"].split(":")[3] == "eu-west-1"


def test_regions_are_isolated(make_client: ClientFactory) -> None:
    us, eu = make_client(account=ALICE, region="us-east-1"), make_client(account=ALICE, region="eu-west-1")
    kb = create(us, "us-kb")
    create(eu, "eu-kb")
    assert names(us) == ["us-kb"]
    assert names(eu) == ["eu-kb"]
    with pytest.raises(eu.exceptions.ResourceNotFoundException):
        eu.get_knowledge_base(knowledgeBaseId=kb["knowledgeBaseId"])
    with pytest.raises(eu.exceptions.ResourceNotFoundException):
        eu.list_tags_for_resource(resourceArn=kb["knowledgeBaseArn"])


def test_a_client_token_is_scoped_to_its_account(make_client: ClientFactory) -> None:
    alice, bob = make_client(account=ALICE), make_client(account=BOB)
    first = create(alice, clientToken="same-token")
    second = create(bob, clientToken="same-token")
    assert first["knowledgeBaseId"] != second["knowledgeBaseId"]


def test_the_wisdom_client_sees_the_same_knowledge_bases(make_client: ClientFactory) -> None:
    qconnect, wisdom = make_client("qconnect", account=ALICE), make_client("wisdom", account=ALICE)
    from_qconnect = create(qconnect, "made-by-qconnect", tags={"via": "qconnect"})
    from_wisdom = create(wisdom, "made-by-wisdom")

    assert sorted(names(wisdom)) == sorted(names(qconnect)) == ["made-by-qconnect", "made-by-wisdom"]
    seen = wisdom.get_knowledge_base(knowledgeBaseId=from_qconnect["knowledgeBaseArn"])["knowledgeBase"]
    assert seen["knowledgeBaseId"] == from_qconnect["knowledgeBaseId"]
    assert seen["tags"] == {"via": "qconnect"}
    assert (
        qconnect.get_knowledge_base(knowledgeBaseId=from_wisdom["knowledgeBaseId"])["knowledgeBase"][
            "knowledgeBaseArn"
        ]
        == (from_wisdom["knowledgeBaseArn"])
    )

    wisdom.tag_resource(resourceArn=from_wisdom["knowledgeBaseArn"], tags={"via": "wisdom"})
    assert qconnect.list_tags_for_resource(resourceArn=from_wisdom["knowledgeBaseArn"])["tags"] == {
        "via": "wisdom"
    }
    wisdom.delete_knowledge_base(knowledgeBaseId=from_qconnect["knowledgeBaseId"])
    assert names(qconnect) == ["made-by-wisdom"]
