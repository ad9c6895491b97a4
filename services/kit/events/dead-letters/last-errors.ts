import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { isPermissionDenied, StreamsNotProvisioned, type EventNames } from "../topology/streams";

export interface RecordedFailure {
  /** Why the last delivery failed (the handler's error, or why the message is poison). */
  error: string;
  kind: "retry" | "terminated";
  deliveries: number;
  at: string;
}

const KEEP_MS = 7 * 24 * 3_600_000;

/**
 * The last error of each message a consumer is failing on, in a KV bucket every replica shares: the
 * MAX_DELIVERIES advisory says only that a message died, and the dead letter must say why, whichever
 * replica writes it.
 */
export class LastErrors {
  private constructor(private readonly kv: KV) {}

  /**
   * The bucket, created when missing (`create` only reads an existing one's settings), without roll-up
   * headers: a KV bucket allows them for purges, and one `Nats-Rollup: all` sent by any service that may
   * write a key of its own would empty the whole bucket. Entries are cleared by delete markers instead.
   */
  static async ensureBucket(nc: NatsConnection, names: EventNames, replicas: number): Promise<KV> {
    const kv = await new Kvm(nc).create(names.errorBucket, { history: 1, ttl: KEEP_MS, replicas });
    const jsm = await jetstreamManager(nc);
    const stream = `KV_${names.errorBucket}`;
    if ((await jsm.streams.info(stream)).config.allow_rollup_hdrs) {
      await jsm.streams.update(stream, { allow_rollup_hdrs: false }).catch((e) => {
        if (!isPermissionDenied(e)) throw e;
      });
    }
    return kv;
  }

  static async open(nc: NatsConnection, names: EventNames, replicas: number): Promise<LastErrors> {
    try {
      return new LastErrors(await LastErrors.ensureBucket(nc, names, replicas));
    } catch (e) {
      if (isPermissionDenied(e))
        throw new StreamsNotProvisioned(
          `the bucket ${names.errorBucket} does not exist, and this identity may not create it: the operator provisions it (bun run cli streams)`,
        );
      throw e;
    }
  }

  static key(stream: string, consumer: string, streamSeq: number): string {
    return `${stream}.${consumer}.${streamSeq}`;
  }

  async record(key: string, failure: RecordedFailure): Promise<void> {
    await this.kv.put(key, JSON.stringify(failure));
  }

  async read(key: string): Promise<RecordedFailure | undefined> {
    const entry = await this.kv.get(key);
    if (!entry || entry.operation !== "PUT" || entry.length === 0) return undefined;
    return entry.json<RecordedFailure>();
  }

  async clear(key: string): Promise<void> {
    await this.kv.delete(key);
  }
}
