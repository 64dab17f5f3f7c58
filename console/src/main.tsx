// The Portcullis console: sign-in (PAT or single-use sign-in link), the shell (org switcher,
// navigation, sign-out) and the routes (#/users, #/users/<id>/<tab>, #/projects,
// #/projects/<id>/<tab>, #/members, #/federation). The project pages are their own chunk, loaded on first visit.
import { render } from "preact";
import { useEffect, useMemo, useState } from "preact/hooks";
import { exchangeSignInLink, loadSession, makeApi, saveSession, signInWithPat, signOut, type Api, type Session } from "./api.js";
import { OrgMembers } from "./members.js";
import { MachinePage, UserList } from "./users.js";
import { ConfirmButton, ErrorBox, lazy, useAction, useLoad } from "./ui.js";
import "./style.css";

const ProjectList = lazy(() => import("./projects.js").then((m) => m.ProjectList));
const ProjectPage = lazy(() => import("./projects.js").then((m) => m.ProjectPage));
const FederationPage = lazy(() => import("./federation.js").then((m) => m.FederationPage));

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash;
}

function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [pat, setPat] = useState("");
  const action = useAction();
  const [linkState, setLinkState] = useState<"none" | "busy">("none");
  useEffect(() => {
    // Opened fresh, or the fragment changed in an open tab: either way the link is used once.
    const tryLink = () => {
      const fragment = location.hash.slice(1);
      if (!fragment.startsWith("signin=")) return;
      // The link's secret leaves the address bar (and the history entry) before anything else happens.
      history.replaceState(null, "", location.pathname + location.search);
      setLinkState("busy");
      void action.run(async () => onSignedIn(await exchangeSignInLink(fragment))).then(() => setLinkState("none"));
    };
    tryLink();
    addEventListener("hashchange", tryLink);
    return () => removeEventListener("hashchange", tryLink);
  }, []);
  return (
    <main id="main" class="signin">
      <h1>Portcullis console</h1>
      {linkState === "busy" ? (
        <p role="status">Signing in with the link…</p>
      ) : (
        <form
          class="card"
          onSubmit={async (e) => {
            e.preventDefault();
            await action.run(async () => onSignedIn(await signInWithPat(pat.trim())));
          }}
        >
          <h2>Sign in</h2>
          <p>
            Paste a personal access token, or open the sign-in link that <code>portcullis console login</code> prints.
          </p>
          <label>
            Personal access token
            <input type="password" autoComplete="off" required value={pat} onInput={(e) => setPat((e.target as HTMLInputElement).value)} />
          </label>
          <div class="actions">
            <button type="submit" class="primary" disabled={action.busy}>
              Sign in
            </button>
          </div>
        </form>
      )}
      <ErrorBox error={action.error} />
    </main>
  );
}

function OrgSwitcher({ api, session, onSwitch }: { api: Api; session: Session; onSwitch: (orgId: string) => void }) {
  // Organizations the caller may see (v2 ListOrganizations; an org owner sees its own).
  const orgs = useLoad(async () => {
    try {
      return (await api.orgs.listOrganizations({ query: { limit: 200 } })).result.map((o) => ({ id: o.id, name: o.name }));
    } catch {
      const mine = await api.mgmt.getMyOrg({});
      return mine.org ? [{ id: mine.org.id, name: mine.org.name }] : [];
    }
  }, [session.token]);
  return (
    <label class="org-switcher">
      Organization
      <select value={session.orgId} onChange={(e) => onSwitch((e.target as HTMLSelectElement).value)}>
        {(orgs.data ?? [{ id: session.orgId, name: session.orgId }]).map((o) => (
          <option key={o.id} value={o.id}>
            {o.name}
          </option>
        ))}
      </select>
    </label>
  );
}

function Shell({ session, setSession }: { session: Session; setSession: (s: Session | undefined) => void }) {
  const hash = useHash();
  const api = useMemo(() => makeApi(session.token, () => session.orgId), [session.token, session.orgId]);
  const parts = hash.replace(/^#\/?/, "").split("/");
  let page;
  if (parts[0] === "users" && parts[1]) page = <MachinePage api={api} token={session.token} userId={parts[1]} tab={parts[2] ?? "general"} orgId={session.orgId} />;
  else if (parts[0] === "projects" && parts[1]) page = <ProjectPage api={api} projectId={parts[1]} tab={parts[2] ?? "general"} orgId={session.orgId} />;
  else if (parts[0] === "projects") page = <ProjectList api={api} orgId={session.orgId} />;
  else if (parts[0] === "federation") page = <FederationPage api={api} orgId={session.orgId} />;
  else if (parts[0] === "members") page = <OrgMembers api={api} orgId={session.orgId} />;
  else page = <UserList api={api} orgId={session.orgId} />;
  const section = parts[0] === "members" || parts[0] === "projects" || parts[0] === "federation" ? parts[0] : "users";
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById("main")?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Portcullis</span>
        <OrgSwitcher
          api={api}
          session={session}
          onSwitch={(orgId) => {
            const s = { ...session, orgId };
            saveSession(s);
            setSession(s);
            location.hash = "#/users";
          }}
        />
        <nav aria-label="Main">
          <a href="#/users" aria-current={section === "users" ? "page" : undefined}>
            Machine users
          </a>
          <a href="#/projects" aria-current={section === "projects" ? "page" : undefined}>
            Projects
          </a>
          <a href="#/members" aria-current={section === "members" ? "page" : undefined}>
            Members
          </a>
          <a href="#/federation" aria-current={section === "federation" ? "page" : undefined}>
            Federation
          </a>
        </nav>
        <span class="who" title={session.userId}>
          {session.userName}
        </span>
        <ConfirmButton
          label="Sign out"
          danger={false}
          title="Sign out?"
          body={<p>The console forgets the token{session.sessionPatId ? " and removes the session token it created" : ""}.</p>}
          onConfirm={async () => {
            await signOut(session);
            location.hash = "";
            setSession(undefined);
          }}
        />
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}

function App() {
  const [session, setSession] = useState<Session | undefined>(() => (location.hash.startsWith("#signin=") ? undefined : loadSession()));
  const [linkError, setLinkError] = useState<unknown>();
  useEffect(() => {
    // A sign-in link opened in a tab that is signed in already (only the fragment changes, so the page
    // does not load again): its secret leaves the address bar and the history at once, and the link is
    // used, switching the tab to it, rather than left valid in the history. Signed out, SignIn does this.
    const onLink = () => {
      const fragment = location.hash.slice(1);
      const current = loadSession();
      if (!fragment.startsWith("signin=") || !current) return;
      history.replaceState(null, "", location.pathname + location.search + "#/users");
      void exchangeSignInLink(fragment).then(
        async (s) => {
          await signOut(current);
          saveSession(s);
          setLinkError(undefined);
          setSession(s);
        },
        (e: unknown) => setLinkError(e),
      );
    };
    addEventListener("hashchange", onLink);
    return () => removeEventListener("hashchange", onLink);
  }, []);
  if (!session)
    return (
      <SignIn
        onSignedIn={(s) => {
          saveSession(s);
          if (!location.hash.startsWith("#/")) location.hash = "#/users";
          setSession(s);
        }}
      />
    );
  return (
    <>
      <ErrorBox error={linkError} />
      <Shell session={session} setSession={setSession} />
    </>
  );
}

render(<App />, document.getElementById("app")!);
