"""Applying seed entries through the API: knowledge bases with their quick responses, CSV
imports, content files and message templates; assistants with their knowledge base associations.

An entry is "already present" when a resource of its name exists in its account, region and
parent (an import: when its knowledge base has an import job started from the same CSV path,
recorded in the job's metadata), so applying a seed again changes nothing.
"""

from __future__ import annotations

import mimetypes
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from qconnect_local.runtime import Runtime
from qconnect_local.seed import transport
from qconnect_local.seed.loading import SeedError, SeedFile, load_seed

SEED_SOURCE = "qconnect-local-seed"  # the import job metadata key naming the CSV it came from
KB_OWN = frozenset({"account", "region", "quickResponses", "imports", "contents", "messageTemplates"})
TEMPLATE_OWN = frozenset({"activate"})
ASSISTANT_OWN = frozenset({"account", "region", "knowledgeBases"})
WAIT_SECONDS = 300.0  # an import or an ingestion that takes longer stops the start
POLL_SECONDS = 0.05
DONE_IMPORT = frozenset({"COMPLETE", "FAILED"})
PENDING_CONTENT = frozenset({"CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"})

Report = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def apply_seed(runtime: Runtime, path: Path, endpoint: str, report: Report = _stderr) -> None:
    """Apply every seed file under `path` (all are parsed first), in name order; SeedError on the
    first entry that fails."""
    for seed in load_seed(path):
        _Applier(runtime, seed, endpoint, report).run()


@dataclass
class _Scope:
    account: str
    region: str
    client: Any


