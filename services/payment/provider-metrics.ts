import { Counter, type Registry } from "prom-client";
import type { CardProvider } from "./domain/provider";

/**
 * Counts every provider call in payment_provider_charges_total{outcome}: captured, declined,
 * transient, or abandoned (aborted before it captured). Summed over replicas, it shows how often
 * the provider was really asked, whatever the retries and races in front of it.
 */
export function countedProvider(provider: CardProvider, registry: Registry): CardProvider {
  const charges = new Counter({
    name: "payment_provider_charges_total",
    help: "Calls to the card provider, by outcome",
    labelNames: ["outcome"],
    registers: [registry],
  });
  for (const outcome of ["captured", "declined", "transient", "abandoned"]) charges.inc({ outcome }, 0);
  return {
    lookup: (key) => provider.lookup(key),
    async charge(charge, signal) {
      try {
        const outcome = await provider.charge(charge, signal);
        charges.inc({ outcome: outcome.kind });
        return outcome;
      } catch (e) {
        charges.inc({ outcome: "abandoned" });
        throw e;
      }
    },
  };
}
