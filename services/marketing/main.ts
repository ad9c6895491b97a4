import { version } from "../../package.json";
import { runService } from "../kit/service";
import { MemoryProfileStore } from "./domain/profiles";
import { profileRoutes } from "./http/profile-routes";

await runService({
  name: "marketing",
  version,
  description: "Customer behaviour profiles from events",
  ports: { http: 8086 },
  build: () => ({ rest: profileRoutes(new MemoryProfileStore()) }),
});
