/**
 * The secret store conformance suite: the specifications every secret store whose backend a test
 * can write to passes. A store is read-only, so each fixture seeds its backend directly; every
 * case uses fresh keys, so runs and cases never meet.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { SecretStoreComponent } from "../../src/blocks/secrets.ts";
import { freshName } from "../support/wait.ts";

export interface SecretStoreFixture {
  store: SecretStoreComponent;
  /** Writes a secret to the backend, where `store.get(key)` reads it. */
  seed(key: string, value: string): Promise<void>;
  /** How many secrets to seed so that `bulkGet` crosses its backend's pages. */
  pagedCount?: number;
  cleanup?: () => Promise<void>;
}

/** Builds the store under test. Called once, when the suite is collected. */
export type SecretStoreFactory = () => Promise<SecretStoreFixture>;

/** Text that a careless encoder, parser or logger would change. */
const awkwardValues: ReadonlyArray<[string, string]> = [
  ["unicode", "héllo wörld — 日本語 🔑 \u2028"],
  ["quotes and backslashes", `"double" 'single' \`back\` \\ \\" \\\\`],
  ["newlines and tabs", "line 1\nline 2\r\n\tindented\n"],
  ["JSON text", '{"user":"app","password":"s3cr\\"et","port":5432}'],
  ["leading and trailing spaces", "  padded  "],
  ["a password with every symbol", "!@#$%^&*()_+-=[]{}|;:,.<>/?~"],
];

/**
 * Registers the conformance cases for one secret store.
 *
 * @example
 * describeSecretStoreConformance("secretstores.aws.parameterstore", async () => ({ store, seed }));
 */
export function describeSecretStoreConformance(name: string, factory: SecretStoreFactory): void {
  describe(`secret store conformance: ${name}`, async () => {
    const { store, seed, pagedCount = 7, cleanup } = await factory();
    afterAll(async () => {
      await store.close();
      await cleanup?.();
    });

    it("reports its Dapr type", () => {
      expect(store.type).toBe(name);
    });

    it("get answers { key: value } for a stored secret", async () => {
      const key = freshName("db-password");
      await seed(key, "hunter2");
      expect(await store.get(key)).toEqual({ [key]: "hunter2" });
    });

    it("get answers undefined for a key that was never stored", async () => {
      expect(await store.get(freshName("never-stored"))).toBeUndefined();
    });

    it("get answers undefined for an empty key, without asking the backend", async () => {
      expect(await store.get("")).toBeUndefined();
    });

    it.each(awkwardValues)("returns %s verbatim", async (_kind, value) => {
      const key = freshName("verbatim");
      await seed(key, value);
      expect(await store.get(key)).toEqual({ [key]: value });
      expect((await store.bulkGet())[key]).toEqual({ [key]: value });
    });

    it(`bulkGet lists every stored secret as { key: { key: value } }, across pages (${pagedCount} secrets)`, async () => {
      const keys = Array.from({ length: pagedCount }, (_, i) => freshName(`bulk-${i}`));
      for (const [i, key] of keys.entries()) await seed(key, `value-${i}`);
      const all = await store.bulkGet();
      for (const [i, key] of keys.entries()) expect(all[key], key).toEqual({ [key]: `value-${i}` });
    });

    it("reads again after close, connecting anew", async () => {
      const key = freshName("after-close");
      await seed(key, "still here");
      await store.close();
      expect(await store.get(key)).toEqual({ [key]: "still here" });
    });
  });
}
