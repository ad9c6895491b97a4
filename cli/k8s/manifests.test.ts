// The committed Kubernetes manifests (deploy/k8s/), with no cluster at hand: they are what `bun run cli
// k8s` writes, every object is valid against the Kubernetes schemas (kubernetes-models), and they say
// what the platform needs: probes on the kit's /healthz and /readyz, resources, two replicas and a
// disruption budget per service, Secrets only by reference, NATS at three nodes with JetStream on files,
// and network policies that let through exactly DESIGN.md's communication matrix.
import { describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runToExit } from "../../services/kit/testing";
import { staleManifests } from "../k8s";
import { K8S_DIR } from "./manifest-files";
import { WORKLOADS, type Manifest } from "./workloads";

const ROOT = join(import.meta.dir, "../..");
const DIR = join(ROOT, K8S_DIR);
const SERVICES = ["gateway", "order", "payment", "inventory", "customer", "notification", "marketing"];

const files = readdirSync(DIR).filter((f) => f.endsWith(".yaml") && f !== "nats-values.yaml");
const docs: Manifest[] = files.flatMap((f) => Bun.YAML.parse(readFileSync(join(DIR, f), "utf8")) as Manifest[]);
const of = (kind: string, name: string) => {
  const found = docs.find((d) => d.kind === kind && d.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in ${K8S_DIR}`);
  return found as any;
};

describe("generated and valid", () => {
  test("the committed files are what `bun run cli k8s` writes; --check says so, and fails on a stale copy", async () => {
    expect(staleManifests()).toEqual([]);
    const ok = await runToExit(["bun", "cli/cli.ts", "k8s", "--check"]);
    expect({ code: ok.code, out: ok.stdout.trim() }).toEqual({ code: 0, out: `k8s: ${K8S_DIR} is up to date` });

    const copy = mkdtempSync(join(tmpdir(), "k8s-"));
    try {
      cpSync(DIR, copy, { recursive: true });
      writeFileSync(
        join(copy, "order.yaml"),
        readFileSync(join(copy, "order.yaml"), "utf8").replace("replicas: 2", "replicas: 1"),
      );
      rmSync(join(copy, "payment.yaml"));
      writeFileSync(join(copy, "left-over.yaml"), "kind: ConfigMap\n");
      expect(staleManifests(copy)).toEqual(["left-over.yaml", "order.yaml", "payment.yaml"]);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  test("every object is valid against the Kubernetes schemas (kubernetes-models)", async () => {
    expect(docs.length).toBe(3 + 1 + 7 * 4);
    const problems: string[] = [];
    for (const d of docs) {
      const [group, version] = d.apiVersion.includes("/") ? d.apiVersion.split("/") : ["", d.apiVersion];
      const mod = await import(`kubernetes-models/${group ? `${group}/` : ""}${version}`);
      const Model = mod[d.kind];
      if (!Model) {
        problems.push(`${d.apiVersion} ${d.kind}: no schema`);
        continue;
      }
      try {
        new Model(d).validate();
      } catch (e) {
        problems.push(`${d.kind} ${d.metadata.name}: ${e instanceof Error ? e.message : e}`);
      }
    }
    expect(problems).toEqual([]);
  });

  test("a broken object is caught: the validation is real", async () => {
    const { Deployment } = await import("kubernetes-models/apps/v1");
    const broken = structuredClone(of("Deployment", "order"));
    broken.spec.template.spec.containers[0].ports[0].containerPort = "8081";
    expect(() => new Deployment(broken).validate()).toThrow(/containerPort must be integer/);
  });

  test("the ports are the ones each service's main.ts declares", () => {
    for (const name of SERVICES) {
      const main = readFileSync(join(ROOT, "services", name, "main.ts"), "utf8");
      const declared = Object.fromEntries(
        [...main.match(/ports: \{([^}]*)\}/)![1]!.matchAll(/(\w+): (\d+)/g)].map(([, k, v]) => [k, Number(v)]),
      );
      expect({ name, ports: WORKLOADS[name]!.ports }).toEqual({ name, ports: declared as any });
    }
  });
});

describe("every service", () => {
  for (const name of SERVICES) {
    test(`${name}: replicas, probes on /healthz and /readyz, resources, PDB, Service, secrets by reference`, () => {
      const d = of("Deployment", name);
      const pod = d.spec.template.spec;
      const [c] = pod.containers;
      expect(d.spec.replicas).toBeGreaterThanOrEqual(2);
      expect(c.command).toEqual(["bun", `services/${name}/main.ts`]);
      const portNames = c.ports.map((p: { name: string }) => p.name);
      // The gateway's public port serves its routes alone: probes go to its operations port, open to the kubelet.
      const probePort = name === "gateway" ? "ops" : "http";
      expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: probePort });
      expect(c.livenessProbe.httpGet).toEqual({ path: "/healthz", port: probePort });
      expect(c.startupProbe.httpGet).toEqual({ path: "/healthz", port: probePort });
      expect(portNames).toContain(probePort);
      if (name === "gateway") expect(c.env).toContainEqual({ name: "OPS_HOST", value: "0.0.0.0" });
      expect(Object.keys(c.resources.requests).sort()).toEqual(["cpu", "memory"]);
      expect(c.resources.limits.memory).toBeDefined();
      expect(pod.securityContext.runAsNonRoot).toBe(true);

      // Postgres through a Secret (PGlite is one process's, and replicas share the tables); never a value in here.
      const env = Object.fromEntries(c.env.map((e: { name: string }) => [e.name, e]));
      if (name === "gateway") expect(env.DATABASE_URL).toBeUndefined();
      else {
        expect(env.DATABASE_URL.valueFrom.secretKeyRef).toEqual({ name: "shop-database", key: "DATABASE_URL" });
        expect(env.DATABASE_SCHEMA.value).toBe(name);
      }
      for (const e of c.env as { name: string; value?: string }[])
        if (/SECRET|KEY|PASSWORD|SEED|_URL|TOKEN/.test(e.name))
          expect({ [e.name]: e.value }).toEqual({ [e.name]: undefined });
      expect(c.envFrom).toContainEqual({ secretRef: { name: `shop-${name}-identity` } });

      const labels = d.spec.template.metadata.labels;
      expect(d.spec.selector.matchLabels).toEqual(labels);
      const pdb = of("PodDisruptionBudget", name);
      expect(pdb.spec.selector.matchLabels).toEqual(labels);
      expect(pdb.spec.maxUnavailable).toBeLessThan(d.spec.replicas);
      const svc = of("Service", name);
      expect(svc.spec.selector).toEqual(labels);
      for (const p of svc.spec.ports) expect(portNames).toContain(p.targetPort);
    });
  }

  test("no Secret is committed; the streams Job runs as the operator before the services", () => {
    expect(docs.filter((d) => d.kind === "Secret")).toEqual([]);
    const job = of("Job", "shop-streams");
    expect(job.spec.template.spec.containers[0].command).toEqual(["bun", "cli/streams.ts"]);
    expect(job.spec.template.metadata.labels["shop-platform/operator"]).toBe("true");
  });
});

describe("NATS at R3", () => {
  const values = Bun.YAML.parse(readFileSync(join(DIR, "nats-values.yaml"), "utf8")) as any;

  test("the official chart's values: three clustered nodes, JetStream on file storage, TLS and the identities", () => {
    expect(values.config.cluster).toEqual({ enabled: true, replicas: 3 });
    expect(values.config.jetstream.enabled).toBe(true);
    expect(values.config.jetstream.fileStore).toMatchObject({ enabled: true, pvc: { enabled: true } });
    expect(values.config.nats.tls).toMatchObject({ enabled: true, secretName: "shop-nats-tls" });
    expect(Object.entries(values.config.merge)).toEqual([["00$include", "../nats-auth/auth.conf"]]);
    expect(values.podDisruptionBudget.enabled).toBe(true);
  });

  test("services reach it through the chart's Service and make every stream with three copies", () => {
    const config = of("ConfigMap", "shop-config");
    expect(config.data.NATS_URL).toBe(`tls://${values.fullnameOverride}:4222`);
    expect(config.data.STREAM_REPLICAS).toBe("3");
  });
});

