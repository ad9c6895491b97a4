import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";

export const SESSION_COOKIE = "console_session";

/**
 * Operator sessions: a login with the admin key opens one (a random id in an HttpOnly, SameSite=Strict
 * cookie); in memory only, so a restart logs everyone out.
 */
export class Sessions {
  readonly #open = new Map<string, number>();
  readonly #key: Buffer;

  constructor(
    adminKey: string,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.#key = digest(adminKey);
  }

  /** A new session id when `key` is the admin key. */
  login(key: string): string | undefined {
    if (!timingSafeEqual(digest(key), this.#key)) return undefined;
    const id = randomBytes(32).toString("base64url");
    this.#open.set(id, this.now() + this.ttlMs);
    for (const [s, until] of this.#open) if (until < this.now()) this.#open.delete(s);
    return id;
  }

  valid(id: string | undefined): boolean {
    if (!id) return false;
    const until = this.#open.get(id);
    if (until === undefined) return false;
    if (until < this.now()) {
      this.#open.delete(id);
      return false;
    }
    return true;
  }

  logout(id: string | undefined): void {
    if (id) this.#open.delete(id);
  }

  setCookie(c: Context, id: string): void {
    setCookie(c, SESSION_COOKIE, id, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      maxAge: Math.floor(this.ttlMs / 1000),
    });
  }

  clearCookie(c: Context): void {
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
  }

  /**
   * Only for a logged-in operator: pages send a browser to the login, data endpoints answer 401. A
   * change (anything but GET) must come as JSON, which no other site's form can send without CORS.
   */
  required(): MiddlewareHandler {
    return async (c, next) => {
      if (!this.valid(getCookie(c, SESSION_COOKIE))) {
        if (c.req.path.startsWith("/api/"))
          return c.json({ error: { code: "unauthenticated", message: "log in to the console first" } }, 401);
        return c.redirect(`/login?next=${encodeURIComponent(c.req.path)}`, 303);
      }
      if (c.req.method !== "GET" && !(c.req.header("content-type") ?? "").startsWith("application/json"))
        return c.json({ error: { code: "bad_request", message: "changes are sent as application/json" } }, 415);
      await next();
    };
  }
}

const digest = (s: string) => createHash("sha256").update(s).digest();
