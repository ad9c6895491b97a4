import { Code, ConnectError } from "@connectrpc/connect";
import type { RestClient } from "../../kit/rpc/service-client";

/** Asks the customer service (plain REST) whether a customer exists. */
export function customerDirectory(customers: RestClient) {
  return async (id: string): Promise<boolean> => {
    // The call's own budget (retries included): its timer ends with the call, where an AbortSignal.timeout would live on for the full 5 s.
    const res = await customers(`/v1/customers/${encodeURIComponent(id)}`, { timeoutMs: 5000 });
    await res.body?.cancel();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw new ConnectError(`customer: GET /v1/customers/${id} answered ${res.status}`, res.status === 400 ? Code.InvalidArgument : Code.Unavailable);
  };
}
