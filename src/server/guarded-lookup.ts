import { lookup as dnsLookup, type LookupAddress } from "node:dns";

type Callback = (err: Error | null, address: string | LookupAddress[], family?: number) => void;
/** The shape of dns.lookup with `{ all: true }` (tests pass a fake resolver). */
export type Resolver = (hostname: string, options: { all: true }, callback: (err: Error | null, addresses: LookupAddress[]) => void) => void;

export interface GuardOptions {
  /** Why an address may not be connected to, or undefined when it may. */
  refuse: (ip: string) => string | undefined;
  /** Every resolved address must pass (default: at least one; the first that passes is used). */
  every?: boolean;
  /** The error's code and the word naming the host in its message. */
  code: string;
  what: string;
  resolve?: Resolver;
}

/**
 * A `lookup` for http.request / https.request: resolves the host once, checks the addresses, and
 * hands the socket the checked address (no second lookup, so a DNS answer that changes between
 * check and connect — rebinding — cannot reach a refused address). TLS still verifies the host name.
 */
export function guardedLookup(o: GuardOptions) {
  const resolve: Resolver = o.resolve ?? ((h, opts, cb) => dnsLookup(h, opts, cb));
  return (hostname: string, options: object, callback: Callback) => {
    resolve(hostname, { all: true }, (err, addresses) => {
      if (err) return callback(err, "");
      const refused = addresses.map((a) => o.refuse(a.address));
      const bad = refused.findIndex((why) => why !== undefined);
      const ok = o.every && bad >= 0 ? undefined : addresses.find((_, i) => refused[i] === undefined);
      if (!ok) {
        const said = `${o.what} host ${hostname} resolves ${o.every ? "to a refused address" : "only to refused addresses"}`;
        // `publicMessage` leaves the address out: for answers to API callers, who may not learn what
        // a name resolves to inside the server's network (the message, with it, is for the log).
        const message = bad >= 0 ? `${said} (${addresses[bad]!.address}: ${refused[bad]})` : said;
        const publicMessage = bad >= 0 ? `${said} (${refused[bad]})` : said;
        return callback(Object.assign(new Error(message), { code: o.code, publicMessage }), "");
      }
      if ((options as { all?: boolean }).all) return callback(null, [ok]);
      callback(null, ok.address, ok.family);
    });
  };
}
