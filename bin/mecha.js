#!/usr/bin/env node
// The `mecha` command. tsx is registered first so that the app's functions/*.ts and mecha's own
// TypeScript sources load as they are, without a build step.
import { register } from "tsx/esm/api";

register();
const { run } = await import("../src/cli/main.ts");
await run(process.argv);
