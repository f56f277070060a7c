import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FramingError, JsonStreamSplitter } from "../../src/ovsdb/wire/framing.js";

function feedInPieces(text: string, sizes: number[]): unknown[] {
  const bytes = Buffer.from(text, "utf8");
  const splitter = new JsonStreamSplitter();
  const out: unknown[] = [];
  let at = 0;
  let k = 0;
  while (at < bytes.length) {
    const n = sizes[k++ % sizes.length]!;
    out.push(...splitter.push(bytes.subarray(at, at + n)));
    at += n;
  }
  assert.equal(splitter.pendingBytes, 0);
  return out;
}

const messages = [
  {
    id: 1,
    result: [{ rows: [{ name: "sw0", external_ids: ["map", [["k", "v}]"]]] }] }],
    error: null,
  },
  { id: null, method: "update2", params: ["m", { T: { u: { modify: { s: 'a"b\\' } } } }] },
  { method: "echo", params: [], id: "echo" },
  { id: 2, result: ['héllo wörld ✓ 🚀 \u0000 \\\\"', "{[", "]}"], error: null },
];
const stream = messages.map((m) => JSON.stringify(m)).join("\n ");

describe("JsonStreamSplitter", () => {
  it("splits concatenated values fed whole", () => {
    assert.deepEqual(feedInPieces(stream, [stream.length * 4]), messages);
  });

  it("splits values fed one byte at a time, across multi-byte UTF-8 characters", () => {
    assert.deepEqual(feedInPieces(stream, [1]), messages);
  });

  it("gives the same result for every chunk size", () => {
    for (const sizes of [[2], [3], [5, 1, 7], [13], [64]]) {
      assert.deepEqual(feedInPieces(stream, sizes), messages, `chunk sizes ${sizes.join(",")}`);
    }
  });

  it("handles a backslash run that straddles a chunk boundary", () => {
    const value = { id: 7, result: ['\\\\\\"x'], error: null }; // backslashes then an escaped quote
    const text = JSON.stringify(value);
    for (let cut = 1; cut < text.length; cut++) {
      const s = new JsonStreamSplitter();
      const got = [
        ...s.push(Buffer.from(text.slice(0, cut))),
        ...s.push(Buffer.from(text.slice(cut))),
      ];
      assert.deepEqual(got, [value], `cut at ${cut}`);
    }
  });

  it("allows whitespace between values and holds an unfinished one", () => {
    const s = new JsonStreamSplitter();
    assert.deepEqual(s.push(Buffer.from('  \r\n\t{"a":[1,')), []);
    assert.ok(s.pendingBytes > 0);
    assert.deepEqual(s.push(Buffer.from('2]}{"b":')), [{ a: [1, 2] }]);
    assert.deepEqual(s.push(Buffer.from("3}")), [{ b: 3 }]);
  });

  it("rejects bytes that cannot start a message", () => {
    const s = new JsonStreamSplitter();
    assert.throws(() => s.push(Buffer.from("hello")), FramingError);
  });

  it("keeps the values that came whole before bad bytes in the same chunk", () => {
    const s = new JsonStreamSplitter();
    assert.throws(
      () => s.push(Buffer.from('{"id":1,"result":[],"error":null} HTTP/1.1')),
      (e: FramingError) => {
        assert.deepEqual(e.parsedBefore, [{ id: 1, result: [], error: null }]);
        return true;
      },
    );
  });

  it("rejects a structurally closed but invalid value", () => {
    const s = new JsonStreamSplitter();
    assert.throws(
      () => s.push(Buffer.from('{"a" 1}')),
      (e: FramingError) => e.code === "OVSDB_PROTOCOL",
    );
  });

  it("refuses a message over the size limit while it is still arriving", () => {
    const s = new JsonStreamSplitter({ maxMessageBytes: 1000 });
    s.push(Buffer.from('{"x":"'));
    assert.throws(() => s.push(Buffer.alloc(2000, 0x61)), /exceeds 1000 bytes/);
  });

  it("refuses a complete message over the size limit", () => {
    const s = new JsonStreamSplitter({ maxMessageBytes: 10 });
    assert.throws(() => s.push(Buffer.from('{"x":"0123456789"}')), /exceeds 10 bytes/);
  });
});
