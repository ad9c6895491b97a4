const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Entity ids (orders, customers, payments) are UUIDs; anything else is rejected at the edge. */
export const isUuid = (s: string) => UUID.test(s);
