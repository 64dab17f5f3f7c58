// Stale-accept check (child process). For each round:
//   1. GenerateMachineSecret on the writer instance; get an access token for it from the reader.
//   2. Load the reader with 50 keep-alive connections: half ask for tokens with the secret
//      (client_secret_basic), half call /oidc/v1/userinfo with the access token the secret obtained.
//   3. Halfway through, RemoveMachineSecret on the writer; note when it was sent and when it answered.
//   4. Count 200s for requests that STARTED after the removal answered: stale accepts, must be 0.
// Every timestamp comes from this process's monotonic clock (performance.now()), taken before the
// request is written, so "started after" is conservative.
import http from "node:http";
import { performance } from "node:perf_hooks";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function request(agent, base, { method, path, headers, body }) {
  return new Promise((resolve) => {
    const req = http.request(base + path, { method, agent, headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      res.on("error", () => resolve({ status: 0, body: "" }));
    });
    req.on("error", () => resolve({ status: 0, body: "" }));
    req.end(body);
  });
}

const basic = (id, secret) => "Basic " + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64");

process.on("message", async (spec) => {
  try {
    const { writer, reader, pat, userId, rounds, roundSeconds, connections, tokenBody } = spec;
    const admin = new http.Agent({ keepAlive: true, maxSockets: 2 });
    const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
    const rest = (method, path) => request(admin, writer, { method, path, headers: { authorization: `Bearer ${pat}`, "content-type": "application/json" }, body: method === "PUT" ? "{}" : undefined });
    const out = [];
    for (let round = 0; round < rounds; round++) {
      const gen = await rest("PUT", `/management/v1/users/${userId}/secret`);
      if (gen.status !== 200) throw new Error(`generate secret → ${gen.status} ${gen.body}`);
      const { clientId, clientSecret } = JSON.parse(gen.body);
      const tokenReq = {
        method: "POST",
        path: "/oauth/v2/token",
        headers: { authorization: basic(clientId, clientSecret), "content-type": "application/x-www-form-urlencoded" },
        body: tokenBody,
      };
      const first = await request(agent, reader, tokenReq);
      if (first.status !== 200) throw new Error(`token on the reader right after generate → ${first.status} ${first.body}`);
      const accessToken = JSON.parse(first.body).access_token;
      const userinfoReq = { method: "GET", path: "/oidc/v1/userinfo", headers: { authorization: `Bearer ${accessToken}` } };

      const records = { token: [], userinfo: [] };
      let stop = false;
      const worker = async (kind, req) => {
        while (!stop) {
          const t0 = performance.now();
          const r = await request(agent, reader, req);
          records[kind].push([t0, r.status]);
        }
      };
      const workers = Array.from({ length: connections }, (_, i) => (i % 2 === 0 ? worker("token", tokenReq) : worker("userinfo", userinfoReq)));
      await sleep((roundSeconds * 1000) / 2);
      const sent = performance.now();
      const del = await rest("DELETE", `/management/v1/users/${userId}/secret`);
      const answered = performance.now();
      if (del.status !== 200) throw new Error(`remove secret → ${del.status} ${del.body}`);
      await sleep((roundSeconds * 1000) / 2);
      stop = true;
      await Promise.all(workers);

      const tally = (recs) => {
        const t = { okBefore: 0, okDuringRemoval: 0, staleAccepts: 0, refusedAfter: 0, otherAfter: 0, requests: recs.length };
        for (const [t0, s] of recs) {
          if (t0 < sent) {
            if (s === 200) t.okBefore++;
          } else if (t0 <= answered) {
            if (s === 200) t.okDuringRemoval++;
          } else if (s === 200) t.staleAccepts++;
          else if (s === 400 || s === 401) t.refusedAfter++;
          else t.otherAfter++;
        }
        return t;
      };
      // After the round: a fresh request on each instance must be refused as well.
      const after = [];
      for (const base of new Set([writer, reader])) after.push((await request(agent, base, tokenReq)).status);
      out.push({ round, removalMs: answered - sent, token: tally(records.token), userinfo: tally(records.userinfo), freshAfterStatuses: after });
    }
    agent.destroy();
    admin.destroy();
    const sum = (k, f) => out.reduce((a, r) => a + r[k][f], 0);
    process.send({
      type: "result",
      result: {
        rounds: out,
        staleAccepts: sum("token", "staleAccepts") + sum("userinfo", "staleAccepts"),
        okBefore: sum("token", "okBefore") + sum("userinfo", "okBefore"),
        refusedAfter: sum("token", "refusedAfter") + sum("userinfo", "refusedAfter"),
        freshAfterAccepted: out.flatMap((r) => r.freshAfterStatuses).filter((s) => s === 200).length,
      },
    });
  } catch (e) {
    process.send({ type: "error", error: String(e?.stack ?? e) });
  }
});
