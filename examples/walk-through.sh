#!/usr/bin/env bash
# The README's walk-through as one script: sign up (or, run again, get a token for the same customer),
# place an order, confirm it, read it back; a declined card leaves the stock as it was; then the same with
# the generated Connect client, straight to the order service. It runs as often as you like on the same data.
#
#   bun run dev            # in another terminal (it prints the admin key; dev keeps it in .data)
#   bun run seed           # demo customers and products (sku-mug 12.00 EUR, sku-tee 25.00 EUR)
#   examples/walk-through.sh
#
# Needs curl and jq (apt install jq). Settings: GATEWAY_URL (http://localhost:8080), ORDER_URL
# (http://localhost:8081), KEY (the admin key; default: from $DATA_DIR/dev-secrets.json, DATA_DIR=.data),
# EMAIL (you@example.com).
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in curl jq bun; do
  command -v "$tool" >/dev/null || { echo "walk-through: needs $tool on PATH (jq: apt install jq)" >&2; exit 2; }
done
G=${GATEWAY_URL:-http://localhost:8080}
EMAIL=${EMAIL:-you@example.com}
SECRETS="${DATA_DIR:-.data}/dev-secrets.json"
KEY=${KEY:-$( [ -f "$SECRETS" ] && jq -r .GATEWAY_ADMIN_API_KEY "$SECRETS" || true)}

STATUS_FILE=$(mktemp)
trap 'rm -f "$STATUS_FILE"' EXIT
# One call: prints the body (its status goes to $STATUS_FILE); stops the script when the status is not one expected.
call() { # <expected status(es), e.g. 200 or 201|409> <curl args…>
  local want=$1 out status
  shift
  out=$(curl -sS -w '\n%{http_code}' "$@") || { echo "walk-through: cannot reach $G (is bun run dev running?)" >&2; exit 1; }
  status=${out##*$'\n'}
  out=${out%$'\n'*}
  if [[ "|$want|" != *"|$status|"* ]]; then
    echo "walk-through: $status from curl $*: $out" >&2
    exit 1
  fi
  printf '%s' "$status" >"$STATUS_FILE"
  printf '%s' "$out"
}

# 1. A customer and a token: sign up; a second run finds the address taken (409) and asks for a token
#    for the existing customer with the admin key instead.
SIGNUP=$(call '201|409' -d "{\"email\":\"$EMAIL\",\"name\":\"You\"}" "$G/v1/customers")
if [ "$(cat "$STATUS_FILE")" = 201 ]; then
  TOKEN=$(jq -r .token <<<"$SIGNUP")
  echo "signed up $EMAIL"
else
  [ -n "$KEY" ] || { echo "walk-through: $EMAIL exists; set KEY to the admin key bun run dev prints" >&2; exit 2; }
  TOKEN=$(call 201 -H "X-API-Key: $KEY" -d "{\"email\":\"$EMAIL\"}" "$G/v1/tokens" | jq -r .token)
  echo "$EMAIL signed up before: token from POST /v1/tokens (admin)"
fi
CUSTOMER=$(call 200 -H "Authorization: Bearer $TOKEN" "$G/v1/customers/me" | jq -r .id)
echo "customer $CUSTOMER"

ITEMS='{"items":[{"productId":"sku-mug","quantity":2},{"productId":"sku-tee","quantity":1}],"currency":"EUR"}'

# 2. Place and confirm with a card that works.
PLACED=$(call 200 -H "Authorization: Bearer $TOKEN" -d "$ITEMS" "$G/v1/orders")
ORDER=$(jq -r .order.id <<<"$PLACED")
echo "placed $ORDER: $(jq -r '.order.status + ", total " + .order.total.amountMinor + " " + .order.total.currency' <<<"$PLACED")"
CONFIRMED=$(call 200 -H "Authorization: Bearer $TOKEN" -d '{"cardToken":"tok_success"}' "$G/v1/orders/$ORDER:confirm")
echo "confirmed with tok_success: $(jq -r .order.status <<<"$CONFIRMED")"
echo "fetched: $(call 200 -H "Authorization: Bearer $TOKEN" "$G/v1/orders/$ORDER" | jq -r .order.status)"

# 3. A declined card: the order fails and the stock is back where it was.
BEFORE=$(call 200 "$G/v1/products/sku-mug" | jq -r .product.stock)
DECLINED=$(call 200 -H "Authorization: Bearer $TOKEN" -d "$ITEMS" "$G/v1/orders" | jq -r .order.id)
STATUS=$(call 200 -H "Authorization: Bearer $TOKEN" -d '{"cardToken":"tok_declined"}' "$G/v1/orders/$DECLINED:confirm" | jq -r .order.status)
AFTER=$(call 200 "$G/v1/products/sku-mug" | jq -r .product.stock)
echo "declined with tok_declined: $STATUS; sku-mug stock $BEFORE before, $AFTER after"

# 4. The generated Connect client, straight to the order service (an operator token from .data/identities).
bun examples/place-order.ts "$CUSTOMER" tok_success
