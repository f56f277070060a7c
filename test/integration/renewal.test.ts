/**
 * The daemon's daily certificate check: what expires within 10 days (or is
 * missing) is issued again from the CA; the rest is left alone.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { MemberRuntime } from "../../src/runtime/member-runtime.js";
import { StateDir } from "../../src/member/state-dir.js";
import {
  certificateServices,
  issueCertificates,
  renewDueCertificates,
} from "../../src/lifecycle/certificates.js";
import { defaultChassisSettings } from "../../src/member/config.js";
import { createCa, inspectCertificate } from "../../src/pki/x509.js";
import { makeTempDir, removeDir } from "../helpers/tmp.js";

const DAY_MS = 24 * 60 * 60 * 1000;

describe("certificate renewal", () => {
  let dir: string;
  let rt: MemberRuntime;

  before(async () => {
    dir = await makeTempDir("renew");
    rt = new MemberRuntime(new StateDir(dir));
    rt.config = {
      name: "r1",
      address: "127.0.0.1",
      services: ["central", "switch", "chassis"],
      chassis: defaultChassisSettings(),
      createdAt: new Date().toISOString(),
    };
    await rt.pki.writeCa(await createCa());
    await issueCertificates(rt, certificateServices(rt.config.services));
  });

  after(async () => {
    await removeDir(dir);
  });

  const serial = async (service: "ovnnb" | "client") =>
    (await inspectCertificate((await rt.pki.readCert(rt.pki.certPath(service)))!)).serial;

  it("renews nothing while every certificate has long to live", async () => {
    assert.deepEqual(await renewDueCertificates(rt), []);
  });

  it("renews what is missing", async () => {
    const before = await serial("ovnnb");
    await rm(rt.pki.certPath("client"));
    assert.deepEqual(await renewDueCertificates(rt), ["client"]);
    assert.equal(await serial("ovnnb"), before);
  });

  it("renews everything that expires within 10 days", async () => {
    const before = await serial("ovnnb");
    const nearExpiry = new Date(Date.now() + 725 * DAY_MS);
    const renewed = await renewDueCertificates(rt, 10, nearExpiry);
    assert.deepEqual(renewed.sort(), certificateServices(rt.config!.services).sort());
    assert.notEqual(await serial("ovnnb"), before);
  });
});
