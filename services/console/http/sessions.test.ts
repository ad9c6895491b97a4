import { expect, test } from "bun:test";
import { Hono } from "hono";
import { html, raw, sparkline } from "./html";
import { Sessions } from "./sessions";

test("a session opens only with the admin key, and ends when its time is up or on logout", () => {
  let now = 0;
  const sessions = new Sessions("the-admin-key-of-this-test", 1000, () => now);
  expect(sessions.login("guess")).toBeUndefined();
  const id = sessions.login("the-admin-key-of-this-test")!;
  expect(id).toMatch(/^[\w-]{43}$/);
  expect(sessions.valid(id)).toBe(true);
  expect(sessions.valid("forged")).toBe(false);
  now = 1001;
  expect(sessions.valid(id)).toBe(false);
  const again = sessions.login("the-admin-key-of-this-test")!;
  sessions.logout(again);
  expect(sessions.valid(again)).toBe(false);
});

test("without a session: pages redirect to the login, data answers 401; a change must be JSON", async () => {
  const sessions = new Sessions("the-admin-key-of-this-test", 60_000);
  const app = new Hono();
  app.use("*", sessions.required());
  app.all("*", (c) => c.text("in"));
  expect((await app.request("/api/services")).status).toBe(401);
  const page = await app.request("/traces");
  expect(page.status).toBe(303);
  expect(page.headers.get("location")).toBe("/login?next=%2Ftraces");
  const cookie = `console_session=${sessions.login("the-admin-key-of-this-test")}`;
  expect(await (await app.request("/api/services", { headers: { cookie } })).text()).toBe("in");
  const form = await app.request("/api/dead-letters/purge", {
    method: "POST",
    headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
    body: "",
  });
  expect(form.status).toBe(415);
  const json = await app.request("/api/dead-letters/purge", {
    method: "POST",
    headers: { cookie, "content-type": "application/json" },
    body: "{}",
  });
  expect(json.status).toBe(200);
});

test("values in pages are escaped; markup goes in only as Html", () => {
  const name = '<script>alert("x")</script>';
  expect(html`<td>${name}</td>`.value).toBe("<td>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</td>");
  expect(html`<td>${[raw("<b>"), "&"]}</td>`.value).toBe("<td><b>&amp;</td>");
  expect(sparkline([0, 1, 2]).value).toContain("<polyline");
});
