// The customer service as a process on real Postgres (its own schema): every route, bad input that
// writes nothing, racing registrations of one e-mail, and the embedded PGlite default.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServiceProcess, type ServiceProcess, testSchemas } from "../../services/kit/testing";

const schemas = testSchemas();
let customer: ServiceProcess;

beforeAll(async () => {
  customer = await startServiceProcess("customer", { env: schemas.env("customer") });
});
afterAll(async () => {
  const code = await customer?.stop();
  await schemas.drop();
  expect(code).toBe(0);
});

const table = () => `"${schemas.schema("customer")}".customers`;
const rowsWithEmail = (email: string) =>
  schemas.sql.unsafe(`select id, email, name, created_at from ${table()} where email = $1`, [email]);
const rowCount = async () => Number((await schemas.sql.unsafe(`select count(*)::int as n from ${table()}`))[0]!.n);

const register = (
  base: string,
  body: unknown,
  headers: Record<string, string> = { "content-type": "application/json" },
) =>
  fetch(`${base}/v1/customers`, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
const uniqueEmail = (who = "ada") => `${who}-${crypto.randomUUID().slice(0, 8)}@Example.com`;

describe("POST /v1/customers", () => {
  test("registers a customer: 201 with the stored resource, the e-mail lower-cased, one row", async () => {
    const email = uniqueEmail();
    const res = await register(customer.http, { email, name: "  Ada Lovelace " });
    expect(res.status).toBe(201);
    const body = (await res.json()) as any;
    expect(body).toEqual({
      id: expect.any(String),
      email: email.toLowerCase(),
      name: "Ada Lovelace",
      createdAt: expect.any(String),
    });
    expect(Date.parse(body.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    const rows = await rowsWithEmail(email.toLowerCase());
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: body.id, name: "Ada Lovelace" });
    expect(new Date(rows[0]!.created_at).toISOString()).toBe(body.createdAt);
  });

  test("the same e-mail in another case is a duplicate: 409 already_exists, still one row", async () => {
    const email = uniqueEmail("grace");
    expect((await register(customer.http, { email, name: "Grace" })).status).toBe(201);
    const dup = await register(customer.http, { email: email.toUpperCase(), name: "Grace Hopper" });
    expect(dup.status).toBe(409);
    expect(await dup.json()).toEqual({
      error: { code: "already_exists", message: `a customer with email ${email.toLowerCase()} exists` },
    });
    const rows = await rowsWithEmail(email.toLowerCase());
    expect(rows.map((r) => r.name)).toEqual(["Grace"]);
  });

  test("20 concurrent registrations of one e-mail: exactly one 201, nineteen 409, one row", async () => {
    const email = uniqueEmail("race");
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        register(customer.http, { email: i % 2 ? email : email.toLowerCase(), name: `Racer ${i}` }),
      ),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([201, ...Array(19).fill(409)]);
    const winner = (await answers.find((r) => r.status === 201)!.json()) as any;
    const rows = await rowsWithEmail(email.toLowerCase());
    expect(rows).toHaveLength(1);
    expect(rows[0]!.id).toBe(winner.id);
  });

  const badBodies: [string, unknown, string][] = [
    ["no email", { name: "Ada" }, "email is required"],
    ["email not a string", { email: 42, name: "Ada" }, "email is required"],
    ["email not an address", { email: "ada.example.com", name: "Ada" }, "email is not an e-mail address"],
    ["email with a space", { email: "ada lovelace@example.com", name: "Ada" }, "email is not an e-mail address"],
    ["email too long", { email: `${"a".repeat(250)}@example.com`, name: "Ada" }, "email is not an e-mail address"],
    ["no name", { email: "nameless@example.com" }, "name is required"],
    ["blank name", { email: "blank@example.com", name: "   " }, "name is required"],
    ["name too long", { email: "long@example.com", name: "x".repeat(201) }, "name must be at most 200 characters"],
    ["both wrong", { email: "", name: "" }, "email is required; name is required"],
  ];
  for (const [what, body, message] of badBodies) {
    test(`bad input (${what}): 400 invalid_argument naming the field, nothing written`, async () => {
      const before = await rowCount();
      const res = await register(customer.http, body);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: { code: "invalid_argument", message } });
      expect(await rowCount()).toBe(before);
    });
  }

  test("malformed bodies: invalid JSON and non-objects are 400, a wrong content-type 415, nothing written", async () => {
    const before = await rowCount();
    const cases: [unknown, number, string, Record<string, string>?][] = [
      ["{", 400, "body is not valid JSON"],
      ["[1,2]", 400, "body must be a JSON object"],
      ["null", 400, "body must be a JSON object"],
      [
        JSON.stringify({ email: "ct@example.com", name: "Ct" }),
        415,
        "content-type must be application/json",
        { "content-type": "text/plain" },
      ],
    ];
    for (const [body, status, message, headers] of cases) {
      const res = await register(customer.http, body, headers);
      expect(res.status).toBe(status);
      expect(((await res.json()) as any).error.message).toBe(message);
    }
    expect(await rowCount()).toBe(before);
  });
});

