// One NATS cluster configuration: compose's three nodes and the tests' clusters run the same
// deploy/nats/cluster.conf (compose through nats.conf, which adds only TLS and the identities), every
// service is given all three nodes, and streams are made with a copy on each.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CLUSTER_CONF } from "../services/kit/testing";

const ROOT = join(import.meta.dir, "..");
const compose = Bun.YAML.parse(readFileSync(join(ROOT, "docker-compose.yml"), "utf8")) as {
  services: Record<string, { volumes?: string[]; environment?: Record<string, string>; command?: string[] }>;
};
const NODES = ["nats-1", "nats-2", "nats-3"];

test("the tests' clusters run the file compose mounts, and nats.conf includes it", () => {
  expect(CLUSTER_CONF).toBe(join(ROOT, "deploy/nats/cluster.conf"));
  expect(readFileSync(join(ROOT, "deploy/nats/nats.conf"), "utf8")).toMatch(/^include cluster\.conf$/m);
  for (const node of NODES) {
    const s = compose.services[node]!;
    expect(s.command).toEqual(["nats-server", "--config", "/etc/nats/nats.conf"]);
    expect(s.volumes).toContain("./deploy/nats/nats.conf:/etc/nats/nats.conf:ro");
    expect(s.volumes).toContain("./deploy/nats/cluster.conf:/etc/nats/cluster.conf:ro");
    expect(s.environment).toEqual({ NATS_SERVER_NAME: node, NATS_STORE_DIR: "/data/jetstream" });
    expect(s.volumes).toContain(`${node}-data:/data`);
  }
});

test("cluster.conf routes to the three compose nodes, takes its name and store from the environment", () => {
  const conf = readFileSync(CLUSTER_CONF, "utf8");
  for (const node of NODES) expect(conf).toContain(`nats-route://${node}:6222`);
  expect(conf).toMatch(/^server_name: \$NATS_SERVER_NAME$/m);
  expect(conf).toMatch(/^\s+store_dir: \$NATS_STORE_DIR$/m);
  // Nothing a test could not run: TLS and the identities are nats.conf's.
  expect(conf).not.toMatch(/^\s*(tls|include)\b/m);
});

test("every service and the operator's tools are given all three nodes; streams keep a copy on each", () => {
  const all = NODES.map((n) => `tls://${n}:4222`).join(",");
  for (const [name, s] of Object.entries(compose.services)) {
    if (NODES.includes(name) || name === "postgres") continue;
    expect({ name, url: s.environment?.NATS_URL }).toEqual({ name, url: all });
  }
  for (const name of ["streams", "order", "payment", "inventory"])
    expect({ name, replicas: compose.services[name]!.environment?.STREAM_REPLICAS }).toEqual({ name, replicas: "3" });
});
