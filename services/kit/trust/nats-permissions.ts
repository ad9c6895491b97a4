import type { EventStream } from "../events/topology/contract";
import type { EventNames } from "../events/topology/streams";
import { registeredName, serviceSubjects } from "../nats/namespace";

/** One user's permissions as nats-server takes them (`authorization.users[].permissions`). */
export interface NatsPermissions {
  publish: { allow: string[] };
  subscribe: { allow: string[] };
  /** May answer requests sent to the subjects it subscribes (replies to whatever reply subject they name). */
  allow_responses?: boolean;
}

/** What a service does on the bus, as the kit lays it out (platform/communication.ts fills it in). */
export interface BusRole {
  name: string;
  /** Event subjects it publishes (unprefixed). */
  publishes: string[];
  /** Its durable consumers and their streams (unprefixed stream names, e.g. ORDERS). */
  consumes: { stream: string | EventStream; consumer: string }[];
  /** Services whose instances it looks up ($SRV). */
  calls: string[];
  /** May list every instance of every service ($SRV.INFO and $SRV.STATS without a name): an admin view. */
  lists?: boolean;
  /**
   * May watch the platform's events without taking part: list the consumers of its streams (their
   * counts) and read the dead letters. Still no change to any stream, consumer or message.
   */
  observes?: boolean;
}

/** Where a service's replies come: only it may read them. */
export const inboxPrefixOf = (service: string) => `_INBOX_${service}`;

/**
 * The least a service needs on the bus, as nats-server permissions: publish its own events and dead
 * letters; read (never create, change, delete or purge) the platform's streams; pull from its own
 * durable consumers (never create or change one) and ack their messages; read (never write) the policy
 * bucket; keep its consumers' last errors;
 * register under its own name only, and answer calls on its own subjects only; look up and call only the
 * services it calls; read only its own inbox.
 * Everything not allowed is denied.
 */
export function servicePermissions(
  role: BusRole,
  {
    namespace,
    names,
    streams: platformStreams,
    policyBucket,
  }: { namespace: string; names: EventNames; streams: readonly EventStream[]; policyBucket: string },
): NatsPermissions {
  const api = "$JS.API";
  const streams = names.allStreams(platformStreams);
  const errors = `KV_${names.errorBucket}`;
  const policies = `KV_${policyBucket}`;
  const durables = role.consumes.flatMap(({ stream, consumer }) => [
    { stream: names.stream(stream), consumer },
    // The dead-letter writers of each consumer, on the advisory stream.
    { stream: names.advisories(stream), consumer: `${consumer}-dead-letters-max-deliveries` },
    { stream: names.advisories(stream), consumer: `${consumer}-dead-letters-terminated` },
  ]);
  const publish = [
    ...role.publishes.map((s) => names.subject(s)),
    ...role.consumes.map(({ consumer }) => names.subject(`dlq.*.${consumer}`)),
    `${api}.INFO`,
    // Streams are the operator's to create and change (bun run cli streams): with UPDATE, any service
    // could have shrunk another's stream to one message or taken its subjects.
    ...streams.map((s) => `${api}.STREAM.INFO.${s}`),
    // Whether the shared advisory stream of an older version is still there (streams.ts retires it).
    `${api}.STREAM.INFO.${names.stream("DLQ_ADVISORIES")}`,
    // Consumers too are the operator's: whoever may create one may make it a push consumer delivering
    // to any subject, and the server publishes there on its behalf (nats-server#8274).
    ...durables.flatMap(({ stream, consumer }) => [
      `${api}.CONSUMER.INFO.${stream}.${consumer}`,
      `${api}.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
      `$JS.ACK.${stream}.${consumer}.>`,
    ]),
    // The dead-letter writer copies a dead message from its stream.
    ...(role.consumes.length
      ? [...new Set(role.consumes.map(({ stream }) => names.stream(stream)))].flatMap((s) => [
          `${api}.STREAM.MSG.GET.${s}`,
          `${api}.DIRECT.GET.${s}`,
          `${api}.DIRECT.GET.${s}.>`,
        ])
      : []),
    // Its own consumers' last errors (keys <stream>.<consumer>.<seq>), for their dead letters; and resolving a dead letter of its own consumers
    // once its replayed copy was handled (or died again, as a new letter). The server cannot tell whose
    // letter a deletion is: that much of the DLQ every consuming service may touch.
    ...(role.consumes.length
      ? [
          ...role.consumes.map(
            ({ stream, consumer }) => `$KV.${names.errorBucket}.${names.stream(stream)}.${consumer}.*`,
          ),
          `${api}.STREAM.MSG.GET.${errors}`,
          `${api}.DIRECT.GET.${errors}.>`,
          `${api}.STREAM.MSG.DELETE.${names.stream("DLQ")}`,
        ]
      : []),
    // The policy bucket: read its keys (the stream's subjects) and values, never write. Changes are
    // followed by subscription, not by a consumer (see above).
    `${api}.STREAM.INFO.${policies}`,
    `${api}.DIRECT.GET.${policies}`,
    `${api}.DIRECT.GET.${policies}.>`,
    `${api}.STREAM.MSG.GET.${policies}`,
    // Calls to the services it may call, on the bus (rpc/nats/subjects.ts): any instance, or one by id.
    ...role.calls.flatMap((s) => [
      `${serviceSubjects(namespace, s)}.rpc.>`,
      `${serviceSubjects(namespace, s)}.*.rpc.>`,
    ]),
    // Discovery of the services it calls.
    ...role.calls
      .map((s) => registeredName(namespace, s))
      .flatMap((s) => [`$SRV.PING.${s}`, `$SRV.INFO.${s}`, `$SRV.STATS.${s}`]),
    ...(role.lists ? ["$SRV.INFO", "$SRV.STATS"] : []),
    ...(role.observes
      ? [
          ...platformStreams.flatMap((s) => [
            `${api}.CONSUMER.LIST.${names.stream(s)}`,
            `${api}.CONSUMER.LIST.${names.advisories(s)}`,
          ]),
          `${api}.CONSUMER.LIST.${names.stream("DLQ")}`,
          `${api}.STREAM.MSG.GET.${names.stream("DLQ")}`,
        ]
      : []),
  ];
  const subscribe = [
    `${inboxPrefixOf(role.name)}.>`,
    // Its registration: the services API's subjects for its own name only, and its endpoints.
    ...["PING", "INFO", "STATS"].flatMap((verb) => [
      `$SRV.${verb}`,
      `$SRV.${verb}.${registeredName(namespace, role.name)}`,
      `$SRV.${verb}.${registeredName(namespace, role.name)}.>`,
    ]),
    `${serviceSubjects(namespace, role.name)}.>`,
    `$KV.${policyBucket}.>`,
  ];
  return {
    publish: { allow: [...new Set(publish)] },
    subscribe: { allow: [...new Set(subscribe)] },
    allow_responses: true,
  };
}

/** The operator (policy writes, dead-letter replay and purge, the CLI): everything. */
export const OPERATOR_PERMISSIONS: NatsPermissions = { publish: { allow: [">"] }, subscribe: { allow: [">"] } };
