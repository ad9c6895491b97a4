// Values for the official nats Helm chart (nats-io/k8s, chart 1.x: `helm install nats nats/nats -f
// deploy/k8s/nats-values.yaml`): the same shape as the compose cluster (deploy/nats/cluster.conf), made
// the chart's way: three clustered nodes, JetStream on file storage (a volume per node), so streams at
// STREAM_REPLICAS=3 keep a copy on each; TLS for clients and the platform's identities (auth.conf).
import { K8S_NAMESPACE, NATS_RELEASE } from "./workloads";
import { SECRETS } from "./manifests";

/** The Secret holding auth.conf (`bun run cli identities`): public keys and permissions, made by the operator. */
export const NATS_AUTH_SECRET = "shop-nats-auth";

export function natsChartValues() {
  return {
    fullnameOverride: NATS_RELEASE,
    namespaceOverride: K8S_NAMESPACE,
    config: {
      cluster: { enabled: true, replicas: 3 },
      jetstream: {
        enabled: true,
        fileStore: { enabled: true, dir: "/data", pvc: { enabled: true, size: "10Gi" } },
      },
      // Clients only over TLS: the certificate's names must include the Service (nats, nats.shop.svc, …).
      nats: {
        tls: { enabled: true, secretName: SECRETS.natsTls, cert: "tls.crt", key: "tls.key" },
      },
      // Who may connect and what each may do (relative to the chart's /etc/nats-config).
      merge: { "00$include": "../nats-auth/auth.conf" },
    },
    container: {
      merge: { resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "1Gi" } } },
      patch: [
        {
          op: "add",
          path: "/volumeMounts/-",
          value: { name: "nats-auth", mountPath: "/etc/nats-auth", readOnly: true },
        },
      ],
    },
    podTemplate: {
      // One node per Kubernetes node: losing a machine loses one copy, never two.
      topologySpreadConstraints: {
        "kubernetes.io/hostname": { maxSkew: 1, whenUnsatisfiable: "DoNotSchedule" },
      },
      patch: [
        {
          op: "add",
          path: "/spec/volumes/-",
          value: { name: "nats-auth", secret: { secretName: NATS_AUTH_SECRET } },
        },
      ],
    },
    // At most one node away at a time (the chart's default, said here): two of three keep every stream going.
    podDisruptionBudget: { enabled: true },
    // The platform's CLI is the operator's tool; no nats-box with an identity of its own.
    natsBox: { enabled: false },
  };
}
