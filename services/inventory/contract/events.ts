// Inventory's events: the one file of the inventory service other services, the CLI and tests may import.
import { ReservationExpiredSchema } from "../../contracts/gen/shop/inventory/v1/events_pb";
import { defineEvent, defineStream } from "../../kit/events";

export const INVENTORY = defineStream("INVENTORY", "inventory");

export const ReservationExpired = defineEvent(INVENTORY, ReservationExpiredSchema, "reservation_expired");
