import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { classifyMessage, encodeRequest, encodeResponse } from "../../src/ovsdb/wire/jsonrpc.js";

describe("JSON-RPC 1.0 messages", () => {
  it("classifies requests, notifications and responses", () => {
    assert.deepEqual(classifyMessage({ method: "echo", params: ["x"], id: "e1" }), {
      kind: "request",
      method: "echo",
      params: ["x"],
      id: "e1",
    });
    assert.deepEqual(classifyMessage({ method: "update2", params: ["m", {}], id: null }), {
      kind: "notification",
      method: "update2",
      params: ["m", {}],
    });
    assert.deepEqual(classifyMessage({ id: 3, result: [], error: null }), {
      kind: "response",
      id: 3,
      result: [],
      error: null,
    });
    assert.deepEqual(classifyMessage({ id: 4, result: null, error: { error: "unknown method" } }), {
      kind: "response",
      id: 4,
      result: null,
      error: { error: "unknown method" },
    });
  });

  it("rejects values that are not JSON-RPC", () => {
    assert.throws(() => classifyMessage([1, 2]), /not a JSON-RPC object/);
    assert.throws(() => classifyMessage({ hello: 1 }), /neither request nor response/);
    assert.throws(() => classifyMessage({ result: 1, error: null, id: { x: 1 } }), /unusable id/);
  });

  it("encodes requests and responses that classify back", () => {
    const req = JSON.parse(
      encodeRequest("transact", ["DB", { op: "comment", comment: "x" }], 9),
    ) as unknown;
    assert.deepEqual(classifyMessage(req), {
      kind: "request",
      method: "transact",
      params: ["DB", { op: "comment", comment: "x" }],
      id: 9,
    });
    assert.deepEqual(JSON.parse(encodeResponse("e", ["p"])), {
      id: "e",
      result: ["p"],
      error: null,
    });
  });
});
