import type { AggregateType } from "../../domain/events.js";
import type { ActiveUserGrant } from "../../store/read-models/index.js";
import type { StateOf } from "./aggregate-cache.js";
import type { Deps } from "./context.js";

/** A value the decision needs that is not at hand yet. */
export const MISS: unique symbol = Symbol("miss");
export type Miss = typeof MISS;

/**
 * What a decision can look up: an aggregate's state, the user id behind a login name ("login"), or
 * a token signing key by kid ("signingKey": a miss reloads the key set, as another process may have
 * rotated), or a user's active user grants by user id ("userGrants": the token role claims).
 */
export type LookupType = AggregateType | "login" | "signingKey" | "userGrants";
/** A login name resolves to a user id, or to null: nobody (unknown, or ambiguous); a kid to its key, or null. */
export type LookedUp<T extends LookupType> = T extends AggregateType
  ? StateOf<T>
  : T extends "login"
    ? string | null
    : T extends "userGrants"
      ? readonly ActiveUserGrant[]
      : VerifyingKey | null;
type VerifyingKey = NonNullable<ReturnType<Deps["signingKeys"]["find"]>>;

/**
 * The current value, or MISS when it has to be loaded first. The one storage interface of the
 * decisions that run on every request (bearer tokens, client credentials, grants): they read
 * through it only, so the same checks run on cached and on loaded states.
 */
export type Lookup = <T extends LookupType>(type: T, id: string) => LookedUp<T> | Miss;

/** At most this many loads per decision; more means the decision asks for something it never gets. */
const MAX_LOADS = 8;

/**
 * Runs `decide` on what the aggregate cache holds; when that is everything it needs (the common
 * case), the answer comes without a promise. Otherwise loads the first value it missed and decides
 * again from the start, until it decides: the same sequence of checks either way, and loads happen
 * in the order the checks ask for them (a check that fails first loads nothing after it). On every
 * round the cache is asked first: a state it holds now is at least as new as one loaded before.
 *
 * `decide` may run more than once per request, so it must not have effects before its last lookup
 * that a second run would repeat (see `spendOnce` in app/oauth/jwt-assertion.ts for the one it has).
 * `arg` is passed through, so that the hot paths need no closure per request.
 */
export function decideWithCache<A, R>(deps: Deps, decide: (deps: Deps, arg: A, lookup: Lookup) => R | Miss, arg: A): R | Promise<R> {
  let missing: Missing | undefined;
  const r = decide(deps, arg, (type, id) => {
    const cached = peek(deps, type, id);
    if (cached !== undefined) return cached;
    missing ??= { type, id };
    return MISS;
  });
  if (r !== MISS) {
    deps.metrics.cacheLookups.labels("decision", "hit").inc();
    return r;
  }
  deps.metrics.cacheLookups.labels("decision", "miss").inc();
  return decideLoading(deps, decide, arg, missing);
}

interface Missing {
  type: LookupType;
  id: string;
}

async function decideLoading<A, R>(deps: Deps, decide: (deps: Deps, arg: A, lookup: Lookup) => R | Miss, arg: A, first: Missing | undefined): Promise<R> {
  const loaded = new Map<string, unknown>();
  let missing = first;
  for (let loads = 0; ; loads++) {
    if (!missing || loads >= MAX_LOADS) throw new Error("decideWithCache: a value stayed missing after loading it");
    loaded.set(`${missing.type}:${missing.id}`, await load(deps, missing.type, missing.id));
    missing = undefined;
    const d = decide(deps, arg, (type, id) => {
      const cached = peek(deps, type, id);
      if (cached !== undefined) return cached;
      const key = `${type}:${id}`;
      if (loaded.has(key)) return loaded.get(key) as never;
      missing ??= { type, id };
      return MISS;
    });
    if (d !== MISS) return d;
  }
}

function peek<T extends LookupType>(deps: Deps, type: T, id: string): LookedUp<T> | undefined {
  const { cache, instanceId } = deps;
  if (type === "signingKey") return deps.signingKeys.find(id) as LookedUp<T> | undefined;
  if (type === "userGrants") return cache.peekActiveGrantsOf(instanceId, id) as LookedUp<T> | undefined;
  return (type === "login" ? cache.peekUserIdByLoginName(instanceId, id) : cache.peek(instanceId, type as AggregateType, id)) as LookedUp<T> | undefined;
}

async function load(deps: Deps, type: LookupType, id: string): Promise<unknown> {
  const { cache, instanceId } = deps;
  if (type === "signingKey") {
    // Undefined when the ring reloaded too recently: then the kid stays unknown.
    await deps.signingKeys.reloadForUnknownKid();
    return deps.signingKeys.find(id) ?? null;
  }
  if (type === "userGrants") return cache.activeGrantsOf(instanceId, id);
  return type === "login" ? ((await cache.userIdByLoginName(instanceId, id)) ?? null) : cache.get(instanceId, type, id);
}
