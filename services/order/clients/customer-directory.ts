import { Code, ConnectError } from "@connectrpc/connect";

/** Asks the customer service (plain REST) whether a customer exists. */
export function customerDirectory(customers: (path: string, init?: RequestInit) => Promise<Response>) {
  return async (id: string): Promise<boolean> => {
    const res = await customers(`/v1/customers/${encodeURIComponent(id)}`, { signal: AbortSignal.timeout(5000) });
    await res.body?.cancel();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw new ConnectError(`customer: GET /v1/customers/${id} answered ${res.status}`, res.status === 400 ? Code.InvalidArgument : Code.Unavailable);
  };
}
