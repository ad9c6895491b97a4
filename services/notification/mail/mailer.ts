import nodemailer from "nodemailer";
import { inSpan, SpanKind } from "../../kit/tracing";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { join } from "node:path";

export interface OutgoingMail {
  /** Names the message: its Message-ID is <key@notification.shop>, and its mailbox file mailboxFile(key). */
  key: string;
  from: string;
  to: { email: string; name: string };
  subject: string;
  text: string;
}

export interface Mailer {
  /** Where mail goes, for the log: an SMTP server or a folder. */
  readonly target: string;
  /** Resolves once the mail is accepted (by the SMTP server) or written (to the mailbox). */
  send(mail: OutgoingMail): Promise<{ messageId: string }>;
  close(): void;
}

const message = (mail: OutgoingMail) => ({
  from: mail.from,
  to: { address: mail.to.email, name: mail.to.name },
  subject: mail.subject,
  text: mail.text,
  // Stable per event: a mail that did go out before a crash is recognisable as the same one downstream.
  messageId: `<${mail.key}@notification.shop>`,
});

/** Sends over SMTP (nodemailer) to SMTP_URL, e.g. smtp://user:pass@mail.example.com:587. */
export function smtpMailer(url: string): Mailer {
  // Bounded well inside a consumer's ack wait: a hung server fails the delivery, which is retried.
  const transport = nodemailer.createTransport(url, {
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  } as object);
  const target = new URL(url);
  target.username = target.password = "";
  return {
    target: target.toString(),
    async send(mail) {
      const info = await transport.sendMail(message(mail));
      return { messageId: info.messageId };
    },
    close: () => transport.close(),
  };
}

/**
 * The mailbox file of a mail: named by a hash of its key, never by the key itself, which carries an
 * event's id (data from the bus does not choose where a file goes).
 */
export const mailboxFile = (key: string) => `${createHash("sha256").update(key).digest("hex").slice(0, 40)}.eml`;

/** Without SMTP_URL: each mail is an .eml file in `dir`, written whole (temp file, then rename). */
export function mailboxMailer(dir: string): Mailer {
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" });
  return {
    target: `mailbox ${dir}`,
    async send(mail) {
      const info = await transport.sendMail(message(mail));
      await mkdir(dir, { recursive: true });
      const file = join(dir, mailboxFile(mail.key));
      await writeFile(`${file}.tmp`, info.message as Buffer);
      await rename(`${file}.tmp`, file);
      return { messageId: info.messageId };
    },
    close: () => transport.close(),
  };
}

/** Each send as a client span of the handling that asked for it (where it went, the message id). */
export function traced(mailer: Mailer): Mailer {
  return {
    ...mailer,
    send: (mail) =>
      inSpan(
        "mail send",
        { kind: SpanKind.CLIENT, attributes: { "shop.mail.target": mailer.target, "shop.mail.key": mail.key } },
        async (span) => {
          const sent = await mailer.send(mail);
          span?.setAttribute("shop.mail.message_id", sent.messageId);
          return sent;
        },
      ),
  };
}
