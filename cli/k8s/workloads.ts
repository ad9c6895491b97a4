// What Kubernetes needs to know about each service that the platform's table (communication.ts) does
// not say: its ports (as its main.ts declares them; a test holds the two together), how many replicas,
// what it asks for, and whether it keeps tables.

import { version } from "../../package.json";

/** Where the platform runs: its Kubernetes namespace, also its PLATFORM_NAMESPACE on NATS. */
export const K8S_NAMESPACE = "shop";

/** A Kubernetes object as the manifests hold it. */
export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; [k: string]: unknown } } & Record<
  string,
  unknown
>;

/** The labels of one service's pods (and of everything made for it). */
export const labelsOf = (name: string) => ({
  "app.kubernetes.io/name": name,
  "app.kubernetes.io/part-of": "shop-platform",
});

/** The one image every service runs from (Dockerfile); push it where the cluster pulls from. */
export const IMAGE = `shop-platform:${version}`;

/** The official nats chart's release (`helm install nats nats/nats`): its Service and pod labels. */
export const NATS_RELEASE = "nats";
export const NATS_POD_LABELS = { "app.kubernetes.io/name": "nats", "app.kubernetes.io/component": "nats" };

/** Pods with this label are the operator's tools (the streams Job, a debug pod): they may call any service. */
export const OPERATOR_LABEL = { "shop-platform/operator": "true" };

export interface Workload {
  ports: { http: number; grpc?: number; ops?: number };
  /**
   * Every service here is safe to replicate once it runs on Postgres (PGlite is one process's; in
   * Kubernetes DATABASE_URL always names a Postgres): durable consumers are shared, outbox relays elect
   * one through an advisory lock, sagas take a lease per order, inventory reserves in one statement,
   * rate limits are per gateway instance. Two, so a node drain or a crash never takes a service away.
   */
  replicas: number;
  /** Keeps tables (a schema of its own on the shared Postgres): the gateway does not. */
  database: boolean;
  resources: { cpu: string; memory: string; memoryLimit: string };
  /** Reaches outside the cluster for this (port, what). */
  egress?: { ports: number[]; why: string };
}

export const WORKLOADS: Record<string, Workload> = {
  gateway: {
    ports: { http: 8080, ops: 9080 },
    replicas: 2,
    database: false,
    resources: { cpu: "200m", memory: "192Mi", memoryLimit: "512Mi" },
  },
  order: {
    ports: { http: 8081, grpc: 9081 },
    replicas: 2,
    database: true,
    resources: { cpu: "200m", memory: "192Mi", memoryLimit: "512Mi" },
  },
  payment: {
    ports: { http: 8082, grpc: 9082 },
    replicas: 2,
    database: true,
    resources: { cpu: "100m", memory: "160Mi", memoryLimit: "384Mi" },
  },
  inventory: {
    ports: { http: 8083, grpc: 9083 },
    replicas: 2,
    database: true,
    resources: { cpu: "100m", memory: "160Mi", memoryLimit: "384Mi" },
  },
  customer: {
    ports: { http: 8084 },
    replicas: 2,
    database: true,
    resources: { cpu: "100m", memory: "128Mi", memoryLimit: "384Mi" },
  },
  notification: {
    ports: { http: 8085 },
    replicas: 2,
    database: true,
    resources: { cpu: "100m", memory: "128Mi", memoryLimit: "384Mi" },
    egress: { ports: [25, 465, 587], why: "SMTP (SMTP_URL)" },
  },
  marketing: {
    ports: { http: 8086 },
    replicas: 2,
    database: true,
    resources: { cpu: "100m", memory: "128Mi", memoryLimit: "384Mi" },
  },
};
