import type { KitEnv } from "../../kit/http";
import type { Caller } from "../domain/caller";

/** Per-request values the gateway's middleware set for its handlers. */
export type GatewayEnv = {
  Variables: KitEnv["Variables"] & {
    caller: Caller;
    /** Credentials were sent but do not hold; answered after the rate limit counted the request. */
    credentialProblem?: { status: 401 | 403; message: string };
  };
};
