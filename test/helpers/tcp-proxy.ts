/** A TCP proxy in front of the shared server that can be "stopped" and "started" like a restart. */
export async function restartableProxy(target = { host: "127.0.0.1", port: 5432 }) {
  const net = await import("node:net");
  const sockets = new Set<import("node:net").Socket>();
  let server: import("node:net").Server | undefined;
  let listenPort = 0;
  const start = async () => {
    const srv = net.createServer((client) => {
      const upstream = net.connect(target.port, target.host);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((r) => srv.listen(listenPort, "127.0.0.1", r));
    listenPort = (srv.address() as import("node:net").AddressInfo).port;
    server = srv;
  };
  const stop = async () => {
    const srv = server;
    server = undefined;
    for (const s of sockets) s.destroy();
    if (srv) await new Promise((r) => srv.close(r));
  };
  await start();
  return { port: () => listenPort, start, stop };
}

