import { create } from "../../src/components/pubsub/in-memory.ts";
import { ComponentMetadata } from "../../src/config/metadata.ts";
import { describePubSubConformance } from "./pubsub-suite.ts";

describePubSubConformance("pubsub.in-memory", () => ({
  component: create({ name: "bus", appId: "conformance-app", baseDir: process.cwd(), metadata: new ComponentMetadata({}, "bus") }),
}));
