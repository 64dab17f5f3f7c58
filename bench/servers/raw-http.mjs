// The raw ceiling: a bare node:http server that reads the request body and answers a fixed,
// token-shaped JSON body (same headers and size as a Portcullis token response). No routing, no
// parsing, no crypto: what one Node process can answer on this machine.
import http from "node:http";

const port = Number(process.env.PORT);
const tokenLength = Number(process.env.TOKEN_LENGTH ?? 300);
const token = Buffer.alloc(Math.ceil((tokenLength * 3) / 4), 7).toString("base64url").slice(0, tokenLength);
const body = JSON.stringify({ access_token: token, token_type: "Bearer", expires_in: 43200 });

// Diagnostics only: burn this many µs of CPU per request before answering (a server as slow as the
// one under test, without its code), to see what the rest of the request costs at that rate.
const burnUs = Number(process.env.BURN_US ?? 0);
const burn = () => {
  const end = performance.now() + burnUs / 1000;
  while (performance.now() < end);
};

const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  const done = () => {
    if (burnUs) burn();
    res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store", pragma: "no-cache" });
    res.end(body);
  };
  if (req.method === "GET") return done();
  req.on("data", () => {});
  req.on("end", done);
});
server.listen(port, "127.0.0.1", () => process.stdout.write(`listening ${port} body ${body.length}\n`));
process.on("SIGTERM", () => process.exit(0));
