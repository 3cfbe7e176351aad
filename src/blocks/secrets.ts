/**
 * The secrets building block. A secret is a string map: most stores hold one value per key
 * (`{ [key]: value }`), some hold several (a JSON secret, a multi-valued file entry).
 */

export interface SecretStoreComponent {
  /** The Dapr `spec.type`, e.g. `secretstores.local.env`. */
  readonly type: string;
  /** The secret's values, or `undefined` when there is no such secret. */
  get(key: string): Promise<Record<string, string> | undefined>;
  /** Every secret the store may list, keyed by secret name. */
  bulkGet(): Promise<Record<string, Record<string, string>>>;
  close(): Promise<void>;
}
