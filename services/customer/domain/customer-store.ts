import type { Customer } from "./customer";

/** Where customers live; e-mails arrive lower-cased (parseEmail) and are unique. */
export interface CustomerStore {
  /** Returns undefined when the e-mail is taken, also when another registration took it a moment ago. */
  insert(c: Customer): Promise<Customer | undefined>;
  get(id: string): Promise<Customer | undefined>;
  findByEmail(email: string): Promise<Customer | undefined>;
}
