/**
 * The one rule for free text a service stores: a length it can hold, and no control characters. NUL
 * cannot even be stored (Postgres refuses it, a 500 where a 400 belongs); the others have no place in a
 * name, an address, an id or a token, and make logs and e-mails lie. Free text that may span lines (a
 * reason) keeps line feeds and tabs.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

export function textProblem(
  field: string,
  value: string,
  { max, required = false, lines = false }: { max: number; required?: boolean; lines?: boolean },
): string | undefined {
  if (required && !value.trim()) return `${field} is required`;
  if (value.length > max) return `${field} must be at most ${max} characters`;
  if ((lines ? CONTROL_BUT_LINES : CONTROL).test(value)) return `${field} must not contain control characters`;
  return undefined;
}
