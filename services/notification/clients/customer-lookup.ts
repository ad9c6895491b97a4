import type { KnownCustomer } from "../db/notification-store";

/**
 * A customer by id from the customer service (GET /v1/customers/:id), for a customer whose
 * registration notification has not seen (registered before notification kept copies, or its event is
 * still on the way). Undefined when the service does not know it; throws (retryable) when it cannot answer.
 */
export function customerLookup(rest: (path: string, init?: { timeoutMs?: number }) => Promise<Response>) {
  return async (id: string): Promise<KnownCustomer | undefined> => {
    const res = await rest(`/v1/customers/${id}`, { timeoutMs: 5000 });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`customer service answered ${res.status} for customer ${id}`);
    const c = (await res.json()) as { id: string; email: string; name: string; createdAt: string };
    return { id: c.id, email: c.email, name: c.name, registeredAt: new Date(c.createdAt) };
  };
}
