import { integer, readConfig, type Env } from "../kit";
import { MAX_TTL_SECONDS } from "./domain/reservations";

/** Inventory's own settings, read once at start; a bad value stops the service naming the variable. */
export function inventoryConfig(env: Env) {
  return readConfig(
    {
      /** How long a reservation holds stock when ReserveItems asks for ttl_seconds 0. */
      RESERVATION_TTL_SECONDS: integer(900, { min: 1, max: MAX_TTL_SECONDS }),
      /** How often each replica looks for reservations past their expiry. */
      RESERVATION_SWEEP_MS: integer(1000, { min: 10, max: 3_600_000 }),
    },
    env,
  );
}
