/** `certificates list -f FORMAT`: the machine-readable records and the choice of format. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import {
  CERTIFICATE_FORMATS,
  checkCertificateFormat,
  formatCertificates,
} from "../../src/cli/format/certificates.js";
import type { CertificateStatus } from "../../src/pki/store.js";

const NOW = Date.parse("2026-11-30T00:00:00Z");
const DAY = 86_400_000;

const LIST: CertificateStatus[] = [
  {
    name: "ca",
    title: "OVN CA",
    cert: {
      path: "/p/cacert.pem",
      present: true,
      notAfter: new Date("2036-01-02T00:00:00Z"),
      subject: "CN=MicroOVN CA",
      issuer: "CN=MicroOVN CA",
      sans: [],
      fingerprint: "ab".repeat(32),
    },
  },
  {
    name: "ovnnb",
    title: "OVN Northbound Service",
    cert: {
      path: "/p/ovnnb-cert.pem",
      present: true,
      notAfter: new Date(NOW + 3 * DAY),
      subject: "CN=m1",
      issuer: "CN=MicroOVN CA",
      sans: ["DNS:m1", "IP:198.18.0.1"],
      fingerprint: "cd".repeat(32),
    },
    key: { path: "/p/ovnnb-privkey.pem", present: true },
  },
  {
    name: "ovnsb",
    title: "OVN Southbound Service",
    cert: { path: "/p/ovnsb-cert.pem", present: true, notAfter: new Date(NOW + 300 * DAY) },
    key: { path: "/p/ovnsb-privkey.pem", present: false },
  },
  {
    name: "client",
    title: "Client",
    cert: { path: "/p/client-cert.pem", present: true, problem: "not PEM" },
    key: { path: "/p/client-privkey.pem", present: true },
  },
  {
    name: "ovn-northd",
    title: "OVN Northd Service",
    cert: { path: "/p/ovn-northd-cert.pem", present: true, notAfter: new Date(NOW - DAY) },
    key: { path: "/p/ovn-northd-privkey.pem", present: true },
  },
];

describe("certificates list -f", () => {
  it("json: one record per certificate, every field there, in a stable shape", () => {
    const records = JSON.parse(formatCertificates(LIST, "json", { now: NOW })) as Record<
      string,
      unknown
    >[];
    assert.deepEqual(records[1], {
      service: "ovnnb",
      title: "OVN Northbound Service",
      status: "expiring",
      certificate: { path: "/p/ovnnb-cert.pem", present: true },
      key: { path: "/p/ovnnb-privkey.pem", present: true },
      expiry: new Date(NOW + 3 * DAY).toISOString(),
      expirySeconds: (NOW + 3 * DAY) / 1000,
      subject: "CN=m1",
      issuer: "CN=MicroOVN CA",
      sans: ["DNS:m1", "IP:198.18.0.1"],
      fingerprint: "cd".repeat(32),
      problem: null,
    });
    assert.deepEqual(
      records.map((r) => [r.service, r.status]),
      [
        ["ca", "ok"],
        ["ovnnb", "expiring"],
        ["ovnsb", "missing"],
        ["client", "unreadable"],
        ["ovn-northd", "expired"],
      ],
    );
    assert.equal(records[0]!.key, null);
    assert.deepEqual(Object.keys(records[3]!), Object.keys(records[1]));
  });

  it("takes the expiry as the control API sends it (an ISO string)", () => {
    const overTheWire = JSON.parse(JSON.stringify(LIST)) as CertificateStatus[];
    assert.equal(
      formatCertificates(overTheWire, "json", { now: NOW }),
      formatCertificates(LIST, "json", { now: NOW }),
    );
  });

  it("yaml holds the same records; table and csv show the columns", () => {
    assert.deepEqual(
      parseYaml(formatCertificates(LIST, "yaml", { now: NOW })),
      JSON.parse(formatCertificates(LIST, "json", { now: NOW })),
    );
    const csv = formatCertificates(LIST, "csv", { now: NOW }).split("\n");
    assert.equal(csv[0], "SERVICE,STATUS,EXPIRY,SUBJECT,PATH");
    assert.equal(csv[3], "ovnsb,missing,2027-09-26T00:00:00.000Z,,/p/ovnsb-cert.pem");
  });

  it("text is MicroOVN's layout, and the default", () => {
    assert.equal(formatCertificates(LIST), formatCertificates(LIST, "text"));
    assert.match(
      formatCertificates(LIST),
      /^\[OVN CA\]\n\/p\/cacert\.pem \(OK: Present; expires 2036-01-02\)\n\n/,
    );
  });

  it("refuses another format, naming the ones there are", () => {
    for (const f of CERTIFICATE_FORMATS) assert.equal(checkCertificateFormat(f), f);
    assert.throws(
      () => checkCertificateFormat("xml"),
      (e: Error & { code?: string }) =>
        e.code === "BAD_FORMAT" &&
        /"xml" is not an output format of certificates list; choose one of text, table, compact, json, yaml, csv/.test(
          e.message,
        ),
    );
  });
});
