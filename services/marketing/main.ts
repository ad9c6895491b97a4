import { runPlatformService } from "../platform/run-platform-service";
import { getProfile } from "./db/profile-store";
import * as schema from "./db/schema";
import { customerProfiles, orderProfiles } from "./events/profile-builders";
import { profileRoutes } from "./http/profile-routes";

await runPlatformService({
  name: "marketing",
  description: "Customer behaviour profiles from events",
  ports: { http: 8086 },
  database: { schema },
  build: ({ db }) => ({
    rest: profileRoutes((id) => getProfile(db, id)),
    consumers: [customerProfiles(), orderProfiles()],
  }),
});
