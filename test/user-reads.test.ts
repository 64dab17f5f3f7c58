import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { managementClient, rest } from "./helpers/clients.js";

/**
 * GetUserByID is answered from the aggregate cache and its encoded answer is reused while the user
 * has not changed: every change must show in the very next read, over REST and gRPC alike.
 */
describe("GetUserByID after each change", () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ storage: "pglite" });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("shows every change in the next read, and repeated reads answer the same bytes", async () => {
    const get = async (id: string) => {
      const r = await rest(s.url, "GET", `/management/v1/users/${id}`, { token: s.pat });
      expect(r.status).toBe(200);
      return r;
    };
    const add = await rest(s.url, "POST", "/management/v1/users/machine", { token: s.pat, body: { userName: "reads-svc", name: "Reads" } });
    const id = add.json.userId as string;
    const first = await get(id);
    const second = await get(id);
    expect(second.text).toBe(first.text);
    expect(first.json.user).toMatchObject({ userName: "reads-svc", details: { sequence: "1" }, machine: { name: "Reads" } });

    const steps: [string, () => Promise<unknown>, (u: any) => void][] = [ // eslint-disable-line @typescript-eslint/no-explicit-any
      ["update", () => rest(s.url, "PUT", `/management/v1/users/${id}/machine`, { token: s.pat, body: { name: "Reads 2", description: "d" } }), (u) => expect(u.machine).toEqual({ name: "Reads 2", description: "d" })],
      ["secret", () => rest(s.url, "PUT", `/management/v1/users/${id}/secret`, { token: s.pat }), (u) => expect(u.machine.hasSecret).toBe(true)],
      ["no secret", () => rest(s.url, "DELETE", `/management/v1/users/${id}/secret`, { token: s.pat }), (u) => expect(u.machine.hasSecret).toBeUndefined()],
      ["username", () => rest(s.url, "PUT", `/management/v1/users/${id}/username`, { token: s.pat, body: { userName: "reads-renamed" } }), (u) => expect(u).toMatchObject({ userName: "reads-renamed", loginNames: ["reads-renamed"], preferredLoginName: "reads-renamed" })],
      ["deactivate", () => rest(s.url, "POST", `/management/v1/users/${id}/_deactivate`, { token: s.pat, body: {} }), (u) => expect(u.state).toBe("USER_STATE_INACTIVE")],
    ];
    let sequence = 1;
    for (const [name, change, check] of steps) {
      const r = (await change()) as { status: number };
      expect(r.status, name).toBe(200);
      sequence++;
      const after = await get(id);
      expect(after.json.user.details.sequence, name).toBe(String(sequence));
      check(after.json.user);
      // The same over gRPC (its own encoding, from the same cached answer).
      const g = await managementClient(s.url, "grpc", s.pat).getUserByID({ id });
      expect(g.user?.details?.sequence, name).toBe(BigInt(sequence));
      expect(g.user?.userName).toBe(after.json.user.userName);
    }
    await rest(s.url, "DELETE", `/management/v1/users/${id}`, { token: s.pat });
    const gone = await rest(s.url, "GET", `/management/v1/users/${id}`, { token: s.pat });
    expect(gone.status).toBe(404);
  });
});