describe("GET /v1/customers/:id", () => {
  test("fetches a registered customer", async () => {
    const email = uniqueEmail("fetch");
    const created = (await (await register(customer.http, { email, name: "Fetch Me" })).json()) as any;
    const res = await fetch(`${customer.http}/v1/customers/${created.id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(created);
  });

  test("an unknown UUID is 404 not_found", async () => {
    const id = crypto.randomUUID();
    const res = await fetch(`${customer.http}/v1/customers/${id}`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "not_found", message: `customer ${id} not found` } });
  });

  test("an id that is not a UUID is 400 invalid_argument naming id", async () => {
    const res = await fetch(`${customer.http}/v1/customers/not-a-uuid`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: "invalid_argument", message: "id must be a UUID" } });
  });
});

describe("GET /v1/customers?email=", () => {
  test("finds a customer by e-mail, whatever its case", async () => {
    const email = uniqueEmail("lookup");
    const created = (await (await register(customer.http, { email, name: "Look Up" })).json()) as any;
    const res = await fetch(`${customer.http}/v1/customers?email=${encodeURIComponent(email.toUpperCase())}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(created);
  });

  test("no customer with that e-mail is 404 not_found", async () => {
    const email = uniqueEmail("nobody").toLowerCase();
    const res = await fetch(`${customer.http}/v1/customers?email=${encodeURIComponent(email)}`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "not_found", message: `no customer with email ${email}` } });
  });

  test("a missing or malformed email parameter is 400 naming email (there is no listing)", async () => {
    for (const [query, message] of [
      ["", "email is required"],
      ["?email=", "email is required"],
      ["?email=nope", "email is not an e-mail address"],
    ]) {
      const res = await fetch(`${customer.http}/v1/customers${query}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: { code: "invalid_argument", message } });
    }
  });
});

// A fresh PGlite runs initdb (several CPU-seconds), so this test allows for a busy machine.
test("without DATABASE_URL it keeps customers in PGlite under DATA_DIR, across a restart", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "customer-pglite-"));
  const env = { DATABASE_URL: "", DATA_DIR: dataDir };
  try {
    const first = await startServiceProcess("customer", { env, timeoutMs: 90_000 });
    let created: any;
    try {
      expect(first.logs.find((l) => l.msg === "database ready")).toMatchObject({
        driver: "pglite",
        dir: join(dataDir, "customer", "pglite"),
      });
      const res = await register(first.http, { email: "pglite@example.com", name: "Embedded" });
      expect(res.status).toBe(201);
      created = await res.json();
      expect((await fetch(`${first.http}/readyz`)).status).toBe(200);
    } finally {
      expect(await first.stop()).toBe(0);
    }
    const second = await startServiceProcess("customer", { env, timeoutMs: 90_000 });
    try {
      expect(await (await fetch(`${second.http}/v1/customers/${created.id}`)).json()).toEqual(created);
      expect((await register(second.http, { email: "PGLITE@example.com", name: "Again" })).status).toBe(409);
    } finally {
      expect(await second.stop()).toBe(0);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}, 200_000);
