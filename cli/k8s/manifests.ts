// The platform's Kubernetes objects as data: per service a Deployment, a Service, a PodDisruptionBudget
// and a NetworkPolicy; the namespace, the shared settings and the operator's streams Job. Secrets are
// only referenced by name (README "On Kubernetes" says how to make them); nothing secret is in here.
import { PLATFORM } from "../../services/platform/communication";
import { networkPolicyOf, streamsJobNetworkPolicy } from "./network-policies";
import {
  IMAGE,
  K8S_NAMESPACE,
  labelsOf,
  NATS_RELEASE,
  OPERATOR_LABEL,
  WORKLOADS,
  type Manifest,
  type Workload,
} from "./workloads";

/** The Secrets the manifests read, made by the operator (README "On Kubernetes"), never committed. */
export const SECRETS = {
  /** DATABASE_URL: the Postgres every service keeps its schema in. */
  database: "shop-database",
  /** GATEWAY_JWT_SECRET and GATEWAY_ADMIN_API_KEY. */
  gateway: "shop-gateway",
  /** ca.crt (and the servers' tls.crt, tls.key): TLS between the services and NATS. */
  natsTls: "shop-nats-tls",
  /** One per identity (`shop-order-identity`, `shop-operator-identity`): its <name>.env from `bun run cli identities`. */
  identity: (name: string) => `shop-${name}-identity`,
  /** SMTP_URL for notification (optional: without it e-mails land in the pod's mailbox folder). */
  smtp: "shop-smtp",
} as const;

export const CONFIG_MAP = "shop-config";
const CA_DIR = "/etc/platform";

const meta = (name: string, labels: Record<string, string> = labelsOf(name)) => ({
  name,
  namespace: K8S_NAMESPACE,
  labels,
});

/** The port probes reach: the operations port where a service keeps one (the gateway), else its HTTP port. */
export const probePortOf = (w: Workload) => (w.ports.ops ? "ops" : "http");

function namespace(): Manifest {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name: K8S_NAMESPACE, labels: { name: K8S_NAMESPACE } } };
}

/** What every service reads the same: where NATS is, how many copies each stream keeps, the namespace. */
function configMap(): Manifest {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta(CONFIG_MAP, labelsOf("shop-platform")),
    data: {
      // The nats chart's client Service; each pod behind it is a cluster node (the client learns the rest).
      NATS_URL: `tls://${NATS_RELEASE}:4222`,
      NATS_CA_FILE: `${CA_DIR}/ca.pem`,
      // One copy of every stream and bucket per NATS node: they survive losing one.
      STREAM_REPLICAS: "3",
      PLATFORM_NAMESPACE: K8S_NAMESPACE,
      HOST: "0.0.0.0",
      LOG_LEVEL: "info",
      // Connections per pod: 12 pods x 5 stay inside Postgres' default max_connections (100).
      DATABASE_POOL_MAX: "5",
    },
  };
}

const natsCaVolume = {
  name: "nats-ca",
  secret: { secretName: SECRETS.natsTls, items: [{ key: "ca.crt", path: "ca.pem" }] },
};

const hardened = {
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
};

/** The image's user (oven/bun's `bun`). */
const podSecurity = {
  runAsNonRoot: true,
  runAsUser: 1000,
  runAsGroup: 1000,
  fsGroup: 1000,
  seccompProfile: { type: "RuntimeDefault" },
};

