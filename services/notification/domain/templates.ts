import { readFileSync } from "node:fs";
import { join } from "node:path";
import { EMAIL_KINDS, type EmailKind } from "../db/schema";

/** An e-mail template: a `Subject:` line, a blank line, then the body; `{{name}}` marks a value. */
export interface Template {
  subject: string;
  body: string;
}

export function parseTemplate(source: string, name = "template"): Template {
  const match = /^Subject: (.+)\r?\n\r?\n([\s\S]*)$/.exec(source);
  if (!match) throw new Error(`${name} must start with "Subject: …" and a blank line`);
  return { subject: match[1]!, body: match[2]! };
}

/** Fills in `{{name}}` placeholders; a placeholder without a value is a bug in the caller, so it throws. */
export function render(template: Template, values: Record<string, string>): Template {
  const fill = (text: string) =>
    text.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
      const value = values[key];
      if (value === undefined) throw new Error(`no value for {{${key}}}`);
      return value;
    });
  // A subject is one header line: no line breaks may come in through a value.
  return { subject: fill(template.subject).replace(/[\r\n]+/g, " "), body: fill(template.body) };
}

/** The templates of every e-mail kind, from `<dir>/<kind>.txt`; a missing or malformed one fails at start. */
export function loadTemplates(dir: string): Record<EmailKind, Template> {
  return Object.fromEntries(
    EMAIL_KINDS.map((kind) => [kind, parseTemplate(readFileSync(join(dir, `${kind}.txt`), "utf8"), `${kind}.txt`)]),
  ) as Record<EmailKind, Template>;
}
