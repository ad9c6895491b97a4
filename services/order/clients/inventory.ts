import type { Client } from "@connectrpc/connect";
import type { InventoryService } from "../../contracts/gen/shop/inventory/v1/inventory_service_pb";
import type { Inventory } from "../app/ports";
import { OrderRefusal } from "../domain/refusal";
import { refusalKind, stepOutcome } from "./step-outcome";

/** The Inventory port over the inventory service's Connect client (found through NATS, policy-wrapped). */
export function inventoryPort(client: Client<typeof InventoryService>): Inventory {
  return {
    async availability(items) {
      try {
        return (await client.checkAvailability({ items })).items;
      } catch (e) {
        const { kind, message } = refusalKind(e);
        throw new OrderRefusal(kind, `inventory: ${message}`);
      }
    },
    reserve: (orderId, items, ttlSeconds, { timeoutMs }) =>
      stepOutcome("inventory", async () => ({
        reservationId: (await client.reserveItems({ orderId, items, ttlSeconds }, { timeoutMs })).reservation!.id,
      })),
    commit: (reservationId, { timeoutMs }) =>
      stepOutcome("inventory", async () => void (await client.commitReservation({ reservationId }, { timeoutMs }))),
    release: (what, reason, { timeoutMs }) =>
      stepOutcome("inventory", async () => void (await client.releaseReservation({ ...what, reason }, { timeoutMs }))),
  };
}