class _Applier:
    def __init__(self, runtime: Runtime, seed: SeedFile, endpoint: str, report: Report) -> None:
        self.runtime = runtime
        self.seed = seed
        self.endpoint = endpoint
        self.report = report
        self._clients: dict[tuple[str, str], Any] = {}

    def run(self) -> None:
        document = self.seed.document
        for index, entry in enumerate(self._list(document, "knowledgeBases", "knowledgeBases")):
            self._knowledge_base(entry, f"knowledgeBases[{index}]")
        for index, entry in enumerate(self._list(document, "assistants", "assistants")):
            self._assistant(entry, f"assistants[{index}]")

    # --- plumbing ----------------------------------------------------------------------------

    def _list(self, parent: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
        value = parent.get(key) or []
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise self.seed.error(where, "must be a list of mappings")
        return value

    def _scope(self, entry: dict[str, Any], where: str) -> _Scope:
        settings = self.runtime.settings
        account = str(entry.get("account", self.seed.document.get("account", settings.default_account)))
        region = str(entry.get("region", self.seed.document.get("region", settings.default_region)))
        if not (len(account) == 12 and account.isascii() and account.isdigit()):
            raise self.seed.error(where, f"account {account!r} is not 12 digits")
        if (account, region) not in self._clients:
            try:
                made = transport.client(self.runtime, self.endpoint, account, region)
            except transport.NoCredential as error:
                raise self.seed.error(where, str(error)) from None
            self._clients[(account, region)] = made
        return _Scope(account, region, self._clients[(account, region)])

    def _call(self, scope: _Scope, where: str, operation: str, **params: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = getattr(scope.client, operation)(**params)
        except ClientError as error:
            details = error.response.get("Error", {})
            raise self.seed.error(where, f"{details.get('Code')}: {details.get('Message')}") from None
        except ParamValidationError as error:
            raise self.seed.error(where, " ".join(str(error.kwargs.get("report", error)).split())) from None
        except BotoCoreError as error:
            raise self.seed.error(where, str(error)) from None
        return answer

    def _each(
        self, scope: _Scope, where: str, operation: str, key: str, **params: Any
    ) -> Iterator[dict[str, Any]]:
        """Every item of a list operation, page by page."""
        token: str | None = None
        while True:
            answer = self._call(scope, where, operation, **params, **({"nextToken": token} if token else {}))
            yield from answer.get(key, [])
            token = answer.get("nextToken")
            if not token:
                return

    def _find(
        self, scope: _Scope, where: str, operation: str, key: str, name: str, **params: Any
    ) -> dict[str, Any] | None:
        return next(
            (item for item in self._each(scope, where, operation, key, **params) if item.get("name") == name),
            None,
        )

    def _present(
        self, scope: _Scope, kb_id: str, where: str, label: str, name: str, operation: str, key: str
    ) -> bool:
        """Whether the knowledge base already holds an item of this name (`operation` lists them
        under `key`); reported when it does."""
        if self._find(scope, where, operation, key, name, knowledgeBaseId=kb_id) is None:
            return False
        self._done(where, label, name, scope, created=False)
        return True

    def _done(
        self, where: str, label: str, name: str, scope: _Scope, created: bool, detail: str = ""
    ) -> None:
        state = "created" if created else "already present"
        self.report(
            f"qconnect-local: seed {self.seed.path}: {where} {label} {name!r} "
            f"({scope.account} {scope.region}): {state}{detail}"
        )

    def _wait(
        self,
        where: str,
        what: str,
        poll: Callable[[], dict[str, Any]],
        done: Callable[[dict[str, Any]], bool],
    ) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_SECONDS
        while not done(found := poll()):
            if time.monotonic() > deadline:
                hint = "" if self.runtime.settings.run_worker else " (no worker runs here: --no-worker)"
                raise self.seed.error(where, f"{what} did not finish within {WAIT_SECONDS:.0f} s{hint}")
            time.sleep(POLL_SECONDS)
        return found

    def _name(self, entry: dict[str, Any], where: str) -> str:
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise self.seed.error(where, "a name is required")
        return name

    # --- entries -----------------------------------------------------------------------------

    def _knowledge_base(self, entry: dict[str, Any], where: str) -> None:
        scope = self._scope(entry, where)
        name = self._name(entry, where)
        found = self._find(scope, where, "list_knowledge_bases", "knowledgeBaseSummaries", name)
        created = found is None
        if found is None:
            params = {k: v for k, v in entry.items() if k not in KB_OWN}
            found = self._call(scope, where, "create_knowledge_base", **params)["knowledgeBase"]
        self._done(where, "knowledge base", name, scope, created=created)
        kb_id = found["knowledgeBaseId"]
        for index, item in enumerate(self._list(entry, "quickResponses", f"{where}.quickResponses")):
            self._quick_response(scope, kb_id, item, f"{where}.quickResponses[{index}]")
        for index, item in enumerate(self._list(entry, "imports", f"{where}.imports")):
            self._import(scope, kb_id, item, f"{where}.imports[{index}]")
        for index, item in enumerate(self._list(entry, "contents", f"{where}.contents")):
            self._content(scope, kb_id, item, f"{where}.contents[{index}]")
        for index, item in enumerate(self._list(entry, "messageTemplates", f"{where}.messageTemplates")):
            self._message_template(scope, kb_id, item, f"{where}.messageTemplates[{index}]")

    def _quick_response(self, scope: _Scope, kb_id: str, entry: dict[str, Any], where: str) -> None:
        name = self._name(entry, where)
        if self._present(
            scope, kb_id, where, "quick response", name, "list_quick_responses", "quickResponseSummaries"
        ):
            return
        params = dict(entry)
        if isinstance(params.get("content"), str):  # the common case: plain text or markdown
            params["content"] = {"content": params["content"]}
        self._call(scope, where, "create_quick_response", knowledgeBaseId=kb_id, **params)
        self._done(where, "quick response", name, scope, created=True)

    def _message_template(self, scope: _Scope, kb_id: str, entry: dict[str, Any], where: str) -> None:
        """CreateMessageTemplate's members; `activate: true` also makes version 1 and activates it."""
        name = self._name(entry, where)
        if self._present(
            scope,
            kb_id,
            where,
            "message template",
            name,
            "list_message_templates",
            "messageTemplateSummaries",
        ):
            return
        params = {k: v for k, v in entry.items() if k not in TEMPLATE_OWN}
        made = self._call(scope, where, "create_message_template", knowledgeBaseId=kb_id, **params)
        if entry.get("activate"):
            ids = {
                "knowledgeBaseId": kb_id,
                "messageTemplateId": made["messageTemplate"]["messageTemplateId"],
            }
            version = self._call(scope, where, "create_message_template_version", **ids)["messageTemplate"]
            self._call(
                scope, where, "activate_message_template", **ids, versionNumber=version["versionNumber"]
            )
        self._done(where, "message template", name, scope, created=True)

    def _upload(self, scope: _Scope, kb_id: str, where: str, file: Path, content_type: str) -> str:
        """StartContentUpload, then the signed PUT of `file`: the upload's id."""
        upload = self._call(
            scope, where, "start_content_upload", knowledgeBaseId=kb_id, contentType=content_type
        )
        answer = transport.put(
            self.runtime, upload["url"], upload.get("headersToInclude", {}), file.read_bytes()
        )
        if answer.status != 200:
            raise self.seed.error(
                where, f"uploading {file.name} answered {answer.status}: {answer.body[:200]!r}"
            )
        return str(upload["uploadId"])

    def _import(self, scope: _Scope, kb_id: str, entry: dict[str, Any], where: str) -> None:
        source = entry.get("csv")
        file = self.seed.resolve(source, f"{where}.csv")
        jobs = self._each(scope, where, "list_import_jobs", "importJobSummaries", knowledgeBaseId=kb_id)
        if any((job.get("metadata") or {}).get(SEED_SOURCE) == source for job in jobs):
            self._done(where, "import of", str(source), scope, created=False)
            return
        params = {k: v for k, v in entry.items() if k != "csv"}
        params["metadata"] = {**params.get("metadata", {}), SEED_SOURCE: source}
        params.setdefault("importJobType", "QUICK_RESPONSES")
        upload_id = self._upload(scope, kb_id, where, file, "text/csv")
        job = self._call(
            scope, where, "start_import_job", knowledgeBaseId=kb_id, uploadId=upload_id, **params
        )["importJob"]
        job = self._wait(
            where,
            f"the import of {source}",
            lambda: self._call(
                scope, where, "get_import_job", knowledgeBaseId=kb_id, importJobId=job["importJobId"]
            )["importJob"],
            lambda found: found["status"] in DONE_IMPORT,
        )
        if job["status"] != "COMPLETE":
            raise self.seed.error(
                where,
                f"the import of {source} ended {job['status']}: "
                + str(job.get("failureReason", "no reason given")),
            )
        failed = job.get("failedRecordReport")
        self._done(
            where,
            "import of",
            str(source),
            scope,
            created=True,
            detail=" (some records failed: see GetImportJob's failedRecordReport)" if failed else "",
        )

    def _content(self, scope: _Scope, kb_id: str, entry: dict[str, Any], where: str) -> None:
        name = self._name(entry, where)
        if self._present(scope, kb_id, where, "content", name, "list_contents", "contentSummaries"):
            return
        file = self.seed.resolve(entry.get("file"), f"{where}.file")
        content_type = entry.get("contentType") or mimetypes.guess_type(file.name)[0]
        if not content_type:
            raise self.seed.error(where, f"cannot tell the type of {file.name}: give contentType")
        params = {k: v for k, v in entry.items() if k not in ("file", "contentType")}
        upload_id = self._upload(scope, kb_id, where, file, content_type)
        content = self._call(
            scope, where, "create_content", knowledgeBaseId=kb_id, uploadId=upload_id, **params
        )["content"]
        content = self._wait(
            where,
            f"the ingestion of {file.name}",
            lambda: self._call(
                scope, where, "get_content", knowledgeBaseId=kb_id, contentId=content["contentId"]
            )["content"],
            lambda found: found["status"] not in PENDING_CONTENT,
        )
        if content["status"] != "ACTIVE":
            raise self.seed.error(where, f"content {name!r} ended {content['status']}")
        self._done(where, "content", name, scope, created=True)

    def _assistant(self, entry: dict[str, Any], where: str) -> None:
        scope = self._scope(entry, where)
        name = self._name(entry, where)
        found = self._find(scope, where, "list_assistants", "assistantSummaries", name)
        created = found is None
        if found is None:
            params = {k: v for k, v in entry.items() if k not in ASSISTANT_OWN}
            params.setdefault("type", "AGENT")
            found = self._call(scope, where, "create_assistant", **params)["assistant"]
        self._done(where, "assistant", name, scope, created=created)
        names = entry.get("knowledgeBases") or []
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise self.seed.error(f"{where}.knowledgeBases", "must be a list of knowledge base names")
        for index, kb_name in enumerate(names):
            self._association(scope, found["assistantId"], kb_name, f"{where}.knowledgeBases[{index}]")

    def _association(self, scope: _Scope, assistant_id: str, kb_name: str, where: str) -> None:
        kb = self._find(scope, where, "list_knowledge_bases", "knowledgeBaseSummaries", kb_name)
        if kb is None:
            raise self.seed.error(where, f"no knowledge base {kb_name!r} in {scope.account} {scope.region}")
        existing = self._each(
            scope,
            where,
            "list_assistant_associations",
            "assistantAssociationSummaries",
            assistantId=assistant_id,
        )
        label = "association with knowledge base"
        if any(_associated_kb(item) == kb["knowledgeBaseId"] for item in existing):
            self._done(where, label, kb_name, scope, created=False)
            return
        self._call(
            scope,
            where,
            "create_assistant_association",
            assistantId=assistant_id,
            associationType="KNOWLEDGE_BASE",
            association={"knowledgeBaseId": kb["knowledgeBaseId"]},
        )
        self._done(where, label, kb_name, scope, created=True)


def _associated_kb(summary: dict[str, Any]) -> str | None:
    data = summary.get("associationData") or {}
    kb: str | None = (data.get("knowledgeBaseAssociation") or {}).get("knowledgeBaseId")
    return kb


__all__ = ["SeedError", "apply_seed"]
