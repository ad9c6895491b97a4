// Replies sent just before the connection dropped go out once more after it is back; older ones, and
// ones sent while it was down (the client's buffer sends those by itself), do not.
import { expect, test } from "bun:test";
import type { NatsConnection, Status } from "@nats-io/transport-node";
import { RecentReplies } from "./recent-replies";

/** A connection whose status events the test sends, recording what is published. */
function fakeConnection() {
  const published: string[] = [];
  let push: ((s: Status) => void) | undefined;
  const queue: Status[] = [];
  const status = async function* () {
    for (;;) {
      if (queue.length) yield queue.shift()!;
      else await new Promise<void>((r) => (push = (s) => (queue.push(s), r())));
    }
  };
  const nc = {
    isClosed: () => false,
    status,
    publish: (subject: string, body: Uint8Array) => void published.push(`${subject} ${new TextDecoder().decode(body)}`),
  } as unknown as NatsConnection;
  const emit = async (type: string) => {
    push?.({ type } as Status);
    await Bun.sleep(1);
  };
  return { nc, published, emit };
}

test("after a reconnect, the replies of the last keepMs before the drop are sent once more", async () => {
  const { nc, published, emit } = fakeConnection();
  let now = 10_000;
  const recent = new RecentReplies(nc, { keepMs: 2000, now: () => now });
  const reply = (s: string) => recent.sent(`_INBOX.${s}`, new TextEncoder().encode(s));
  await Bun.sleep(1);

  reply("old");
  now += 2500;
  reply("a");
  now += 500;
  reply("b");
  await emit("disconnect");
  reply("buffered"); // sent while down: the client's own buffer carries it
  expect(published).toEqual([]);
  await emit("reconnect");
  expect(published).toEqual(["_INBOX.a a", "_INBOX.b b"]);

  // Nothing more on the next reconnect but what went out in between.
  reply("c");
  await emit("disconnect");
  await emit("reconnect");
  expect(published).toEqual(["_INBOX.a a", "_INBOX.b b", "_INBOX.buffered buffered", "_INBOX.c c"]);
});

test("a steady stream of replies keeps only the recent ones", () => {
  const { nc } = fakeConnection();
  let now = 0;
  const recent = new RecentReplies(nc, { keepMs: 100, max: 50, now: () => now });
  for (let i = 0; i < 1000; i++, now += 1) recent.sent("_INBOX.x", new Uint8Array(1));
  expect(recent.kept).toBeLessThanOrEqual(200);
  for (let i = 0; i < 1000; i++) recent.sent("_INBOX.x", new Uint8Array(1));
  expect(recent.kept).toBeLessThanOrEqual(100);
});
