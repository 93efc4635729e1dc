"""Assistants and their associations: what a developer integrating Q in Connect sets up first."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import Target
from polling import poll

KMS = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
BEDROCK = {
    "bedrockKnowledgeBaseArn": "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/ABCDEFGHIJ",
    "accessRoleArn": "arn:aws:iam::123456789012:role/BedrockAccess",
}


def new_assistant(qc: Any, name: str = "support", **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = qc.create_assistant(name=name, type="AGENT", **extra)["assistant"]
    return result


def new_kb(qc: Any, name: str = "docs", kb_type: str = "CUSTOM") -> str:
    kb_id: str = qc.create_knowledge_base(name=name, knowledgeBaseType=kb_type)["knowledgeBase"][
        "knowledgeBaseId"
    ]
    return kb_id


def test_a_new_assistant_is_active_and_echoes_what_it_was_given(qc: Any) -> None:
    encryption = {"kmsKeyId": KMS}
    made = new_assistant(
        qc, description="Tier 1", serverSideEncryptionConfiguration=encryption, tags={"t": "1"}
    )
    assert made["status"] == "ACTIVE"
    assert made["type"] == "AGENT"
    assert made["description"] == "Tier 1"
    assert made["serverSideEncryptionConfiguration"] == encryption
    assert made["tags"] == {"t": "1"}
    assert made["lastModifiedRegion"] == "us-east-1"
    got = qc.get_assistant(assistantId=made["assistantId"])["assistant"]
    assert got == made
    listed = qc.list_assistants()["assistantSummaries"]
    assert [a["assistantId"] for a in listed] == [made["assistantId"]]
    assert listed[0]["name"] == "support"


def test_assistant_names_are_unique_in_an_account_and_region(qc: Any) -> None:
    new_assistant(qc, "same")
    with pytest.raises(qc.exceptions.ConflictException):
        new_assistant(qc, "same")


def test_the_sixth_assistant_exceeds_the_quota_of_five(qc: Any) -> None:
    for index in range(5):
        new_assistant(qc, f"a{index}")
    with pytest.raises(qc.exceptions.ServiceQuotaExceededException, match="quota of 5 assistants"):
        new_assistant(qc, "a5")


def test_the_assistant_type_must_be_agent(qc_unvalidated: Any) -> None:
    with pytest.raises(qc_unvalidated.exceptions.ValidationException):
        qc_unvalidated.create_assistant(name="x", type="OTHER")


def test_a_held_assistant_stays_in_create_in_progress_until_released(target: Target, qc: Any) -> None:
    target.control("transitions", {"hold": {"kind": "assistant", "status": "CREATE_IN_PROGRESS"}})
    made = new_assistant(qc)
    assert made["status"] == "CREATE_IN_PROGRESS"
    target.control("transitions", {"release": True})
    poll(
        lambda: qc.get_assistant(assistantId=made["assistantId"])["assistant"]["status"],
        lambda status: status == "ACTIVE",
        what="the released assistant",
    )


def test_fail_next_makes_a_new_assistant_end_create_failed(target: Target, qc: Any) -> None:
    target.control("transitions", {"failNext": {"kind": "assistant", "status": "CREATE_IN_PROGRESS"}})
    made = new_assistant(qc)
    poll(
        lambda: qc.get_assistant(assistantId=made["assistantId"])["assistant"]["status"],
        lambda status: status == "CREATE_FAILED",
        what="the failed assistant",
    )
    assert new_assistant(qc, "next")["status"] == "ACTIVE"


def test_replica_keys_are_appended_up_to_five(qc: Any) -> None:
    made = new_assistant(qc, serverSideEncryptionConfiguration={"kmsKeyId": KMS})
    keys = [f"arn:aws:kms:eu-west-{n}:123456789012:key/k{n}" for n in range(1, 7)]
    for key in keys[:5]:
        result = qc.register_assistant_replica_key(
            assistantId=made["assistantId"], replicaKmsKey={"arn": key}
        )
    encryption = result["assistant"]["serverSideEncryptionConfiguration"]
    assert encryption["kmsKeyId"] == KMS
    assert [k["arn"] for k in encryption["replicaKmsKeys"]] == keys[:5]
    with pytest.raises(qc.exceptions.ValidationException, match="at most 5"):
        qc.register_assistant_replica_key(assistantId=made["assistantId"], replicaKmsKey={"arn": keys[5]})


def test_registering_a_replica_key_twice_conflicts_unless_it_is_a_retry(qc: Any) -> None:
    assistant_id = new_assistant(qc)["assistantId"]
    key = {"arn": "arn:aws:kms:eu-west-1:123456789012:key/k"}
    qc.register_assistant_replica_key(assistantId=assistant_id, replicaKmsKey=key, clientToken="t-1")
    again = qc.register_assistant_replica_key(assistantId=assistant_id, replicaKmsKey=key, clientToken="t-1")
    assert again["assistant"]["serverSideEncryptionConfiguration"]["replicaKmsKeys"] == [key]
    with pytest.raises(qc.exceptions.ConflictException):
        qc.register_assistant_replica_key(assistantId=assistant_id, replicaKmsKey=key)


# -- associations -------------------------------------------------------------------------------


def test_a_knowledge_base_association_names_the_knowledge_base(qc: Any) -> None:
    assistant_id = new_assistant(qc)["assistantId"]
    kb_id = new_kb(qc)
    made = qc.create_assistant_association(
        assistantId=assistant_id, associationType="KNOWLEDGE_BASE", association={"knowledgeBaseId": kb_id}
    )["assistantAssociation"]
    assert made["associationData"]["knowledgeBaseAssociation"] == {
        "knowledgeBaseId": kb_id,
        "knowledgeBaseArn": f"arn:aws:wisdom:us-east-1:123456789012:knowledge-base/{kb_id}",
    }
    assert made["assistantArn"].endswith(f":assistant/{assistant_id}")
    assert made["assistantAssociationArn"].endswith(
        f":association/{assistant_id}/{made['assistantAssociationId']}"
    )
    got = qc.get_assistant_association(
        assistantId=assistant_id, assistantAssociationId=made["assistantAssociationId"]
    )
    assert got["assistantAssociation"] == made


def test_a_knowledge_base_is_associated_once_per_assistant(qc: Any) -> None:
    assistant_id = new_assistant(qc)["assistantId"]
    kb_id = new_kb(qc)
    for attempt in range(2):
        if attempt:
            with pytest.raises(qc.exceptions.ConflictException):
                qc.create_assistant_association(
                    assistantId=assistant_id,
                    associationType="KNOWLEDGE_BASE",
                    association={"knowledgeBaseId": kb_id},
                )
        else:
            qc.create_assistant_association(
                assistantId=assistant_id,
                associationType="KNOWLEDGE_BASE",
                association={"knowledgeBaseId": kb_id},
            )
    other = new_assistant(qc, "other")["assistantId"]  # another assistant may use it too
    qc.create_assistant_association(
        assistantId=other, associationType="KNOWLEDGE_BASE", association={"knowledgeBaseId": kb_id}
    )


def test_a_quick_responses_knowledge_base_cannot_be_associated(qc: Any) -> None:
    assistant_id = new_assistant(qc)["assistantId"]
    kb_id = new_kb(qc, "answers", "QUICK_RESPONSES")
    with pytest.raises(qc.exceptions.ValidationException, match="QUICK_RESPONSES"):
        qc.create_assistant_association(
            assistantId=assistant_id, associationType="KNOWLEDGE_BASE", association={"knowledgeBaseId": kb_id}
        )


def test_an_association_with_a_missing_knowledge_base_is_not_found(qc: Any) -> None:
    assistant_id = new_assistant(qc)["assistantId"]
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.create_assistant_association(
            assistantId=assistant_id,
            associationType="KNOWLEDGE_BASE",
            association={"knowledgeBaseId": "00000000-0000-4000-8000-000000000000"},
        )


def test_the_association_member_must_match_its_type(qc: Any) -> None:
    assistant_id = new_assistant(qc)["assistantId"]
    with pytest.raises(qc.exceptions.ValidationException, match="knowledgeBaseId"):
        qc.create_assistant_association(
            assistantId=assistant_id,
            associationType="KNOWLEDGE_BASE",
            association={"externalBedrockKnowledgeBaseConfig": BEDROCK},
        )


def test_a_bedrock_association_is_stored_and_echoed(qc: Any) -> None:
    assistant_id = new_assistant(qc)["assistantId"]
    made = qc.create_assistant_association(
        assistantId=assistant_id,
        associationType="EXTERNAL_BEDROCK_KNOWLEDGE_BASE",
        association={"externalBedrockKnowledgeBaseConfig": BEDROCK},
    )["assistantAssociation"]
    assert made["associationData"] == {"externalBedrockKnowledgeBaseConfig": BEDROCK}
    with pytest.raises(qc.exceptions.ConflictException):
        qc.create_assistant_association(
            assistantId=assistant_id,
            associationType="EXTERNAL_BEDROCK_KNOWLEDGE_BASE",
            association={"externalBedrockKnowledgeBaseConfig": BEDROCK},
        )


def test_an_assistant_holds_twenty_associations_at_most(target: Target, qc: Any) -> None:
    assistant_id = new_assistant(qc)["assistantId"]
    for index in range(20):
        config = {**BEDROCK, "bedrockKnowledgeBaseArn": BEDROCK["bedrockKnowledgeBaseArn"] + str(index)}
        qc.create_assistant_association(
            assistantId=assistant_id,
            associationType="EXTERNAL_BEDROCK_KNOWLEDGE_BASE",
            association={"externalBedrockKnowledgeBaseConfig": config},
        )
    with pytest.raises(qc.exceptions.ServiceQuotaExceededException, match="20 assistant associations"):
        qc.create_assistant_association(
            assistantId=assistant_id,
            associationType="KNOWLEDGE_BASE",
            association={"knowledgeBaseId": new_kb(qc)},
        )


def test_deleting_an_assistant_deletes_its_associations_and_sessions(qc: Any) -> None:
    assistant_id = new_assistant(qc)["assistantId"]
    kb_id = new_kb(qc)
    association = qc.create_assistant_association(
        assistantId=assistant_id, associationType="KNOWLEDGE_BASE", association={"knowledgeBaseId": kb_id}
    )["assistantAssociation"]
    session = qc.create_session(assistantId=assistant_id, name="contact", tags={"a": "b"})["session"]
    qc.delete_assistant(assistantId=assistant_id)
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.get_session(assistantId=assistant_id, sessionId=session["sessionId"])
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.list_tags_for_resource(resourceArn=session["sessionArn"])
    with pytest.raises(qc.exceptions.ResourceNotFoundException):
        qc.list_tags_for_resource(resourceArn=association["assistantAssociationArn"])
    # The knowledge base is the user's own: it stays.
    assert qc.get_knowledge_base(knowledgeBaseId=kb_id)["knowledgeBase"]["knowledgeBaseId"] == kb_id


def test_a_client_token_used_for_another_replica_key_conflicts_and_says_why(qc: Any) -> None:
    assistant_id = new_assistant(qc)["assistantId"]
    qc.register_assistant_replica_key(
        assistantId=assistant_id,
        replicaKmsKey={"arn": "arn:aws:kms:eu-west-1:123456789012:key/a"},
        clientToken="t",
    )
    with pytest.raises(qc.exceptions.ConflictException, match="already used with different parameters"):
        qc.register_assistant_replica_key(
            assistantId=assistant_id,
            replicaKmsKey={"arn": "arn:aws:kms:eu-west-1:123456789012:key/b"},
            clientToken="t",
        )


def test_a_duplicate_name_is_worded_with_its_article(qc: Any) -> None:
    new_assistant(qc, "same")
    with pytest.raises(qc.exceptions.ConflictException, match="An assistant named same already exists"):
        new_assistant(qc, "same")
