import { readConfig, text, url, type Env } from "../kit";

/** Notification's settings, read once at start; a bad value stops the service naming the variable. */
export function notificationConfig(env: Env) {
  return readConfig(
    {
      /** Where e-mails land as .eml files when there is no SMTP_URL (also what GET /v1/notifications lists). */
      MAILBOX_DIR: text(".data/mailbox"),
      /** An SMTP server to send through, e.g. smtp://user:pass@mail.example.com:587; unset: the mailbox folder. */
      SMTP_URL: url("", ["smtp", "smtps"]),
      /** The From: of every e-mail. */
      MAIL_FROM: text("The shop <shop@example.com>"),
    },
    env,
  );
}
