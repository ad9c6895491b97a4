import type { Hono } from "hono";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { KitEnv } from "../../kit/http";

/** GET /v1/notifications: the e-mails in the local mailbox folder, newest first. */
export function mailboxRoutes(mailboxDir: string) {
  return (app: Hono<KitEnv>) => {
    app.get("/v1/notifications", async (c) => {
      const names = await readdir(mailboxDir).catch((e) => (e.code === "ENOENT" ? [] : Promise.reject(e)));
      const mails = await Promise.all(
        names
          .filter((n) => n.endsWith(".eml"))
          .map(async (file) => ({ file, sentAt: (await stat(join(mailboxDir, file))).mtime })),
      );
      mails.sort((a, b) => b.sentAt.getTime() - a.sentAt.getTime());
      return c.json({ mailbox: mailboxDir, notifications: mails });
    });
  };
}
