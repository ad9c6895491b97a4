import { textProblem } from "../../kit";

export interface Customer {
  id: string;
  email: string;
  name: string;
  createdAt: Date;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Checks an e-mail address and returns it lower-cased (how it is stored and compared), or the problem,
 * naming the field.
 */
export function parseEmail(value: unknown, field = "email"): { email: string } | { problem: string } {
  if (typeof value !== "string" || !value) return { problem: `${field} is required` };
  const control = textProblem(field, value, { max: Infinity });
  if (control) return { problem: control };
  if (value.length > 254 || !EMAIL.test(value)) return { problem: `${field} is not an e-mail address` };
  return { email: value.toLowerCase() };
}

/** Checks a registration; returns the clean fields or the problems, each naming its field. */
export function parseRegistration(
  body: Record<string, unknown>,
): { email: string; name: string } | { problems: string[] } {
  const problems: string[] = [];
  const email = parseEmail(body.email);
  if ("problem" in email) problems.push(email.problem);
  const { name } = body;
  if (typeof name !== "string" || !name.trim()) problems.push("name is required");
  else {
    const text = textProblem("name", name, { max: 200 });
    if (text) problems.push(text);
  }
  if (problems.length || "problem" in email) return { problems };
  return { email: email.email, name: (name as string).trim() };
}