function containerEnv(name: string, w: Workload) {
  const secret = (env: string, secretName: string, key = env, optional = false) => ({
    name: env,
    valueFrom: { secretKeyRef: { name: secretName, key, ...(optional ? { optional } : {}) } },
  });
  return [
    // Registered in NATS as this pod's address: the HTTP fallback reaches it there while the bus is down.
    { name: "ADVERTISE_HOST", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
    ...(w.ports.ops ? [{ name: "OPS_HOST", value: "0.0.0.0" }] : []),
    ...(w.database ? [{ name: "DATABASE_SCHEMA", value: name }, secret("DATABASE_URL", SECRETS.database)] : []),
    ...(name === "gateway"
      ? [secret("GATEWAY_JWT_SECRET", SECRETS.gateway), secret("GATEWAY_ADMIN_API_KEY", SECRETS.gateway)]
      : []),
    ...(name === "notification"
      ? [{ name: "MAILBOX_DIR", value: "/app/.data/mailbox" }, secret("SMTP_URL", SECRETS.smtp, "SMTP_URL", true)]
      : []),
  ];
}

function deployment(name: string, w: Workload): Manifest {
  const ports = [
    { name: "http", containerPort: w.ports.http, protocol: "TCP" },
    ...(w.ports.grpc ? [{ name: "grpc", containerPort: w.ports.grpc, protocol: "TCP" }] : []),
    ...(w.ports.ops ? [{ name: "ops", containerPort: w.ports.ops, protocol: "TCP" }] : []),
  ];
  const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path, port: probePortOf(w) },
    periodSeconds,
    timeoutSeconds: 3,
    failureThreshold,
  });
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(name),
    spec: {
      replicas: w.replicas,
      revisionHistoryLimit: 5,
      selector: { matchLabels: labelsOf(name) },
      // A new pod is ready before an old one goes: capacity never drops during a rollout.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: labelsOf(name) },
        spec: {
          automountServiceAccountToken: false,
          // The kit's stop: not ready, deregister from NATS, finish in-flight calls (SHUTDOWN_TIMEOUT_MS, 10 s), drain.
          terminationGracePeriodSeconds: 20,
          securityContext: podSecurity,
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: "kubernetes.io/hostname",
              whenUnsatisfiable: "ScheduleAnyway",
              labelSelector: { matchLabels: labelsOf(name) },
            },
          ],
          containers: [
            {
              name,
              image: IMAGE,
              imagePullPolicy: "IfNotPresent",
              command: ["bun", `services/${name}/main.ts`],
              ports,
              envFrom: [
                { configMapRef: { name: CONFIG_MAP } },
                // NATS_NKEY_SEED and PLATFORM_PUBLIC_KEYS: this service's NATS identity.
                { secretRef: { name: SECRETS.identity(name) } },
              ],
              env: containerEnv(name, w),
              // Migrations run before the HTTP port opens: up to a minute to start.
              startupProbe: probe("/healthz", 2, 30),
              livenessProbe: probe("/healthz", 10, 3),
              // NATS and the database answer: taken out of rotation (and of NATS discovery) when not.
              readinessProbe: probe("/readyz", 5, 2),
              resources: {
                requests: { cpu: w.resources.cpu, memory: w.resources.memory },
                limits: { memory: w.resources.memoryLimit },
              },
              securityContext: hardened,
              volumeMounts: [
                { name: "nats-ca", mountPath: CA_DIR, readOnly: true },
                ...(name === "notification" ? [{ name: "mailbox", mountPath: "/app/.data/mailbox" }] : []),
              ],
            },
          ],
          volumes: [natsCaVolume, ...(name === "notification" ? [{ name: "mailbox", emptyDir: {} }] : [])],
        },
      },
    },
  };
}

function service(name: string, w: Workload): Manifest {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(name),
    spec: {
      type: "ClusterIP",
      selector: labelsOf(name),
      ports: [
        { name: "http", port: w.ports.http, targetPort: "http", protocol: "TCP" },
        ...(w.ports.grpc ? [{ name: "grpc", port: w.ports.grpc, targetPort: "grpc", protocol: "TCP" }] : []),
      ],
    },
  };
}

function disruptionBudget(name: string): Manifest {
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: meta(name),
    // A drain takes one pod at a time: the other replica serves meanwhile.
    spec: { maxUnavailable: 1, selector: { matchLabels: labelsOf(name) } },
  };
}

/** The operator makes the streams, the consumers and the error bucket before services start (`bun cli/streams.ts`). */
function streamsJob(): Manifest {
  const labels = { ...labelsOf("shop-streams"), ...OPERATOR_LABEL };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: meta("shop-streams", labels),
    spec: {
      backoffLimit: 10,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "OnFailure",
          automountServiceAccountToken: false,
          securityContext: podSecurity,
          containers: [
            {
              name: "streams",
              image: IMAGE,
              imagePullPolicy: "IfNotPresent",
              command: ["bun", "cli/streams.ts"],
              envFrom: [{ configMapRef: { name: CONFIG_MAP } }, { secretRef: { name: SECRETS.identity("operator") } }],
              resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
              securityContext: hardened,
              volumeMounts: [{ name: "nats-ca", mountPath: CA_DIR, readOnly: true }],
            },
          ],
          volumes: [natsCaVolume],
        },
      },
    },
  };
}

/** Every manifest, grouped by the file it is written to (deploy/k8s/<file>). */
export function platformManifests(): Record<string, Manifest[]> {
  const files: Record<string, Manifest[]> = {
    "00-namespace.yaml": [namespace()],
    "01-config.yaml": [configMap()],
    "02-streams-job.yaml": [streamsJob(), streamsJobNetworkPolicy()],
  };
  for (const [name, w] of Object.entries(WORKLOADS)) {
    if (!PLATFORM[name]) throw new Error(`${name} has a workload but no row in the platform's table`);
    files[`${name}.yaml`] = [deployment(name, w), service(name, w), disruptionBudget(name), networkPolicyOf(name)];
  }
  return files;
}
