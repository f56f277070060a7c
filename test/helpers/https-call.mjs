// One HTTPS request for the call-*.mjs scripts, which tests run inside a
// network namespace: resolves with the status, headers, body text and the
// server's certificate, or with {error, code} when no answer came.
import { request } from "node:https";

export function httpsCall(options, body) {
  return new Promise((resolve) => {
    const req = request({ agent: false, ...options }, (res) => {
      const peer = res.socket.getPeerCertificate();
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode,
          headers: res.headers,
          text: Buffer.concat(chunks).toString("utf8"),
          peer: { subjectaltname: peer.subjectaltname, fingerprint256: peer.fingerprint256 },
        }),
      );
    });
    req.on("error", (e) => resolve({ error: e.message, code: e.code }));
    req.end(body);
  });
}
