import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "../../src/components/state/in-memory.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { describeStateConformance } from "./state-suite.ts";

describeStateConformance("state.in-memory", async () => {
  const baseDir = await mkdtemp(join(tmpdir(), "mecha-state-memory-"));
  const store = create({ name: "memory", appId: "conformance", baseDir, metadata: new ComponentMetadata({}, "memory") });
  return { store, cleanup: () => rm(baseDir, { recursive: true, force: true }) };
});
