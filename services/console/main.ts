import { version } from "../../package.json";
import { runService } from "../kit";
import { buildConsole } from "./app";

await runService({
  name: "console",
  version,
  description: "The operators' web console: instances, calls, traces, events, dead letters",
  // Its HTTP port faces a browser (pages, login, OTLP): probes and metrics answer on the operations port.
  // Both bind to loopback unless HOST / OPS_HOST say otherwise.
  ports: { http: 8087, ops: 9087 },
  build: buildConsole,
});
