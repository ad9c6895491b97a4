import { ORDERS } from "./contract/events";
import { runPlatformService } from "../platform/run-platform-service";
import * as schema from "./db/schema";
import { orderParts, remotePorts } from "./parts";

await runPlatformService({
  name: "order",
  description: "Orders and the order saga",
  ports: { http: 8081, grpc: 9081 },
  database: { schema, outbox: [ORDERS] },
  build: ({ env, log, clients, db, metrics }) =>
    orderParts({ env, db, remote: remotePorts(clients, env), log, registry: metrics.registry }),
});
