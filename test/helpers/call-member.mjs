// Calls a member API from inside a network namespace (tests run it with
// `ip netns exec`): node call-member.mjs HOST PORT METHOD PATH [KEY CERT].
// Prints {"status": N, "body": {...}} or {"error": "..."}; never checks the
// server's certificate (the tests are about what the server lets through).
import { readFileSync } from "node:fs";
import { request } from "node:https";

const [host, port, method, path, key, cert] = process.argv.slice(2);
const req = request(
  {
    host,
    port: Number(port),
    method,
    path,
    rejectUnauthorized: false,
    agent: false,
    ...(key && cert ? { key: readFileSync(key), cert: readFileSync(cert) } : {}),
  },
  (res) => {
    const chunks = [];
    res.on("data", (c) => chunks.push(c));
    res.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      process.stdout.write(
        JSON.stringify({ status: res.statusCode, body: JSON.parse(text || "{}") }),
      );
    });
  },
);
req.on("error", (e) => process.stdout.write(JSON.stringify({ error: e.message })));
req.end();
