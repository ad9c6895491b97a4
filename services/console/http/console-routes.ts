import type { Context, Hono } from "hono";
import { getCookie } from "hono/cookie";
import type { KitEnv } from "../../kit/http";
import { decodeSpans } from "../../kit/tracing";
import type { ConsoleData } from "../app/console-data";
import { TARGET } from "../platform/policies";
import type { TraceQuery, TraceStore } from "../traces/trace-store";
import { layout, type Html } from "./html";
import { callsPage, eventsPage, loginPage, servicesPage } from "./pages";
import { deadLetterPage, deadLettersPage, replayMessage } from "./dead-letter-pages";
import { orderPage, tracePage, tracesPage } from "./trace-pages";
import { SESSION_COOKIE, type Sessions } from "./sessions";

export interface ConsoleRoutes {
  data: ConsoleData;
  traces: TraceStore;
  sessions: Sessions;
  refreshMs: number;
}

const problem = (c: Context, status: 400 | 404, code: string, message: string) =>
  c.json({ error: { code, message } }, status);

const queryOf = (c: Context): TraceQuery => ({
  orderId: c.req.query("order") || undefined,
  customerId: c.req.query("customer") || undefined,
  traceId: c.req.query("trace") || undefined,
  errors: c.req.query("errors") === "1" || c.req.query("errors") === "true" || undefined,
  limit: Math.min(500, Number(c.req.query("limit")) || 50),
});

const positiveId = (raw: string) => {
  const id = Number(raw);
  return Number.isInteger(id) && id > 0 ? id : undefined;
};

/**
 * The console on its HTTP port: the OTLP/HTTP receiver services export to, the login, and behind it
 * the pages (server-rendered, refreshing their main part) and the JSON they are made from.
 */
