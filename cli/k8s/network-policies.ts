// Who may reach whom in the cluster, from the platform's table (services/platform/communication.ts,
// DESIGN.md's matrix as data), and nothing more. Calls between services ride on NATS, so every service
// reaches the NATS pods; a call also goes straight to the callee's HTTP port while the bus is down (the
// kit's fallback), so a caller reaches exactly the services it calls, and a service accepts exactly its
// callers (and the operator's tools). The gateway alone takes traffic from outside. Probes come from the
// kubelet on the node, which network policies do not govern.
import { callersOf, OPERATOR, PLATFORM } from "../../services/platform/communication";
import { K8S_NAMESPACE, labelsOf, NATS_POD_LABELS, OPERATOR_LABEL, WORKLOADS, type Manifest } from "./workloads";

const tcp = (port: number) => ({ protocol: "TCP", port });

/** Name resolution: the cluster DNS (kube-dns / CoreDNS pods in kube-system). */
const DNS = {
  to: [
    {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
      podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
    },
  ],
  ports: [
    { protocol: "UDP", port: 53 },
    { protocol: "TCP", port: 53 },
  ],
};

/** The bus: events, discovery, RPC between services, policies (the nats chart's pods, client port). */
const NATS = { to: [{ podSelector: { matchLabels: NATS_POD_LABELS } }], ports: [tcp(4222)] };

/** Postgres, wherever it runs (in the cluster or a managed one outside): DATABASE_URL says where. */
const DATABASE = { ports: [tcp(5432)] };

const servicePorts = (name: string) => {
  const p = WORKLOADS[name]!.ports;
  return [tcp(p.http), ...(p.grpc ? [tcp(p.grpc)] : [])];
};

/** The NetworkPolicy of one service: its ingress from its callers, its egress to what it uses. */
export function networkPolicyOf(name: string): Manifest {
  const role = PLATFORM[name]!;
  const w = WORKLOADS[name]!;
  const callers = callersOf(name).filter((c) => c !== OPERATOR);
  const ingress =
    name === "gateway"
      ? // The edge: any client, on the public port only (its probes and metrics are on the ops port).
        [{ ports: [tcp(w.ports.http)] }]
      : [
          {
            from: [
              ...callers.map((c) => ({ podSelector: { matchLabels: labelsOf(c) } })),
              { podSelector: { matchLabels: OPERATOR_LABEL } },
            ],
            ports: servicePorts(name),
          },
        ];
  const egress = [
    DNS,
    NATS,
    ...(w.database ? [DATABASE] : []),
    ...role.calls.map((callee) => ({
      to: [{ podSelector: { matchLabels: labelsOf(callee) } }],
      ports: [tcp(WORKLOADS[callee]!.ports.http)],
    })),
    ...(w.egress ? [{ ports: w.egress.ports.map(tcp) }] : []),
  ];
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace: K8S_NAMESPACE, labels: labelsOf(name) },
    spec: { podSelector: { matchLabels: labelsOf(name) }, policyTypes: ["Ingress", "Egress"], ingress, egress },
  };
}

/** The streams Job talks to NATS alone, and takes no traffic. */
export function streamsJobNetworkPolicy(): Manifest {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "shop-streams", namespace: K8S_NAMESPACE, labels: labelsOf("shop-streams") },
    spec: {
      podSelector: { matchLabels: labelsOf("shop-streams") },
      policyTypes: ["Ingress", "Egress"],
      ingress: [],
      egress: [DNS, NATS],
    },
  };
}
