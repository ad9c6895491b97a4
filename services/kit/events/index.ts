// Events: a producer declares its streams and events (defineStream, defineEvent), writes them in its
// transaction (writeEvent, the outbox) and the kit's relay publishes them; consumers (defineConsumer, on)
// take them once each (the inbox), and what cannot be handled goes to the dead letters.
export { defineStream, defineEvent, eventCatalogue } from "./topology/contract";
export type { EventStream, EventType } from "./topology/contract";
export { EventNames, ensureStreams, deleteStreams } from "./topology/streams";
export { eventConsumerDurable } from "./topology/durable-consumers";
export { ensureConsumer } from "./topology/ensure-consumer";
export { provisionEventStreams } from "./topology/provision";
export { writeEvent } from "./outbox/outbox";
export { outboxTable } from "./outbox/outbox-table";
export { publishEvent } from "./outbox/publish-event";
export { defineConsumer, on } from "./consumer/event-consumer";
export type { HandlerContext, EventHandler, EventConsumer } from "./consumer/event-consumer";
export { PoisonMessage } from "./consumer/handler-failure";
export { inboxTable } from "./consumer/inbox-table";
export { DeadLetters, DLQ } from "./dead-letters/dead-letter-queue";
export type { DeadLetter, DeadLetterKind } from "./dead-letters/dead-letter-queue";
export { letterDetail, letterSummary } from "./dead-letters/dead-letter-view";
export type { LetterDetail, LetterSummary } from "./dead-letters/dead-letter-view";
export { CE, eventHeaders, readEventMeta } from "./cloud-event-headers";
export type { EventMeta } from "./cloud-event-headers";
export { eventsConfig } from "./events-config";
export type { EventsConfig } from "./events-config";
export { startEvents } from "./start-events";
export type { RunningEvents } from "./start-events";
