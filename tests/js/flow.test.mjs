// The quick-response import flow through the AWS SDK for JavaScript v3 (@aws-sdk/client-qconnect).
//
// This client is generated from the Smithy model by a different code generator than botocore, with
// its own serializers, parsers and error dispatch, so it checks our wire format independently of
// boto3. Run by tests/test_js_sdk.py against a fresh server: `QCONNECT_ENDPOINT=http://... node --test`.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  ConflictException,
  CreateKnowledgeBaseCommand,
  DeleteImportJobCommand,
  GetImportJobCommand,
  ListImportJobsCommand,
  ListQuickResponsesCommand,
  QConnectClient,
  QConnectServiceException,
  ResourceNotFoundException,
  SearchQuickResponsesCommand,
  StartContentUploadCommand,
  StartImportJobCommand,
  ValidationException,
  paginateListQuickResponses,
} from "@aws-sdk/client-qconnect";

const ENDPOINT = process.env.QCONNECT_ENDPOINT;
const ACCOUNT = "123456789012";
const REGION = "us-east-1";
const FINAL = new Set(["COMPLETE", "FAILED", "DELETED", "DELETE_FAILED"]);
const MISSING = "00000000-0000-0000-0000-000000000000";

// Line 3 has an unsupported language: it is rejected, the other rows are imported.
const CSV =
  "Name,Content,Shortcut key,Language,Channels\n" +
  "hello,Hello there,hi,en_US,Chat\n" +
  "bad language,Text,bl,xx_XX,Chat\n" +
  "refund,Refunds take 14 days,refund,en_US,Chat;Email\n";

let qc;

before(async () => {
  assert.ok(ENDPOINT, "set QCONNECT_ENDPOINT to the server's URL");
  await control("reset", {});
  qc = new QConnectClient({
    endpoint: ENDPOINT,
    region: REGION,
    credentials: { accessKeyId: ACCOUNT, secretAccessKey: "x" },
    maxAttempts: 1,
  });
});

after(() => qc?.destroy());

