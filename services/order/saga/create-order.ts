import { Code, ConnectError } from "@connectrpc/connect";
import type { CreateOrderRequest } from "../../contracts/gen/shop/order/v1/order_service_pb";
import type { StoredOrder } from "../db/order-store";
import { createOrderProblems, orderTotal } from "../domain/order-rules";
import { remoteError, type SagaDependencies } from "./dependencies";

/** CreateOrder: validate the customer (REST), check availability and prices, store the order PENDING. */
export async function createOrder(deps: SagaDependencies, req: CreateOrderRequest): Promise<StoredOrder> {
  const problems = createOrderProblems(req);
  if (problems.length) throw new ConnectError(problems.join("; "), Code.InvalidArgument);

  if (!(await deps.customerExists(req.customerId))) throw new ConnectError(`customer ${req.customerId} not found`, Code.NotFound);

  const availability = await deps.inventory
    .checkAvailability({ items: req.items.map((i) => ({ productId: i.productId, quantity: i.quantity })) })
    .catch((e) => {
      throw remoteError("inventory", e);
    });
  const short = availability.items.find((a) => !a.sufficient);
  if (short) throw new ConnectError(`not enough ${short.productId} in stock: ${short.requested} asked, ${short.available} available`, Code.FailedPrecondition);

  const lines = req.items.map((item, i) => {
    const a = availability.items.find((x) => x.productId === item.productId);
    if (!a?.unitPrice) throw new ConnectError(`inventory gave no price for items[${i}] (${item.productId})`, Code.Internal);
    return { lineNo: i + 1, productId: item.productId, quantity: item.quantity, unitPriceMinor: a.unitPrice.amountMinor, currency: a.unitPrice.currency };
  });
  const total = orderTotal(lines, req.currency);
  if ("problem" in total) throw new ConnectError(total.problem, Code.InvalidArgument);

  const now = new Date();
  return deps.store.insert(
    { id: crypto.randomUUID(), customerId: req.customerId, state: "pending", currency: req.currency, totalMinor: total.total, reservationId: "", paymentId: "", stateReason: "", createdAt: now, updatedAt: now },
    lines.map(({ currency: _, ...line }) => line),
  );
}
