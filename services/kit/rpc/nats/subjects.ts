import type { DescMethod } from "@bufbuild/protobuf";
import { serviceSubjects } from "../../nats/namespace";

/**
 * Where a method is served on the bus, under the service's subjects (<ns>.svc.<service>, which its NATS
 * permissions already give it): `<ns>.svc.<service>.rpc.<package.Service>.<Method>` answered by a queue
 * group of all its instances, and `<ns>.svc.<service>.<instance id>.rpc.<package.Service>.<Method>` by one
 * instance, for callers that choose the instance themselves (balancer, ejection, retries elsewhere).
 */
export function rpcSubject(namespace: string, service: string, path: string, instanceId?: string): string {
  const base = serviceSubjects(namespace, service);
  return `${instanceId === undefined ? base : `${base}.${instanceId}`}.rpc${subjectTail(path)}`;
}

/** "/shop.payment.v1.PaymentService/GetPaymentStatus" → ".shop.payment.v1.PaymentService.GetPaymentStatus". */
export function subjectTail(path: string): string {
  return "." + path.slice(1).replace("/", ".");
}

/** The path of a method, as Connect's URLs and the router know it. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}
