import { join } from "node:path";
import { runPlatformService } from "../platform/run-platform-service";
import { customerLookup } from "./clients/customer-lookup";
import { notificationConfig } from "./config";
import * as schema from "./db/schema";
import { loadTemplates } from "./domain/templates";
import { customerCopies } from "./events/customer-copies";
import { orderEmails } from "./events/order-emails";
import { mailboxRoutes } from "./http/mailbox-routes";
import { mailboxMailer, smtpMailer, traced } from "./mail/mailer";

await runPlatformService({
  name: "notification",
  description: "E-mails customers about their orders",
  ports: { http: 8085 },
  database: { schema },
  build: ({ env, clients }) => {
    const cfg = notificationConfig(env);
    const mailer = traced(cfg.SMTP_URL ? smtpMailer(cfg.SMTP_URL) : mailboxMailer(cfg.MAILBOX_DIR));
    const templates = loadTemplates(join(import.meta.dir, "templates"));
    return {
      rest: mailboxRoutes(cfg.MAILBOX_DIR),
      consumers: [
        customerCopies(),
        orderEmails({
          templates,
          mailer,
          from: cfg.MAIL_FROM,
          lookupCustomer: customerLookup(clients.rest("customer")),
        }),
      ],
      stop: async () => mailer.close(),
    };
  },
});
