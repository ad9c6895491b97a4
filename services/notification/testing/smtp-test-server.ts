import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
  at: number;
  from: string;
  to: string[];
  /** Header names lower-cased, values unfolded. */
  headers: Record<string, string>;
  /** The text body, quoted-printable decoded. */
  text: string;
  raw: string;
}

export interface Attempt {
  at: number;
  messageId: string;
  /** The reply code given: 250 accepted, else the refusal. */
  code: number;
}

/** How the server answers the DATA of the next mails: accept, or refuse with a code. */
export type Reply = 250 | 451 | 550;

export interface SmtpTestServer {
  readonly url: string;
  /** Every mail accepted, in order. */
  readonly mails: ReceivedMail[];
  /** Every DATA attempt, accepted or refused. */
  readonly attempts: Attempt[];
  /** Refuse the next `count` mails with `code` (then accept again); count Infinity: until told otherwise. */
  refuse(code: Exclude<Reply, 250>, count?: number): void;
  /** Answer the DATA of the next `count` mails only after `ms` (a slow server). */
  delay(ms: number, count?: number): void;
  accept(): void;
  mailsWithId(messageId: string): ReceivedMail[];
  close(): Promise<void>;
}

/**
 * A real SMTP server (the smtp-server package) on a free port of 127.0.0.1, for tests: it keeps what it
 * received and can refuse on command, transiently (451) or for good (550).
 */
export async function startSmtpTestServer(): Promise<SmtpTestServer> {
  const mails: ReceivedMail[] = [];
  const attempts: Attempt[] = [];
  let refusal: { code: Exclude<Reply, 250>; left: number } | undefined;
  let slowness: { ms: number; left: number } | undefined;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", async () => {
        if (slowness && slowness.left > 0) {
          slowness.left--;
          await Bun.sleep(slowness.ms);
        }
        const raw = Buffer.concat(chunks).toString("utf8");
        const mail = parseMail(
          raw,
          session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          session.envelope.rcptTo.map((r) => r.address),
        );
        const messageId = mail.headers["message-id"] ?? "";
        if (refusal && refusal.left > 0) {
          refusal.left--;
          attempts.push({ at: Date.now(), messageId, code: refusal.code });
          const err = Object.assign(
            new Error(refusal.code === 451 ? "Try again later (test server)" : "Mailbox unavailable (test server)"),
            { responseCode: refusal.code },
          );
          return callback(err);
        }
        attempts.push({ at: Date.now(), messageId, code: 250 });
        mails.push(mail);
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    attempts,
    refuse(code, count = Infinity) {
      refusal = { code, left: count };
    },
    delay(ms, count = 1) {
      slowness = { ms, left: count };
    },
    accept() {
      refusal = undefined;
      slowness = undefined;
    },
    mailsWithId: (messageId) => mails.filter((m) => m.headers["message-id"] === messageId),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function parseMail(raw: string, from: string, to: string[]): ReceivedMail {
  const split = raw.search(/\r?\n\r?\n/);
  const head = raw.slice(0, split).replace(/\r?\n[ \t]+/g, " ");
  const body = raw.slice(split).replace(/^\r?\n\r?\n/, "");
  const headers: Record<string, string> = {};
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  const qp = /quoted-printable/i.test(headers["content-transfer-encoding"] ?? "");
  const text = qp
    ? body.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    : body;
  return { at: Date.now(), from, to, headers, text, raw };
}
