// Small building blocks: error box, confirmation dialog, copy-once secret dialog, async helpers,
// paging, role checkboxes and lazily loaded pages.
import type { ComponentChildren, FunctionComponent } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { describeError } from "./api.js";

export function ErrorBox({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  return (
    <div class="error" role="alert">
      <strong>Error:</strong> {describeError(error)}
    </div>
  );
}

/** Loads with `fn` whenever `deps` change; `reload()` loads again. */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[]): { data?: T; error?: unknown; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    fn().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, n]);
  return { ...state, reload: useCallback(() => setN((x) => x + 1), []) };
}

/** Runs an action, keeps its error for display, and reports whether it succeeded. */
export function useAction(): { busy: boolean; error: unknown; run: (fn: () => Promise<unknown>) => Promise<boolean>; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const run = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await fn();
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, clear: () => setError(undefined) };
}

/** A modal dialog (native <dialog>: focus stays inside, Escape closes). */
export function Modal({ title, onClose, children }: { title: string; onClose: () => void; children: ComponentChildren }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => d?.close();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby="dialog-title" onClose={onClose} onCancel={onClose}>
      <h2 id="dialog-title">{title}</h2>
      {children}
    </dialog>
  );
}

/** "Are you sure?" for destructive actions: the action runs only after an explicit confirmation. */
export function ConfirmButton(props: { label: string; title: string; body: ComponentChildren; confirmLabel?: string; onConfirm: () => Promise<unknown>; danger?: boolean }) {
  const [open, setOpen] = useState(false);
  const action = useAction();
  return (
    <>
      <button type="button" class={props.danger === false ? "" : "danger"} onClick={() => setOpen(true)}>
        {props.label}
      </button>
      {open && (
        <Modal title={props.title} onClose={() => setOpen(false)}>
          <div>{props.body}</div>
          <ErrorBox error={action.error} />
          <div class="actions">
            <button type="button" onClick={() => setOpen(false)}>
              Cancel
            </button>
            <button
              type="button"
              class="danger"
              disabled={action.busy}
              onClick={async () => {
                if (await action.run(props.onConfirm)) setOpen(false);
              }}
            >
              {props.confirmLabel ?? props.label}
            </button>
          </div>
        </Modal>
      )}
    </>
  );
}

export function CopyField({ label, value, id }: { label: string; value: string; id: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div class="copy-field">
      <label for={id}>{label}</label>
      <div class="row">
        <input id={id} readOnly value={value} onFocus={(e) => (e.target as HTMLInputElement).select()} />
        <button
          type="button"
          onClick={() =>
            navigator.clipboard?.writeText(value).then(
              () => setCopied(true),
              () => setCopied(false),
            )
          }
        >
          {copied ? "Copied" : "Copy"}
        </button>
      </div>
    </div>
  );
}

/** A secret shown exactly once: copy buttons, a warning, and "I stored it" to close. */
export function SecretOnce({ title, fields, onClose, children }: { title: string; fields: { label: string; value: string }[]; onClose: () => void; children?: ComponentChildren }) {
  return (
    <Modal title={title} onClose={onClose}>
      <p class="warning" role="note">
        This is the only time it is shown. Store it now (a secret manager, not a chat or ticket); Portcullis keeps only a hash.
      </p>
      {fields.map((f, i) => (
        <CopyField key={f.label} id={`secret-${i}`} label={f.label} value={f.value} />
      ))}
      {children}
      <div class="actions">
        <button type="button" onClick={onClose}>
          I stored it
        </button>
      </div>
    </Modal>
  );
}

/** A page's section links (`#/<base>/<tab>`), the current one marked for assistive technology. */
export function Tabs<T extends string>({ label, base, tabs, labels, current }: { label: string; base: string; tabs: readonly T[]; labels: Record<T, string>; current: T }) {
  return (
    <nav class="tabs" aria-label={label}>
      {tabs.map((t) => (
        <a key={t} href={`${base}/${t}`} aria-current={t === current ? "page" : undefined}>
          {labels[t]}
        </a>
      ))}
    </nav>
  );
}

export function Badge({ text }: { text: string }) {
  return <span class={`badge badge-${text.toLowerCase()}`}>{text}</span>;
}

/** The page size of every paged list. */
export const PAGE = 20;

/** Previous / next over a list the API pages (offset + limit, totalResult). */
export function Pager({ offset, total, onOffset, label = "Pages" }: { offset: number; total: number; onOffset: (o: number) => void; label?: string }) {
  return (
    <nav class="pager" aria-label={label}>
      <button type="button" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - PAGE))}>
        Previous
      </button>
      <span aria-live="polite">
        {total === 0 ? "0" : `${offset + 1}–${Math.min(offset + PAGE, total)}`} of {total}
      </span>
      <button type="button" disabled={offset + PAGE >= total} onClick={() => onOffset(offset + PAGE)}>
        Next
      </button>
    </nav>
  );
}

/** The ListQuery of one page. */
export const pageQuery = (offset: number) => ({ offset: BigInt(offset), limit: PAGE, asc: true });

/** Checkboxes for role keys (a fieldset with a legend, so each reads as "<legend>, <key>"). */
export function RoleChecks({ legend, roles, value, onChange }: { legend: string; roles: { key: string; displayName?: string }[]; value: string[]; onChange: (v: string[]) => void }) {
  return (
    <fieldset class="roles">
      <legend>{legend}</legend>
      {roles.length === 0 && <p class="muted">No roles to choose from.</p>}
      {roles.map((r) => (
        <label key={r.key} class="inline">
          <input
            type="checkbox"
            checked={value.includes(r.key)}
            onChange={(e) => onChange((e.target as HTMLInputElement).checked ? [...value, r.key] : value.filter((k) => k !== r.key))}
          />
          {r.key}
          {r.displayName && r.displayName !== r.key ? <span class="muted"> ({r.displayName})</span> : null}
        </label>
      ))}
    </fieldset>
  );
}

/**
 * A component whose code is loaded on first render (a dynamic import: its own chunk, not part of
 * the initial bundle); a failed load shows its error.
 */
export function lazy<P extends object>(load: () => Promise<FunctionComponent<P>>): FunctionComponent<P> {
  let loaded: FunctionComponent<P> | undefined;
  return function Lazy(props: P) {
    const [, setReady] = useState(false);
    const [error, setError] = useState<unknown>();
    useEffect(() => {
      if (!loaded)
        load().then(
          (c) => {
            loaded = c;
            setReady(true);
          },
          setError,
        );
    }, []);
    if (loaded) {
      const C = loaded;
      return <C {...props} />;
    }
    return error ? <ErrorBox error={error} /> : <p role="status">Loading…</p>;
  };
}
