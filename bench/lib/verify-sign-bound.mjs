// The token-exchange bound: what one core does when each exchange only verifies the subject token's
// signature (RS256 or ES256, `verifyAlg`, key held in memory as a KeyObject) and signs the issued
// token with RS256 (2048-bit) over the same claims as a Portcullis JWT access token. No parsing of
// HTTP, no claim checks beyond decoding the payload: the reference of "token exchange ≥ 60 % of its
// verify-and-sign bound".
import { createSign, createVerify, generateKeyPairSync } from "node:crypto";
import { performance } from "node:perf_hooks";

const b64url = (s) => Buffer.from(s).toString("base64url");

process.on("message", ({ claims, kid, seconds, warmup, verifyAlg = "RS256" }) => {
  const signer = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  const issuer = verifyAlg === "ES256" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("rsa", { modulusLength: 2048 });
  const sigOpts = (key) => (verifyAlg === "ES256" ? { key, dsaEncoding: "ieee-p1363" } : key);
  // A subject token as a workload's identity provider would issue it.
  const subjectInput = `${b64url(JSON.stringify({ alg: verifyAlg, kid: "idp", typ: "JWT" }))}.${b64url(JSON.stringify({ iss: "https://idp.example", sub: "system:serviceaccount:ns:sa", aud: "portcullis", exp: 4102444800, iat: 1700000000 }))}`;
  const subjectSig = createSign("SHA256").update(subjectInput).sign(sigOpts(issuer.privateKey));
  const subject = `${subjectInput}.${subjectSig.toString("base64url")}`;
  const header = b64url(JSON.stringify({ alg: "RS256", kid, typ: "at+jwt" }));
  let jti = BigInt(claims.jti ?? "900000000000000000");
  const once = () => {
    const dot = subject.lastIndexOf(".");
    const ok = createVerify("SHA256").update(subject.slice(0, dot)).verify(sigOpts(issuer.publicKey), Buffer.from(subject.slice(dot + 1), "base64url"));
    if (!ok) throw new Error("subject token did not verify");
    const sub = JSON.parse(Buffer.from(subject.slice(subject.indexOf(".") + 1, dot), "base64url")).sub;
    const input = `${header}.${b64url(JSON.stringify({ ...claims, sub, jti: String(++jti) }))}`;
    return `${input}.${createSign("RSA-SHA256").update(input).sign(signer).toString("base64url")}`.length;
  };
  const loop = (ms) => {
    const end = performance.now() + ms;
    let n = 0;
    while (performance.now() < end) {
      once();
      n++;
    }
    return n;
  };
  loop(warmup * 1000);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const n = loop(seconds * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  process.send({ type: "result", result: { exchanges: n, elapsed, perSecond: n / elapsed, verifyAlg, cpuCores: (cpu.user + cpu.system) / 1e6 / elapsed } });
});
