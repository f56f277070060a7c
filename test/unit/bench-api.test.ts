/**
 * The pure parts of `npm run bench:api`'s fip_ready_s step: which step
 * `--only` picks (a wrong one refused before anything is built or made),
 * and the echo replies read out of `ping -D -O` output.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { onlyStep } from "../../bench/lib/api-options.js";
import { replyTimes } from "../../bench/lib/fip-ready.js";
import { MicroOvnError } from "../../src/errors.js";

describe("bench:api --only", () => {
  it("runs every step without it, and the one named with it", () => {
    assert.equal(onlyStep([]), undefined);
    assert.equal(onlyStep(["--no-build"]), undefined);
    assert.equal(onlyStep(["--no-build", "--only", "fip-ready"]), "fip-ready");
  });

  it("refuses a step it does not know, or none, saying which it knows", () => {
    for (const [args, named] of [
      [["--only", "ports"], "not ports"],
      [["--only"], "not nothing"],
    ] as const) {
      assert.throws(
        () => onlyStep(args),
        (e: unknown) =>
          e instanceof MicroOvnError &&
          e.code === "BAD_BENCH_OPTION" &&
          e.message.includes("one of fip-ready") &&
          e.message.includes(named) &&
          e.message.includes("leave it out to run every step"),
      );
    }
  });
});

describe("echo replies in ping -D -O output", () => {
  const FIP = "203.0.113.20";

  it("gives the arrival of each reply from the address, in order, and nothing else", () => {
    const text = [
      `PING ${FIP} (${FIP}) 56(84) bytes of data.`,
      "[1796004799.100000] no answer yet for icmp_seq=1",
      "[1796004799.110000] From 203.0.113.1 icmp_seq=2 Destination Host Unreachable",
      `[1796004799.125001] 64 bytes from ${FIP}: icmp_seq=3 ttl=63 time=4.10 ms`,
      "[1796004799.130000] 64 bytes from 203.0.113.99: icmp_seq=4 ttl=63 time=0.5 ms",
      `[1796004799.135002] 64 bytes from ${FIP}: icmp_seq=4 ttl=63 time=0.90 ms`,
      "",
    ].join("\n");
    assert.deepEqual(replyTimes(text, FIP), [1796004799.125001, 1796004799.135002]);
  });

  it("finds none while only requests went unanswered", () => {
    const text = `PING ${FIP} (${FIP}) 56(84) bytes of data.\n[1796004799.1] no answer yet for icmp_seq=1\n`;
    assert.deepEqual(replyTimes(text, FIP), []);
  });
});
