// Workload identity federation, the organization's page (#/federation, its own chunk): trust
// policies (an external issuer, its keys, audiences, algorithms) — listed, viewed, added from a
// preset (Kubernetes, GitHub Actions, GitLab CI, SPIFFE) or by hand, removed after confirmation.
import { useMemo, useState } from "preact/hooks";
import { createClient, type Client } from "@connectrpc/connect";
import { FederationService } from "../../src/api/proto/portcullis/v1/federation_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { TrustPolicy, TrustPolicySettingsSchema } from "../../src/api/proto/portcullis/v1/federation_policy_pb.js";
import type { AddTrustPolicyFromPresetRequest, AddTrustPolicyFromPresetRequestSchema } from "../../src/api/proto/portcullis/v1/federation_preset_pb.js";
import type { Api } from "./api.js";
import { ConfirmButton, ErrorBox, useAction, useLoad } from "./ui.js";

export type FederationClient = Client<typeof FederationService>;
export const useFederation = (api: Api): FederationClient => useMemo(() => createClient(FederationService, api.transport), [api]);

const ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

type PresetInit = MessageInitShape<typeof AddTrustPolicyFromPresetRequestSchema>["preset"];
type PresetCase = NonNullable<AddTrustPolicyFromPresetRequest["preset"]["case"]>;
interface PresetSpec {
  label: string;
  /** [field, label, hint, required] */
  fields: [string, string, string, boolean][];
  /** Its keys may come from a URL or a pasted JWKS (GitHub's are always GitHub's). */
  keys: boolean;
}
const PRESETS: Record<PresetCase, PresetSpec> = {
  kubernetes: {
    label: "Kubernetes service accounts",
    fields: [
      ["issuer", "Cluster issuer", "https://oidc.example/cluster-1", true],
      ["namespace", "Namespace", "prod", true],
      ["serviceAccount", "Service account", "api", true],
      ["audience", "Audience", "portcullis", true],
    ],
    keys: true,
  },
  githubActions: {
    label: "GitHub Actions",
    fields: [
      ["repository", "Repository", "acme/api", true],
      ["repositoryId", "Repository id", "optional", false],
      ["ref", "Ref", "refs/heads/main (optional)", false],
      ["environment", "Environment", "optional", false],
      ["audience", "Audience", "default https://github.com/<owner>", false],
    ],
    keys: false,
  },
  gitlabCi: {
    label: "GitLab CI",
    fields: [
      ["issuer", "GitLab issuer", "https://gitlab.com (default)", false],
      ["projectPath", "Project path", "acme/api", true],
      ["ref", "Ref", "main (optional)", false],
      ["refType", "Ref type", "branch or tag (optional)", false],
      ["audience", "Audience", "portcullis", true],
    ],
    keys: true,
  },
  spiffe: {
    label: "SPIFFE JWT-SVID",
    fields: [
      ["trustDomain", "Trust domain", "example.org", true],
      ["path", "Workload path", "/ns/prod/sa/api", true],
      ["issuer", "Issuer", "https://spire.example.org", true],
      ["audience", "Audience", "portcullis", true],
    ],
    keys: true,
  },
};

const lines = (s: string) =>
  s
    .split(/[\n,]/)
    .map((x) => x.trim())
    .filter(Boolean);

