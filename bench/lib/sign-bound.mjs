// The signing bound: a pure node:crypto RS256 signing loop (2048-bit key) over the same header and
// claims a Portcullis JWT access token carries (a fresh jti per signature, as a token endpoint would),
// encoded exactly as src/crypto/jwt.ts does. Runs on one core; the orchestrator runs one or more of
// these processes at once.
import { createSign, generateKeyPairSync } from "node:crypto";
import { performance } from "node:perf_hooks";

const b64url = (s) => Buffer.from(s).toString("base64url");

process.on("message", ({ claims, kid, seconds, warmup }) => {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const header = b64url(JSON.stringify({ alg: "RS256", kid, typ: "at+jwt" }));
  let jti = BigInt(claims.jti ?? "900000000000000000");
  const sign = () => {
    const c = { ...claims, jti: String(++jti) };
    const input = `${header}.${b64url(JSON.stringify(c))}`;
    const sig = createSign("RSA-SHA256").update(input).sign(privateKey);
    return `${input}.${sig.toString("base64url")}`;
  };
  const loop = (ms) => {
    const end = performance.now() + ms;
    let n = 0;
    let len = 0;
    while (performance.now() < end) {
      len = sign().length;
      n++;
    }
    return { n, len };
  };
  loop(warmup * 1000);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const { n, len } = loop(seconds * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  process.send({ type: "result", result: { signatures: n, elapsed, perSecond: n / elapsed, tokenLength: len, cpuCores: (cpu.user + cpu.system) / 1e6 / elapsed } });
});
