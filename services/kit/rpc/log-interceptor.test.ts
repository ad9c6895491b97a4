// A handler's fault never reaches its caller as text: not a query, not its parameters. The caller gets
// "internal error" with the request id it can quote (the log has the rest), or Unavailable when the
// database could not be reached; the handler's own verdicts pass unchanged.
import { expect, test } from "bun:test";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { Health } from "../../contracts/gen/health/v1/health_pb";
import { createLogger } from "../log";
import { logInterceptor } from "./log-interceptor";

function world(fault: (service: string) => unknown) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger("test", "debug", { write: (l: string) => void lines.push(JSON.parse(l)) });
  const transport = createRouterTransport(
    (router) =>
      router.service(Health, {
        async check(req) {
          throw fault(req.service);
        },
        async list() {
          return { statuses: {} };
        },
        async *watch() {},
      }),
    { router: { interceptors: [logInterceptor(log)] } },
  );
  return { client: createClient(Health, transport), lines };
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => new ConnectError("expected a failure"),
    (e) => ConnectError.from(e),
  );

test("a query error: Internal 'internal error (request <id>)'; the log says why without the statement, its parameters or the values Postgres quotes", async () => {
  const cause = Object.assign(new Error('date/time field value out of range: "+200000-01-01 ada@example.com"'), {
    code: "22008",
    routine: "DateTimeParseError",
    detail: "Key (email)=(ada@example.com)",
  });
  const query = new Error("Failed query: select * from orders where email = $1\nparams: ada@example.com", { cause });
  const { client, lines } = world(() => query);
  const err = await failure(client.check({ service: "x" }, { headers: { "x-request-id": "req-42" } }));
  expect(err.code).toBe(Code.Internal);
  expect(err.rawMessage).toBe("internal error (request req-42)");
  expect(err.metadata.get("x-request-id")).toBe("req-42");
  const logged = JSON.stringify(lines);
  expect(logged).toContain("Failed query");
  expect(logged).toContain('"code":"22008"');
  expect(logged).toContain("date/time field value out of range");
  expect(logged).not.toContain("ada@example.com");
  expect(logged).not.toContain("select * from orders");
});

test("the database unreachable: Unavailable, worth a retry", async () => {
  const { client } = world(
    () =>
      new Error("Failed query: update orders", {
        cause: Object.assign(new Error("write CONNECTION_CLOSED"), { code: "CONNECTION_CLOSED" }),
      }),
  );
  const err = await failure(client.check({ service: "x" }));
  expect(err.code).toBe(Code.Unavailable);
  expect(err.rawMessage).toMatch(/^database unavailable; retry \(request [\w-]+\)$/);
});

test("a handler's verdict passes as it is", async () => {
  const { client } = world((s) => new ConnectError(`no such service ${s}`, Code.NotFound));
  const err = await failure(client.check({ service: "nope" }));
  expect(err.code).toBe(Code.NotFound);
  expect(err.rawMessage).toBe("no such service nope");
});
