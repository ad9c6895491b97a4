import { ORDERS } from "./contract/events";
import { version } from "../../package.json";
import { runService } from "../kit";
import * as schema from "./db/schema";
import { orderParts, remotePorts } from "./parts";
import { callersOf } from "../platform/communication";

await runService({
  name: "order",
  version,
  callers: callersOf("order"),
  description: "Orders and the order saga",
  ports: { http: 8081, grpc: 9081 },
  database: { schema, migrations: `${import.meta.dir}/db/migrations` },
  outbox: { streams: [ORDERS] },
  build: ({ env, log, clients, db, metrics }) =>
    orderParts({ env, db, remote: remotePorts(clients, env), log, registry: metrics.registry }),
});
