/**
 * Whether sending may succeed later. SMTP says so itself: 4xx replies are transient ("try again later"),
 * 5xx permanent (no such mailbox, refused, bad credentials) and will fail on every retry. Failing to
 * connect at all is transient: the server may come back.
 */
export function isTransientSmtpFailure(e: unknown): boolean {
  const code = (e as { responseCode?: unknown } | undefined)?.responseCode;
  if (typeof code === "number") return code < 500;
  return true;
}
