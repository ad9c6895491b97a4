export interface Customer {
  id: string;
  email: string;
  name: string;
  createdAt: Date;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Checks a registration; returns the clean fields or the problems, each naming its field. */
export function parseRegistration(body: Record<string, unknown>): { email: string; name: string } | { problems: string[] } {
  const problems: string[] = [];
  const { email, name } = body;
  if (typeof email !== "string" || !email) problems.push("email is required");
  else if (email.length > 254 || !EMAIL.test(email)) problems.push("email is not an e-mail address");
  if (typeof name !== "string" || !name.trim()) problems.push("name is required");
  else if (name.length > 200) problems.push("name must be at most 200 characters");
  if (problems.length) return { problems };
  return { email: (email as string).toLowerCase(), name: (name as string).trim() };
}