export function consoleRoutes({ data, traces, sessions, refreshMs }: ConsoleRoutes) {
  return (app: Hono<KitEnv>) => {
    app.post("/v1/traces", async (c) => {
      const type = c.req.header("content-type") ?? "";
      if (!type.includes("json") && !type.includes("protobuf"))
        return c.text("OTLP/HTTP takes application/x-protobuf or application/json", 415);
      try {
        traces.add(decodeSpans(new Uint8Array(await c.req.arrayBuffer()), type));
      } catch (e) {
        return c.json({ error: { code: "bad_request", message: `not an OTLP trace export: ${e}` } }, 400);
      }
      return type.includes("json")
        ? c.json({})
        : c.body(new Uint8Array(), 200, { "content-type": "application/x-protobuf" });
    });

    app.get("/login", (c) => c.html(loginPage(c.req.query("next") ?? "/", c.req.query("failed") === "1").value));
    app.post("/login", async (c) => {
      const form = await c.req.parseBody();
      const next = typeof form.next === "string" && /^\/(?![\/\\])/.test(form.next) ? form.next : "/";
      const session = sessions.login(typeof form.key === "string" ? form.key : "");
      if (!session) {
        await Bun.sleep(300); // a guesser's pace
        return c.redirect(`/login?failed=1&next=${encodeURIComponent(next)}`, 303);
      }
      sessions.setCookie(c, session);
      return c.redirect(next, 303);
    });
    app.post("/logout", (c) => {
      sessions.logout(getCookie(c, SESSION_COOKIE));
      sessions.clearCookie(c);
      return c.redirect("/login", 303);
    });

    app.use("/api/*", sessions.required());
    for (const path of [
      "/",
      "/calls",
      "/traces",
      "/traces/*",
      "/events",
      "/dead-letters",
      "/dead-letters/*",
      "/orders",
      "/orders/*",
    ])
      app.use(path, sessions.required());

    /** A page, or only its main part when the page's own script asks for it. */
    const page = (c: Context, title: string, body: Html) =>
      c.html(c.req.header("x-fragment") ? body.value : layout(title, c.req.path, body, refreshMs).value);

    // The data.
    app.get("/api/services", async (c) => c.json(await data.services()));
    app.get("/api/calls", async (c) => c.json(await data.calls()));
    app.get("/api/traces", (c) => c.json(data.traces(queryOf(c))));
    app.get("/api/traces/:id", (c) => {
      const w = data.trace(c.req.param("id"));
      return w ? c.json(w) : problem(c, 404, "not_found", `no trace ${c.req.param("id")} kept`);
    });
    app.get("/api/orders/:id", (c) => c.json(data.order(c.req.param("id"))));
    app.get("/api/events", async (c) => c.json(await data.events()));
    app.get("/api/dead-letters", async (c) => c.json(await data.deadLetters()));
    app.get("/api/dead-letters/:id", async (c) => {
      const id = positiveId(c.req.param("id"));
      const l = id && (await data.deadLetter(id));
      return l ? c.json(l) : problem(c, 404, "not_found", `no dead letter ${c.req.param("id")}`);
    });
    app.post("/api/dead-letters/purge", async (c) => {
      // One by its id, or every one when asked in so many words: a body that does not parse purges nothing.
      const body = (await c.req.json().catch(() => ({}))) as { id?: unknown; all?: unknown };
      if (body.all === true && body.id === undefined) {
        const n = await data.purge();
        return c.json({ purged: n, message: `purged ${n} dead letters` });
      }
      const id = body.id === undefined ? undefined : positiveId(String(body.id));
      if (!id) return problem(c, 400, "invalid_argument", 'give {"id": <a dead letter id>} or {"all": true}');
      if (!(await data.purge(id))) return problem(c, 404, "not_found", `no dead letter ${body.id}`);
      return c.json({ purged: 1, message: `purged ${id}` });
    });
    app.post("/api/dead-letters/:id/replay", async (c) => {
      const id = positiveId(c.req.param("id"));
      const r = id && (await data.replay(id));
      if (!r) return problem(c, 404, "not_found", `no dead letter ${c.req.param("id")}`);
      return c.json({ ...r, message: replayMessage(r) });
    });
    app.get("/api/policies/:target", async (c) => {
      const target = c.req.param("target");
      if (!TARGET.test(target)) return problem(c, 400, "invalid_argument", `"${target}" is not a service name`);
      return c.json(await data.policy(target));
    });
    app.put("/api/policies/:target", async (c) => {
      const target = c.req.param("target");
      const r = await data.setPolicy(target, await c.req.text());
      if ("problems" in r)
        return c.json(
          {
            error: { code: "invalid_argument", message: `not stored: ${r.problems.join("; ")}`, problems: r.problems },
          },
          400,
        );
      return c.json({ ...r, message: `set ${target} (revision ${r.revision}): ${JSON.stringify(r.overrides)}` });
    });
    app.delete("/api/policies/:target", async (c) => {
      const target = c.req.param("target");
      if (!TARGET.test(target)) return problem(c, 400, "invalid_argument", `"${target}" is not a service name`);
      await data.deletePolicy(target);
      return c.json({ message: `deleted ${target}: calls to it use the defaults` });
    });

    // The pages.
    app.get("/", async (c) => page(c, "Services", servicesPage(await data.services())));
    app.get("/calls", async (c) => page(c, "Calls", callsPage(await data.calls())));
    app.get("/traces", (c) => page(c, "Traces", tracesPage(data.traces(queryOf(c)), queryOf(c))));
    app.get("/traces/:id", (c) => {
      const w = data.trace(c.req.param("id"));
      return w
        ? page(c, `Trace ${w.traceId}`, tracePage(w))
        : c.redirect(`/traces?trace=${encodeURIComponent(c.req.param("id"))}`, 303);
    });
    app.get("/events", async (c) => page(c, "Events", eventsPage(await data.events())));
    app.get("/dead-letters", async (c) => page(c, "Dead letters", deadLettersPage(await data.deadLetters())));
    app.get("/dead-letters/:id", async (c) => {
      const id = positiveId(c.req.param("id"));
      const l = id && (await data.deadLetter(id));
      return l ? page(c, `Dead letter ${l.id}`, deadLetterPage(l)) : c.redirect("/dead-letters", 303);
    });
    app.get("/orders", (c) => {
      const id = c.req.query("id");
      return id ? c.redirect(`/orders/${encodeURIComponent(id)}`, 303) : page(c, "Orders", orderPage(undefined, ""));
    });
    app.get("/orders/:id", (c) => page(c, "Order", orderPage(data.order(c.req.param("id")), c.req.param("id"))));
  };
}
