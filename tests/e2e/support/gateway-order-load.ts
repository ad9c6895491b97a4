// Customers placing and confirming orders through the gateway's REST API, as curl would: each client
// signs up once (its own token), then places an order and confirms it, over and over, until told to
// stop. Every call that fails is kept with its HTTP status, google.rpc code name and when it ended, so a
// fault test can say which calls failed, why, and for how long.

export interface FailedCall {
  call: "create" | "confirm";
  /** `503 UNAVAILABLE`, `504 DEADLINE_EXCEEDED`, or `fetch <error>` when no HTTP answer came. */
  code: string;
  /** What the gateway said (its error's message), shortened. */
  message: string;
  /** The order a confirm was for. */
  orderId?: string;
  startedAt: number;
  endedAt: number;
}

export interface GatewayLoad {
  /** Orders the gateway answered a CreateOrder for (their ids), in the order they were placed. */
  readonly placed: string[];
  /** How each confirm answered: an order status, or a failure's code. */
  readonly confirmAnswers: Record<string, number>;
  readonly failures: FailedCall[];
  /** When the first call that started at `t` or later succeeded (undefined: none yet). */
  firstSuccessStartedAfter(t: number): number | undefined;
  /** Calls (create and confirm) that ended, and that succeeded. */
  readonly calls: () => { ended: number; succeeded: number };
  /** Stops placing new orders; resolves once every client finished the order in hand. */
  stop(): Promise<void>;
}

const PRODUCTS = ["sku-a", "sku-b", "sku-c"];

/**
 * Seeds products (admin key) and `clients` customers (each signs up), then starts the clients. Placing
 * is asked again after a failure (a customer would); a confirm is asked once: the platform must finish
 * it without anyone asking twice.
 */
export async function startGatewayOrderLoad({
  gateway,
  adminKey,
  clients = 16,
  paceMs = 0,
}: {
  gateway: string;
  adminKey: string;
  clients?: number;
  paceMs?: number;
}): Promise<GatewayLoad> {
  for (const id of PRODUCTS) {
    const res = await fetch(`${gateway}/v1/products/${id}`, {
      method: "PUT",
      headers: { "x-api-key": adminKey, "content-type": "application/json" },
      body: JSON.stringify({ name: id, price: { amountMinor: "1500", currency: "EUR" }, stock: 1_000_000 }),
    });
    if (!res.ok) throw new Error(`seeding ${id}: ${res.status} ${await res.text()}`);
  }
  const tokens: string[] = [];
  for (let i = 0; i < clients; i++) {
    const res = await fetch(`${gateway}/v1/customers`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: `cluster-${i}-${crypto.randomUUID()}@example.com`, name: `Cluster ${i}` }),
    });
    if (res.status !== 201) throw new Error(`sign-up: ${res.status} ${await res.text()}`);
    tokens.push(((await res.json()) as { token: string }).token);
  }

  const placed: string[] = [];
  const confirmAnswers: Record<string, number> = {};
  const failures: FailedCall[] = [];
  let ended = 0;
  let succeeded = 0;
  const successes: { startedAt: number; endedAt: number }[] = [];
  let stopping = false;

  const call = async (
    kind: FailedCall["call"],
    token: string,
    path: string,
    body: unknown,
    orderId?: string,
  ): Promise<{ order?: { id: string; status: string }; code?: string }> => {
    const startedAt = Date.now();
    let code: string;
    let message = "";
    try {
      const res = await fetch(`${gateway}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        // Longer than the gateway's upstream timeout (15 s): its answer, not ours, says what went wrong.
        signal: AbortSignal.timeout(30_000),
      });
      const json = (await res.json().catch(() => ({}))) as {
        order?: { id: string; status: string };
        status?: string;
        message?: string;
      };
      ended++;
      if (res.ok && json.order) {
        succeeded++;
        successes.push({ startedAt, endedAt: Date.now() });
        return { order: json.order };
      }
      code = `${res.status} ${json.status ?? ""}`.trim();
      message = (json.message ?? "").slice(0, 160);
    } catch (e) {
      ended++;
      code = `fetch ${e instanceof Error ? e.name : "error"}`;
      message = e instanceof Error ? e.message.slice(0, 160) : "";
    }
    failures.push({ call: kind, code, message, orderId, startedAt, endedAt: Date.now() });
    return { code };
  };

  const client = async (c: number) => {
    const token = tokens[c]!;
    for (let i = c; !stopping; i += clients) {
      let order: { id: string } | undefined;
      while (!order && !stopping) {
        order = (
          await call("create", token, "/v1/orders", {
            currency: "EUR",
            items: [{ productId: PRODUCTS[i % PRODUCTS.length], quantity: 1 + (i % 3) }],
          })
        ).order;
        if (!order) await Bun.sleep(250);
      }
      if (!order) return;
      placed.push(order.id);
      const confirmed = await call(
        "confirm",
        token,
        `/v1/orders/${order.id}:confirm`,
        {
          cardToken: i % 10 === 9 ? "tok_declined" : "tok_success",
        },
        order.id,
      );
      const answer = confirmed.order?.status ?? `error ${confirmed.code}`;
      confirmAnswers[answer] = (confirmAnswers[answer] ?? 0) + 1;
      if (paceMs) await Bun.sleep(paceMs);
    }
  };
  const running = Promise.all(Array.from({ length: clients }, (_, c) => client(c)));

  return {
    placed,
    confirmAnswers,
    failures,
    firstSuccessStartedAfter: (t) =>
      successes
        .filter((s) => s.startedAt >= t)
        .reduce<number | undefined>((a, s) => Math.min(a ?? s.endedAt, s.endedAt), undefined),
    calls: () => ({ ended, succeeded }),
    async stop() {
      stopping = true;
      await running;
    },
  };
}
