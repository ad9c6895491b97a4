import { join } from "node:path";
import { version } from "../../package.json";
import { runService } from "../kit";
import { getProfile } from "./db/profile-store";
import * as schema from "./db/schema";
import { customerProfiles, orderProfiles } from "./events/profile-builders";
import { profileRoutes } from "./http/profile-routes";
import { callersOf } from "../platform/communication";

await runService({
  name: "marketing",
  version,
  callers: callersOf("marketing"),
  description: "Customer behaviour profiles from events",
  ports: { http: 8086 },
  database: { schema, migrations: join(import.meta.dir, "db/migrations") },
  build: ({ db }) => ({
    rest: profileRoutes((id) => getProfile(db, id)),
    consumers: [customerProfiles(), orderProfiles()],
  }),
});
