import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { violationsToProto } from "@bufbuild/protovalidate";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { ruleViolations, violationsMessage } from "../validation";

/**
 * Refuses a unary request that breaks its schema's `buf.validate` rules before the handler sees it:
 * InvalidArgument, a message naming each field ("items[0].quantity must be positive"), and the
 * violations as `buf.validate.Violations` in the error details, the way protovalidate's Connect
 * interceptors for other languages do. In the router's chain, so Connect, gRPC, gRPC-Web and the NATS
 * transport refuse alike. Streams pass (the platform serves none of its own).
 */
export function validateInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (!req.stream) {
      const broken = ruleViolations(req.method.input, req.message);
      if (broken.length) {
        const [violations] = violationsToProto(broken.map((b) => b.violation));
        throw new ConnectError(violationsMessage(broken), Code.InvalidArgument, undefined, [
          { desc: ViolationsSchema, value: violations },
        ]);
      }
    }
    return next(req);
  };
}
