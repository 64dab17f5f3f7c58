// Samples pg_stat_activity for one database while a load runs: on average, how many of its
// backends were idle, idle in a transaction (waiting for the client), running, or waiting — and on
// what (wait_event_type/wait_event) and in which statement. Evidence for what bounds a write path.
import pg from "pg";

export async function startWaitSampler(url, intervalMs = 20) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const counts = new Map();
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const r = await client.query(
        `SELECT state, wait_event_type, wait_event, CASE WHEN state = 'active' THEN left(regexp_replace(query, '\\s+', ' ', 'g'), 60) END AS q
         FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
      );
      samples++;
      for (const x of r.rows) {
        const key = [x.state, x.wait_event_type ? `${x.wait_event_type}:${x.wait_event}` : "on CPU", x.q ?? ""].join(" | ");
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      await new Promise((res) => setTimeout(res, intervalMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await client.end();
      return {
        samples,
        // Average number of backends in each state over the window.
        states: [...counts]
          .sort((a, b) => b[1] - a[1])
          .slice(0, 15)
          .map(([k, n]) => ({ state: k, backends: Math.round((n / samples) * 100) / 100 })),
      };
    },
  };
}
