// A machine user's Federation tab (its own chunk): its bindings to the organization's trust
// policies (an exact subject or a CEL condition), add and remove; and a dry run that says which
// policy and binding would accept an external token, or why none does. The pasted token is sent
// to DryRunFederation only, never kept: the box is emptied as soon as it is sent.
import { useState } from "preact/hooks";
import type { User } from "@zitadel/proto/zitadel/user_pb.js";
import type { DryRunFederationResponse } from "../../src/api/proto/portcullis/v1/federation_binding_pb.js";
import type { Api } from "./api.js";
import { useFederation, type FederationClient } from "./federation.js";
import { ConfirmButton, ErrorBox, useAction, useLoad } from "./ui.js";

export function MachineFederation({ api, user }: { api: Api; user: User }) {
  const fed = useFederation(api);
  const bindings = useLoad(() => fed.listFederationBindings({ userId: user.id }), [fed, user.id]);
  const policies = useLoad(() => fed.listTrustPolicies({}), [fed]);
  const names = new Map((policies.data?.result ?? []).map((p) => [p.id, p.name]));
  const policyName = (id: string) => names.get(id) ?? id;
  const rows = bindings.data?.result ?? [];
  return (
    <>
      <div class="card">
        <h2>Federation bindings</h2>
        <p>
          A binding lets tokens from a trusted issuer (see <a href="#/federation">Federation</a>) become tokens of {user.userName}: the token must match the policy and the binding's
          subject or condition.
        </p>
        <ErrorBox error={bindings.error ?? policies.error} />
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Policy and binding</th>
                <th scope="col">Matches</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((b) => (
                <tr key={b.id}>
                  <td>
                    {policyName(b.policyId)}
                    {b.description && <div>{b.description}</div>}
                    <code class="muted">{b.id}</code>
                  </td>
                  <td>
                    {b.subject ? "subject " : "condition "}
                    <code>{b.subject || b.condition}</code>
                  </td>
                  <td>
                    <ConfirmButton
                      label="Remove"
                      title={`Remove binding ${b.id}?`}
                      confirmLabel="Remove binding"
                      body={<p>It stops accepting tokens, and the tokens it obtained stop working, at once.</p>}
                      onConfirm={() => fed.removeFederationBinding({ userId: user.id, bindingId: b.id }).then(bindings.reload)}
                    />
                  </td>
                </tr>
              ))}
              {bindings.data && rows.length === 0 && (
                <tr>
                  <td colSpan={3}>No binding.</td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
        <AddBinding fed={fed} userId={user.id} policies={policies.data?.result ?? []} onAdded={bindings.reload} />
      </div>
      <DryRun fed={fed} userId={user.id} policyName={policyName} />
    </>
  );
}

function AddBinding({ fed, userId, policies, onAdded }: { fed: FederationClient; userId: string; policies: { id: string; name: string }[]; onAdded: () => void }) {
  const [policyId, setPolicyId] = useState("");
  const [by, setBy] = useState<"subject" | "condition">("subject");
  const [match, setMatch] = useState("");
  const [description, setDescription] = useState("");
  const action = useAction();
  const chosen = policyId || policies[0]?.id || "";
  return (
    <form
      aria-labelledby="add-binding-title"
      onSubmit={(e) => {
        e.preventDefault();
        void action.run(async () => {
          await fed.addFederationBinding({ userId, policyId: chosen, description, ...(by === "subject" ? { subject: match.trim() } : { condition: match.trim() }) });
          setMatch("");
          setDescription("");
          onAdded();
        });
      }}
    >
      <h3 id="add-binding-title">Add a binding</h3>
      <label for="binding-policy">Trust policy</label>
      <select id="binding-policy" required value={chosen} onChange={(e) => setPolicyId((e.target as HTMLSelectElement).value)}>
          {policies.length === 0 && <option value="">No policy yet: add one on the Federation page</option>}
          {policies.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
      <fieldset>
        <legend>Match the token by</legend>
        <label class="inline">
          <input type="radio" name="binding-by" checked={by === "subject"} onChange={() => setBy("subject")} /> The exact sub claim
        </label>
        <label class="inline">
          <input type="radio" name="binding-by" checked={by === "condition"} onChange={() => setBy("condition")} /> A CEL expression over the claims
        </label>
      </fieldset>
      {by === "subject" ? (
        <label>
          Subject
          <input required value={match} placeholder="system:serviceaccount:prod:api" onInput={(e) => setMatch((e.target as HTMLInputElement).value)} />
        </label>
      ) : (
        <label>
          Condition
          <textarea required rows={2} value={match} placeholder='claims.repository == "acme/api" && claims.ref == "refs/heads/main"' onInput={(e) => setMatch((e.target as HTMLTextAreaElement).value)} />
        </label>
      )}
      <label>
        Description (optional)
        <input value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} />
      </label>
      <ErrorBox error={action.error} />
      <div class="actions">
        <button type="submit" class="primary" disabled={action.busy || !chosen}>
          Add binding
        </button>
      </div>
    </form>
  );
}

function DryRun({ fed, userId, policyName }: { fed: FederationClient; userId: string; policyName: (id: string) => string }) {
  const [token, setToken] = useState("");
  const [result, setResult] = useState<DryRunFederationResponse>();
  const action = useAction();
  return (
    <form
      class="card"
      aria-labelledby="dry-run-title"
      autoComplete="off"
      onSubmit={(e) => {
        e.preventDefault();
        const sent = token.trim();
        // The token leaves the page's state before the answer comes: nothing keeps it.
        setToken("");
        setResult(undefined);
        void action.run(async () => setResult(await fed.dryRunFederation({ token: sent, userId })));
      }}
    >
      <h2 id="dry-run-title">Dry run</h2>
      <p>Paste a token from the external issuer to see which policy and binding would accept it, or why none does. Nothing is issued, stored or spent.</p>
      <label>
        External token
        <textarea rows={4} required spellcheck={false} value={token} onInput={(e) => setToken((e.target as HTMLTextAreaElement).value)} placeholder="eyJ…" />
      </label>
      <div class="actions">
        <button type="submit" disabled={action.busy}>
          Dry run
        </button>
      </div>
      <ErrorBox error={action.error} />
      {result && (
        <div role="status" class={result.accepted ? "ok" : "warning"}>
          {result.accepted ? (
            <p>
              <strong>Accepted</strong> by policy {policyName(result.policyId)} through binding <code>{result.bindingId}</code>.
            </p>
          ) : (
            <p>
              <strong>Refused</strong>: no binding of this machine user accepts the token.
            </p>
          )}
          {result.refusals.length > 0 && (
            <ul class="refusals">
              {result.refusals.map((r, i) => (
                <li key={i}>
                  <code>{r.reason}</code>: {r.detail}
                  {r.policyId && <> (policy {policyName(r.policyId)})</>}
                  {r.bindingId && (
                    <>
                      {" "}
                      (binding <code>{r.bindingId}</code>)
                    </>
                  )}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </form>
  );
}
