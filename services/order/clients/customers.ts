import type { RestClient } from "../../kit/rpc";
import type { Customers } from "../app/ports";
import { OrderRefusal } from "../domain/refusal";

/** The Customers port over the customer service's REST API (found through NATS, policy-wrapped). */
export function customersPort(customers: RestClient): Customers {
  return {
    async exists(id) {
      let res: Response;
      try {
        // The call's own budget (retries included): its timer ends with the call, where an AbortSignal.timeout would live on for the full 5 s.
        res = await customers(`/v1/customers/${encodeURIComponent(id)}`, { timeoutMs: 5000 });
      } catch (e) {
        throw new OrderRefusal("unavailable", `customer: ${e instanceof Error ? e.message : e}`);
      }
      await res.body?.cancel();
      if (res.status === 200) return true;
      if (res.status === 404) return false;
      throw new OrderRefusal(
        res.status === 400 ? "invalid" : "unavailable",
        `customer: GET /v1/customers/${id} answered ${res.status}`,
      );
    },
  };
}
