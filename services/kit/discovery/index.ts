// Finding the instances of a service on the NATS services API, and choosing one per attempt.
export { ServiceDiscovery } from "./service-discovery";
export type { DiscoveredInstance, DiscoveryOptions } from "./service-discovery";
export { NoInstanceError } from "./no-instance-error";
export type { LoadBalancing } from "./picker";