async function control(name, body) {
  const reply = await fetch(`${ENDPOINT}/_qconnect/${name}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await reply.text();
  assert.equal(reply.status, 200, text);
  return JSON.parse(text);
}

async function quickResponseKb(name) {
  const { knowledgeBase } = await qc.send(
    new CreateKnowledgeBaseCommand({ name, knowledgeBaseType: "QUICK_RESPONSES" }),
  );
  return knowledgeBase;
}

async function upload(knowledgeBaseId, text) {
  const up = await qc.send(new StartContentUploadCommand({ knowledgeBaseId, contentType: "text/csv" }));
  const put = await fetch(up.url, { method: "PUT", headers: up.headersToInclude, body: text });
  assert.equal(put.status, 200, await put.text());
  return up;
}

async function startImport(knowledgeBaseId, uploadId, extra = {}) {
  const { importJob } = await qc.send(
    new StartImportJobCommand({ knowledgeBaseId, uploadId, importJobType: "QUICK_RESPONSES", ...extra }),
  );
  return importJob;
}

async function waitForJob(knowledgeBaseId, importJobId, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { importJob } = await qc.send(new GetImportJobCommand({ knowledgeBaseId, importJobId }));
    if (FINAL.has(importJob.status)) return importJob;
    assert.ok(Date.now() < deadline, `job ${importJobId} still ${importJob.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function download(url) {
  const reply = await fetch(url);
  assert.equal(reply.status, 200);
  return Buffer.from(await reply.arrayBuffer());
}

// Resolves to the error the SDK threw, after checking it is the modeled exception class.
async function rejectsWith(promise, ExceptionClass, status) {
  const error = await promise.then(
    () => assert.fail(`expected ${ExceptionClass.name}, the call succeeded`),
    (caught) => caught,
  );
  assert.ok(error instanceof ExceptionClass, `expected ${ExceptionClass.name}, got ${error?.name}: ${error}`);
  assert.ok(error instanceof QConnectServiceException);
  assert.equal(error.name, ExceptionClass.name);
  assert.equal(error.$fault, "client");
  assert.equal(error.$metadata.httpStatusCode, status);
  assert.ok(error.message.length > 0, "the error carries a message");
  return error;
}

function assertDates(item, ...members) {
  for (const member of members) {
    assert.ok(item[member] instanceof Date, `${member} is a Date, got ${typeof item[member]}`);
    assert.ok(!Number.isNaN(item[member].getTime()), `${member} is a valid Date`);
  }
}

test("the whole import flow: upload, import, poll, download, list, delete, list and search", async () => {
  const kb = await quickResponseKb("js-flow");
  const kbId = kb.knowledgeBaseId;

  const up = await qc.send(new StartContentUploadCommand({ knowledgeBaseId: kbId, contentType: "text/csv" }));
  assertDates(up, "urlExpiry");
  assert.ok(up.urlExpiry > new Date(), "the upload link is not yet expired");
  assert.deepEqual(Object.keys(up.headersToInclude).sort(), ["content-type", "x-amz-server-side-encryption"]);
  const put = await fetch(up.url, { method: "PUT", headers: up.headersToInclude, body: CSV });
  assert.equal(put.status, 200, await put.text());

  const started = await startImport(kbId, up.uploadId, { metadata: { origin: "js" } });
  assert.equal(started.status, "START_IN_PROGRESS");
  assert.equal(started.knowledgeBaseArn, kb.knowledgeBaseArn);
  assert.equal(started.uploadId, up.uploadId);
  assertDates(started, "createdTime", "lastModifiedTime");

  const job = await waitForJob(kbId, started.importJobId);
  assert.equal(job.status, "COMPLETE");
  assert.deepEqual(job.metadata, { origin: "js" });
  assertDates(job, "createdTime", "lastModifiedTime", "urlExpiry");
  assert.ok(job.createdTime <= job.lastModifiedTime);

  assert.equal((await download(job.url)).toString("utf8"), CSV);
  const report = await download(job.failedRecordReport);
  assert.deepEqual([...report.subarray(0, 3)], [0xef, 0xbb, 0xbf], "the report starts with a UTF-8 BOM");
  const lines = report.subarray(3).toString("utf8").trimEnd().split("\r\n");
  assert.equal(lines.length, 2, report.toString("utf8"));
  assert.match(lines[0], /^Line,Name,Content,Shortcut key,Language,Channels,Errors$/);
  assert.match(lines[1], /^3,bad language,Text,bl,xx_XX,Chat,.*Language/);

  // A second and third job, so ListImportJobs has pages to follow (newest first).
  const more = [];
  for (const name of ["second", "third"]) {
    const next = await upload(kbId, `Name,Content\n${name},text\n`);
    more.push((await waitForJob(kbId, (await startImport(kbId, next.uploadId)).importJobId)).importJobId);
  }
  const listed = [];
  let nextToken;
  let pages = 0;
  do {
    const page = await qc.send(new ListImportJobsCommand({ knowledgeBaseId: kbId, maxResults: 1, nextToken }));
    pages += 1;
    assert.ok(page.importJobSummaries.length <= 1);
    for (const summary of page.importJobSummaries) {
      assertDates(summary, "createdTime", "lastModifiedTime");
      assert.equal(summary.url, undefined, "summaries carry no links");
      listed.push(summary.importJobId);
    }
    nextToken = page.nextToken;
    assert.ok(pages <= 4, "pagination ends");
  } while (nextToken);
  assert.deepEqual(listed, [...more].reverse().concat(job.importJobId));

  await qc.send(new DeleteImportJobCommand({ knowledgeBaseId: kbId, importJobId: more[0] }));
  const deleted = await waitForJob(kbId, more[0]);
  assert.equal(deleted.status, "DELETED");

  const names = [];
  for await (const page of paginateListQuickResponses({ client: qc, pageSize: 2 }, { knowledgeBaseId: kbId })) {
    for (const summary of page.quickResponseSummaries) {
      assertDates(summary, "createdTime", "lastModifiedTime");
      names.push(summary.name);
    }
  }
  assert.deepEqual(names.sort(), ["hello", "refund", "second", "third"]);
  const { quickResponseSummaries } = await qc.send(
    new ListQuickResponsesCommand({ knowledgeBaseId: kb.knowledgeBaseArn, maxResults: 10 }),
  );
  assert.equal(quickResponseSummaries.length, 4);

  const { results } = await qc.send(
    new SearchQuickResponsesCommand({
      knowledgeBaseId: kbId,
      searchExpression: { queries: [{ name: "content", values: ["refunds"], operator: "CONTAINS" }] },
    }),
  );
  assert.deepEqual(
    results.map((result) => [result.name, result.shortcutKey, result.contents.plainText.content]),
    [["refund", "refund", "Refunds take 14 days"]],
  );
  assert.deepEqual(results[0].channels, ["Chat", "Email"]);
  assertDates(results[0], "createdTime", "lastModifiedTime");
});

test("unknown knowledge bases and jobs are ResourceNotFoundException", async () => {
  const kb = await quickResponseKb("js-not-found");
  const missingKb = await rejectsWith(
    qc.send(new StartContentUploadCommand({ knowledgeBaseId: MISSING, contentType: "text/csv" })),
    ResourceNotFoundException,
    404,
  );
  assert.equal(missingKb.resourceName, MISSING);
  await rejectsWith(
    qc.send(new GetImportJobCommand({ knowledgeBaseId: kb.knowledgeBaseId, importJobId: MISSING })),
    ResourceNotFoundException,
    404,
  );
  await rejectsWith(
    qc.send(new DeleteImportJobCommand({ knowledgeBaseId: kb.knowledgeBaseId, importJobId: MISSING })),
    ResourceNotFoundException,
    404,
  );
  await rejectsWith(
    qc.send(new SearchQuickResponsesCommand({ knowledgeBaseId: MISSING, searchExpression: {} })),
    ResourceNotFoundException,
    404,
  );
});

test("bad input is ValidationException, checked by the server", async () => {
  const kb = await quickResponseKb("js-validation");
  const kbId = kb.knowledgeBaseId;
  const neverPut = await qc.send(new StartContentUploadCommand({ knowledgeBaseId: kbId, contentType: "text/csv" }));

  const noFile = await rejectsWith(startImport(kbId, neverPut.uploadId), ValidationException, 400);
  assert.match(noFile.message, /no file yet/);
  await rejectsWith(startImport(kbId, "no-such-upload"), ValidationException, 400);
  await rejectsWith(
    qc.send(new StartContentUploadCommand({ knowledgeBaseId: kbId, contentType: "text/plain" })),
    ValidationException,
    400,
  );
  // The JavaScript SDK checks no constraints itself: these reach the server as written.
  await rejectsWith(
    qc.send(new ListImportJobsCommand({ knowledgeBaseId: kbId, maxResults: 0 })),
    ValidationException,
    400,
  );
  await rejectsWith(
    qc.send(new ListImportJobsCommand({ knowledgeBaseId: kbId, nextToken: "not-a-token" })),
    ValidationException,
    400,
  );
  await rejectsWith(
    qc.send(new GetImportJobCommand({ knowledgeBaseId: kbId, importJobId: "not-a-uuid" })),
    ValidationException,
    400,
  );
});

test("conflicts are ConflictException: a job still starting, a reused client token", async () => {
  const kb = await quickResponseKb("js-conflict");
  const kbId = kb.knowledgeBaseId;
  const up = await upload(kbId, "Name,Content\nheld,text\n");

  await control("transitions", { hold: { status: "START_IN_PROGRESS" } });
  let job;
  try {
    job = await startImport(kbId, up.uploadId, { clientToken: "js-token-1" });
    const held = await qc.send(new GetImportJobCommand({ knowledgeBaseId: kbId, importJobId: job.importJobId }));
    assert.equal(held.importJob.status, "START_IN_PROGRESS");
    await rejectsWith(
      qc.send(new DeleteImportJobCommand({ knowledgeBaseId: kbId, importJobId: job.importJobId })),
      ConflictException,
      409,
    );
  } finally {
    await control("transitions", { release: true });
  }

  const again = await startImport(kbId, up.uploadId, { clientToken: "js-token-1" });
  assert.equal(again.importJobId, job.importJobId, "the same client token names the same job");
  await rejectsWith(
    startImport(kbId, up.uploadId, { clientToken: "js-token-1", metadata: { changed: "yes" } }),
    ConflictException,
    409,
  );

  assert.equal((await waitForJob(kbId, job.importJobId)).status, "COMPLETE");
  await qc.send(new DeleteImportJobCommand({ knowledgeBaseId: kbId, importJobId: job.importJobId }));
});
