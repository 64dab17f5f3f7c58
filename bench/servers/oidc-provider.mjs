// The Node peer: oidc-provider (devDependency) with its default in-memory adapter, issuing
// client_credentials tokens in its default (opaque) format to a client_secret_basic client.
import http from "node:http";
import { generateKeyPairSync } from "node:crypto";
import Provider from "oidc-provider";

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      grant_types: ["client_credentials"],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: "client_secret_basic",
      scope: "api",
    },
  ],
  scopes: ["api"],
  // Portcullis's lifetime, so both issue the same kind of artefact.
  ttl: { ClientCredentials: 43200 },
  features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
  jwks: { keys: [{ ...privateKey.export({ format: "jwk" }), kid: "bench", alg: "RS256", use: "sig" }] },
  cookies: { keys: ["portcullis-bench-cookie-key"] },
});
// oidc-provider logs every server_error through its own event; keep the bench output quiet.
provider.on("server_error", (ctx, err) => process.stderr.write(`server_error ${err?.message}\n`));

const server = http.createServer({ keepAliveTimeout: 65_000 }, provider.callback());
server.listen(port, "127.0.0.1", () => process.stdout.write(`listening ${port}\n`));
process.on("SIGTERM", () => process.exit(0));