describe("network policies: DESIGN.md's communication matrix, nothing more", () => {
  // The pods of the namespace and their labels: the services, the operator's Job, the NATS nodes.
  const pods: Record<string, Record<string, string>> = {
    ...Object.fromEntries(
      SERVICES.map((s) => [s, of("Deployment", s).spec.template.metadata.labels as Record<string, string>]),
    ),
    operator: of("Job", "shop-streams").spec.template.metadata.labels,
    nats: {
      "app.kubernetes.io/name": "nats",
      "app.kubernetes.io/component": "nats",
      "app.kubernetes.io/instance": "nats",
    },
  };
  const matches = (selector: { matchLabels: Record<string, string> }, labels: Record<string, string>) =>
    Object.entries(selector.matchLabels).every(([k, v]) => labels[k] === v);
  const policyOf = (name: string) => {
    const policies = docs.filter(
      (d) => d.kind === "NetworkPolicy" && matches((d as any).spec.podSelector, pods[name]!),
    );
    expect(policies).toHaveLength(1);
    expect((policies[0] as any).spec.policyTypes).toEqual(["Ingress", "Egress"]);
    return (policies[0] as any).spec;
  };
  type Rule = { from?: any[]; to?: any[]; ports?: { port: number; protocol: string }[] };
  /** Who a rule lets in (or out to): pods of the namespace by name, "anyone" when it names no peer. */
  const peers = (list: any[] | undefined) =>
    list === undefined
      ? ["anyone"]
      : Object.keys(pods).filter((p) =>
          list.some((peer) => peer.podSelector && !peer.namespaceSelector && matches(peer.podSelector, pods[p]!)),
        );
  const ingressOf = (name: string) =>
    policyOf(name)
      .ingress.flatMap((r: Rule) => peers(r.from).map((p) => `${p}:${r.ports!.map((x) => x.port).join(",")}`))
      .sort();
  const egressOf = (name: string) =>
    policyOf(name)
      .egress.filter((r: Rule) => !r.ports!.every((p) => p.port === 53))
      .flatMap((r: Rule) => peers(r.to).map((p) => `${p}:${r.ports!.map((x) => x.port).join(",")}`))
      .sort();

  // DESIGN.md: Client → Gateway (REST); Gateway → services (Connect over NATS; the gateway's table:
  // order, inventory, customer); Order → Payment, Order → Inventory, Order → Customer; Notification looks
  // up customers; Operator → anything. Events and discovery go through NATS.
  const CALLS: Record<string, string[]> = {
    gateway: ["order", "inventory", "customer"],
    order: ["inventory", "payment", "customer"],
    notification: ["customer"],
  };
  const callersOf = (s: string) => Object.keys(CALLS).filter((c) => CALLS[c]!.includes(s));
  const httpPorts = (s: string) => [WORKLOADS[s]!.ports.http, WORKLOADS[s]!.ports.grpc].filter(Boolean).join(",");

  test("payment takes calls from order alone (and the operator's tools)", () => {
    expect(ingressOf("payment")).toEqual(["operator:8082,9082", "order:8082,9082"]);
  });

  test("the gateway alone takes traffic from outside, on its public port", () => {
    expect(ingressOf("gateway")).toEqual(["anyone:8080"]);
    for (const s of SERVICES.filter((s) => s !== "gateway"))
      expect(ingressOf(s).filter((r: string) => r.startsWith("anyone"))).toEqual([]);
  });

  for (const s of SERVICES.filter((s) => s !== "gateway"))
    test(`${s} takes calls from ${callersOf(s).join(", ") || "no service"} alone (and the operator's tools)`, () => {
      expect(ingressOf(s)).toEqual([...callersOf(s), "operator"].map((c) => `${c}:${httpPorts(s)}`).sort());
    });

  for (const s of SERVICES)
    test(`${s} reaches NATS, DNS${s === "gateway" ? "" : ", Postgres"} and exactly the services it calls`, () => {
      const expected = [
        "nats:4222",
        ...(s === "gateway" ? [] : ["anyone:5432"]),
        ...(s === "notification" ? ["anyone:25,465,587"] : []),
        ...(CALLS[s] ?? []).map((c) => `${c}:${WORKLOADS[c]!.ports.http}`),
      ].sort();
      expect(egressOf(s)).toEqual(expected);
      const dns = policyOf(s).egress.find((r: Rule) => r.ports!.every((p) => p.port === 53));
      expect(dns.to[0].namespaceSelector.matchLabels).toEqual({ "kubernetes.io/metadata.name": "kube-system" });
    });

  test("the streams Job takes nothing in and reaches NATS alone", () => {
    const job = docs.find((d) => d.kind === "NetworkPolicy" && d.metadata.name === "shop-streams") as any;
    expect(job.spec.ingress).toEqual([]);
    expect(job.spec.egress.flatMap((r: Rule) => r.ports!.map((p) => p.port)).sort()).toEqual([4222, 53, 53].sort());
  });
});
