// (b) The limit of the stack: Bun.serve decoding the request and encoding the answer with
// @bufbuild/protobuf, nothing else (no routing, no protocol checks, no interceptors).
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  GetPaymentStatusRequestSchema,
  GetPaymentStatusResponseSchema,
} from "../../services/contracts/gen/shop/payment/v1/payment_service_pb";
import { paymentStatus } from "./echo-work";

const headers = { "content-type": "application/proto" };
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req) {
    const { paymentId } = fromBinary(GetPaymentStatusRequestSchema, new Uint8Array(await req.arrayBuffer()));
    return new Response(
      toBinary(GetPaymentStatusResponseSchema, create(GetPaymentStatusResponseSchema, paymentStatus(paymentId))),
      { headers },
    );
  },
});
console.log(JSON.stringify({ ready: true, url: `http://127.0.0.1:${server.port}` }));
process.once("SIGTERM", () => server.stop(true).then(() => process.exit(0)));