export function FederationPage({ api, orgId }: { api: Api; orgId: string }) {
  const fed = useFederation(api);
  const policies = useLoad(() => fed.listTrustPolicies({}), [fed, orgId]);
  const [viewing, setViewing] = useState<string>();
  const rows = policies.data?.result ?? [];
  const shown = rows.find((p) => p.id === viewing);
  return (
    <section aria-labelledby="federation-title">
      <h1 id="federation-title">Federation</h1>
      <p>
        Trust policies let workloads trade a token from an issuer you trust (a Kubernetes cluster, GitHub Actions, GitLab CI, SPIFFE) for a token of a machine user, with no secret to
        store. Bind a machine user to a policy on its <em>Federation</em> tab.
      </p>
      <ErrorBox error={policies.error} />
      <div class="card">
        <h2>Trust policies</h2>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Policy and issuer</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((p) => (
                <tr key={p.id}>
                  <td>
                    {p.name} <code class="muted">{p.id}</code>
                    <div>
                      issuer <code>{p.issuer}</code>
                    </div>
                  </td>
                  <td>
                    <div class="cell-actions">
                    <button type="button" aria-expanded={viewing === p.id} onClick={() => setViewing(viewing === p.id ? undefined : p.id)}>
                      View<span class="sr-only"> {p.name}</span>
                    </button>{" "}
                    <ConfirmButton
                      label="Remove"
                      title={`Remove trust policy ${p.name}?`}
                      confirmLabel="Remove policy"
                      body={<p>Every binding to it goes too, and the tokens they obtained stop working at once.</p>}
                      onConfirm={() => fed.removeTrustPolicy({ policyId: p.id }).then(() => (viewing === p.id && setViewing(undefined), policies.reload()))}
                    />
                    </div>
                  </td>
                </tr>
              ))}
              {policies.data && rows.length === 0 && (
                <tr>
                  <td colSpan={2}>No trust policy yet.</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      </div>
      {shown && <PolicyDetails policy={shown} />}
      <AddPolicy fed={fed} onAdded={policies.reload} />
    </section>
  );
}

function PolicyDetails({ policy: p }: { policy: TrustPolicy }) {
  const claims = Object.entries(p.requiredClaims);
  return (
    <section class="card" aria-labelledby="policy-title">
      <h2 id="policy-title">Policy {p.name}</h2>
      <dl class="facts">
        <dt>Id</dt>
        <dd>
          <code>{p.id}</code>
        </dd>
        <dt>Issuer</dt>
        <dd>
          <code>{p.issuer}</code>
        </dd>
        <dt>Keys</dt>
        <dd>{p.jwksUri ? <code>{p.jwksUri}</code> : `uploaded JWKS (${keyCount(p.jwks)})`}</dd>
        <dt>Audiences</dt>
        <dd>{p.audiences.join(", ")}</dd>
        <dt>Algorithms</dt>
        <dd>{p.algorithms.join(", ")}</dd>
        <dt>Max token age</dt>
        <dd>{p.maxTokenAge && p.maxTokenAge.seconds > 0n ? `${p.maxTokenAge.seconds} s` : "no bound besides exp"}</dd>
        <dt>Required claims</dt>
        <dd>{claims.length ? claims.map(([k, v]) => `${k} = ${v}`).join("; ") : "none"}</dd>
        <dt>Requires jti</dt>
        <dd>{p.requireJti ? "yes" : "no"}</dd>
      </dl>
    </section>
  );
}

function keyCount(jwks: string): string {
  try {
    const n = (JSON.parse(jwks) as { keys?: unknown[] }).keys?.length ?? 0;
    return `${n} key${n === 1 ? "" : "s"}`;
  } catch {
    return "unreadable";
  }
}

/** Where an issuer's keys come from: a JWKS URL, or a JWKS pasted here (for issuers Portcullis cannot reach). */
function KeySource({ value, onChange }: { value: { mode: "url" | "jwks"; url: string; jwks: string }; onChange: (v: { mode: "url" | "jwks"; url: string; jwks: string }) => void }) {
  return (
    <fieldset>
      <legend>Issuer keys</legend>
      <label class="inline">
        <input type="radio" name="key-source" checked={value.mode === "url"} onChange={() => onChange({ ...value, mode: "url" })} /> Fetched from a URL
      </label>
      <label class="inline">
        <input type="radio" name="key-source" checked={value.mode === "jwks"} onChange={() => onChange({ ...value, mode: "jwks" })} /> Pasted here
      </label>
      {value.mode === "url" ? (
        <label>
          JWKS URL
          <input type="url" value={value.url} placeholder="https://…/jwks (optional for presets: their default)" onInput={(e) => onChange({ ...value, url: (e.target as HTMLInputElement).value })} />
        </label>
      ) : (
        <label>
          JWKS (JSON)
          <textarea rows={5} required value={value.jwks} placeholder='{"keys":[…]}' onInput={(e) => onChange({ ...value, jwks: (e.target as HTMLTextAreaElement).value })} />
        </label>
      )}
    </fieldset>
  );
}

function AddPolicy({ fed, onAdded }: { fed: FederationClient; onAdded: () => void }) {
  const [kind, setKind] = useState<PresetCase | "manual">("kubernetes");
  const [fields, setFields] = useState<Record<string, string>>({});
  const [keys, setKeys] = useState<{ mode: "url" | "jwks"; url: string; jwks: string }>({ mode: "url", url: "", jwks: "" });
  const [added, setAdded] = useState<string>();
  const action = useAction();
  const set = (k: string, v: string) => setFields((f) => ({ ...f, [k]: v }));
  const input = (k: string, label: string, hint = "", required = false) => (
    <label key={`${kind}-${k}`}>
      {label}
      <input required={required} value={fields[k] ?? ""} placeholder={hint} onInput={(e) => set(k, (e.target as HTMLInputElement).value)} />
    </label>
  );
  const keyFields = () => (keys.mode === "url" ? (keys.url ? { jwksUri: keys.url } : {}) : { jwks: keys.jwks.trim() });
  const submit = () =>
    action.run(async () => {
      let id: string;
      if (kind === "manual") {
        const policy: MessageInitShape<typeof TrustPolicySettingsSchema> = {
          name: fields.name ?? "",
          issuer: fields.issuer ?? "",
          ...keyFields(),
          audiences: lines(fields.audiences ?? ""),
          algorithms: ALGORITHMS.filter((a) => fields[`alg-${a}`] === "on"),
          requiredClaims: Object.fromEntries(lines(fields.claims ?? "").map((l) => [l.slice(0, l.indexOf("=")).trim(), l.slice(l.indexOf("=") + 1).trim()])),
          requireJti: fields.jti === "on",
          ...(fields.maxAge ? { maxTokenAge: { seconds: BigInt(Math.round(Number(fields.maxAge))), nanos: 0 } } : {}),
        };
        id = (await fed.addTrustPolicy({ policy })).policyId;
      } else {
        const value: Record<string, string> = {};
        for (const [k] of PRESETS[kind].fields) if (fields[k]) value[k] = fields[k].trim();
        if (PRESETS[kind].keys) Object.assign(value, keyFields());
        id = (await fed.addTrustPolicyFromPreset({ preset: { case: kind, value } as unknown as PresetInit, name: fields.name ?? "" })).policyId;
      }
      setFields({});
      setKeys({ mode: keys.mode, url: "", jwks: "" });
      setAdded(id);
      onAdded();
    });
  return (
    <form
      class="card"
      aria-labelledby="add-policy-title"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h2 id="add-policy-title">Add a trust policy</h2>
      <label for="policy-kind">Start from</label>
      <select
          id="policy-kind"
          value={kind}
          onChange={(e) => {
            setKind((e.target as HTMLSelectElement).value as PresetCase | "manual");
            setFields({});
            setAdded(undefined);
          }}
        >
          {Object.entries(PRESETS).map(([k, p]) => (
            <option key={k} value={k}>
              Preset: {p.label}
            </option>
          ))}
          <option value="manual">By hand</option>
        </select>
      {input("name", kind === "manual" ? "Name" : "Name (optional: the preset's)", "", kind === "manual")}
      {kind === "manual" ? (
        <>
          {input("issuer", "Issuer (exact iss)", "https://issuer.example", true)}
          <KeySource value={keys} onChange={setKeys} />
          {input("audiences", "Audiences (comma-separated)", "portcullis", true)}
          <fieldset class="roles">
            <legend>Algorithms</legend>
            {ALGORITHMS.map((a) => (
              <label key={a} class="inline">
                <input type="checkbox" checked={fields[`alg-${a}`] === "on"} onChange={(e) => set(`alg-${a}`, (e.target as HTMLInputElement).checked ? "on" : "")} />
                {a}
              </label>
            ))}
          </fieldset>
          {input("maxAge", "Max token age (seconds, optional)", "3600")}
          <label>
            Required claims (one claim=value a line)
            <textarea rows={3} value={fields.claims ?? ""} placeholder="repository_owner=acme" onInput={(e) => set("claims", (e.target as HTMLTextAreaElement).value)} />
          </label>
          <label class="inline">
            <input type="checkbox" checked={fields.jti === "on"} onChange={(e) => set("jti", (e.target as HTMLInputElement).checked ? "on" : "")} /> Refuse tokens without a jti
          </label>
        </>
      ) : (
        <>
          {PRESETS[kind].fields.map(([k, label, hint, required]) => input(k, label, hint, required))}
          {PRESETS[kind].keys && <KeySource value={keys} onChange={setKeys} />}
        </>
      )}
      <ErrorBox error={action.error} />
      <div class="actions">
        <button type="submit" class="primary" disabled={action.busy}>
          Add policy
        </button>
      </div>
      {added && <p role="status">Policy {added} added. Bind machine users to it on their Federation tab.</p>}
    </form>
  );
}
