// The bus: the platform's namespace, a service's registration on the NATS services API, and the directory of instances.
export {
  DEFAULT_NAMESPACE,
  platformNamespace,
  namespaceOf,
  registeredName,
  serviceOfRegistration,
  serviceSubjects,
  policyBucketOf,
} from "./namespace";
export { registerService } from "./registration";
export type { Registration, Endpoints } from "./registration";
export { listInstances, isNoResponders } from "./service-directory";
export type { Instance } from "./service-directory";
export { connectNats } from "./connection";
