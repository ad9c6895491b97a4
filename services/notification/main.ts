import { version } from "../../package.json";
import { readConfig, text } from "../kit/config";
import { runService } from "../kit/service";
import { mailboxRoutes } from "./http/mailbox-routes";

await runService({
  name: "notification",
  version,
  description: "E-mails customers about their orders",
  ports: { http: 8085 },
  build: ({ env }) => {
    const { MAILBOX_DIR } = readConfig({ MAILBOX_DIR: text(".data/mailbox") }, env);
    return { rest: mailboxRoutes(MAILBOX_DIR) };
  },
});
