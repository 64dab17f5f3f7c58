import { embeddedBackup } from "../../app/instance/backup.js";
import type { ExtensionRoute } from "./extension-routes.js";

/**
 * GET /portcullis/v1/backup: the embedded store as a gzipped tar (what `portcullis backup` writes).
 * iam.write: a backup holds every hash, the sealed signing keys and, without PORTCULLIS_MASTERKEY,
 * the master key itself.
 */
export const backupRoute: ExtensionRoute = {
  method: "GET",
  path: /^\/portcullis\/v1\/backup$/,
  permission: "iam.write",
  async run({ ctx }) {
    const archive = await embeddedBackup(ctx.deps);
    return {
      stream: async (res) => {
        res.writeHead(200, { "content-type": "application/gzip", "content-length": String(archive.length), "cache-control": "no-store" });
        await new Promise<void>((resolve) => res.end(archive, () => resolve()));
      },
    };
  },
};
