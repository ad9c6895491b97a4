import { Code, ConnectError } from "@connectrpc/connect";

/** Nothing of that name is registered in this namespace (or every instance was tried): the call was never sent. */
export class NoInstanceError extends ConnectError {
  /** ConnectError's own instanceof check matches by name; subclasses need the ordinary prototype check. */
  static override [Symbol.hasInstance](v: unknown): boolean {
    return typeof v === "object" && v !== null && Object.prototype.isPrototypeOf.call(this.prototype, v);
  }
  constructor(
    readonly service: string,
    namespace: string,
  ) {
    super(`no instance of ${service} is registered in namespace "${namespace}"`, Code.Unavailable);
  }
}
