/**
 * `state.aws.dynamodb`: state in a DynamoDB table, in Dapr's layout — the key in the partition
 * key attribute (`key` by default), the value in `value` (JSON text as a string; bytes as a
 * binary), a random `etag` replaced on every write, and with `ttlAttributeName` the expiry as
 * epoch seconds, the form DynamoDB's own TTL deletes by. Strongly consistent: reads are
 * `ConsistentRead` and every etag or first-write rule is a `ConditionExpression`, so the check and
 * the write are one atomic step in DynamoDB.
 *
 * DynamoDB deletes expired items late (often hours late), so reads hide an item whose TTL has
 * passed and conditional writes treat it as absent.
 */
import type { AttributeValue, DynamoDBClient, Put, TransactWriteItem } from "@aws-sdk/client-dynamodb";
import {
  checkEtag,
  type Concurrency,
  type StateFeature,
  type StateStoreComponent,
  type StoredItem,
  type StoreSetRequest,
  type StoreTransactionOperation,
} from "../../blocks/state.ts";
import { ComponentConfigError, EtagMismatchError, InvalidRequestError } from "../../errors.ts";
import { readAwsClientConfig, safeAwsError } from "../aws-client-config.ts";
import type { ComponentOptions } from "../types.ts";

const type = "state.aws.dynamodb";
/** DynamoDB's limit on the items of one TransactWriteItems call. */
const maxTransactionOperations = 100;
/** DynamoDB's limit on the keys of one BatchGetItem call. */
const maxBatchGetKeys = 100;
const maxBatchGetRounds = 8;
const valueAttribute = "value";
const etagAttribute = "etag";

type Item = Record<string, AttributeValue>;
type Condition = Pick<Put, "ConditionExpression" | "ExpressionAttributeNames" | "ExpressionAttributeValues">;
type Sdk = typeof import("@aws-sdk/client-dynamodb");

interface Connection {
  sdk: Sdk;
  client: DynamoDBClient;
}

/**
 * Creates a DynamoDB state store. Reads Dapr's metadata: `table` (required), `region` (else the
 * AWS SDK's, or `us-east-1` with an `endpoint`), `endpoint` (for DynamoDB Local or dynalite),
 * `accessKey`, `secretKey` and `sessionToken`
 * (without them the AWS SDK's default credential chain applies), `partitionKey` (the table's
 * partition key attribute, type S; default `key`) and `ttlAttributeName` (the attribute the
 * table's TTL is enabled on; only with it does the store accept `ttlInSeconds`). The AWS SDK is
 * loaded and the client made on first use.
 *
 * @example
 * const store = create({ name: "orders", appId: "app", baseDir: process.cwd(),
 *   metadata: new ComponentMetadata({ table: "orders", ttlAttributeName: "expiresAt" }, "orders") });
 */
export function create(options: ComponentOptions): StateStoreComponent {
  const { metadata, name: component } = options;
  const table = metadata.requiredString("table");
  const partitionKey = metadata.string("partitionKey", "key");
  const ttlAttribute = metadata.string("ttlAttributeName");
  for (const [field, name] of [["partitionKey", partitionKey], ["ttlAttributeName", ttlAttribute]] as const) {
    if (name === valueAttribute || name === etagAttribute) throw metadata.error(field, `must not be "${name}": the store keeps its own "${name}" attribute`);
  }
  if (ttlAttribute === partitionKey) throw metadata.error("ttlAttributeName", "must differ from partitionKey");
  const config = readAwsClientConfig(metadata);
  const features: readonly StateFeature[] = ttlAttribute ? ["etag", "transactional", "ttl"] : ["etag", "transactional"];

  let connection: Promise<Connection> | undefined;
  const connect = (): Promise<Connection> =>
    (connection ??= import("@aws-sdk/client-dynamodb").then(
      (sdk) => ({
        sdk,
        client: new sdk.DynamoDBClient(config),
      }),
      (error: unknown) => {
        connection = undefined;
        throw error;
      },
    ));

  /**
   * Sends one command. `expected` may turn a failure into the store's own error (a failed
   * condition into an etag mismatch); a missing table or a key schema that is not ours becomes a
   * config error. Any other failure leaves as its AWS error name, code and message without the
   * raw response or any configured credential: a signature error can quote the signed request.
   */
  async function send<T>(run: (c: Connection) => Promise<T>, expected?: (error: unknown) => void): Promise<T> {
    const c = await connect();
    try {
      return await run(c);
    } catch (error) {
      expected?.(error);
      const safe = safeAwsError(error, config);
      if (safe.name === "ResourceNotFoundException") {
        throw new ComponentConfigError(`DynamoDB table "${table}" does not exist${config.region ? ` in ${config.region}` : ""}: create it with a partition key "${partitionKey}" of type S, or fix the table name`, {
          component,
          field: "table",
          cause: safe,
        });
      }
      if (safe.name === "ValidationException" && /key element does not match the schema|Missing the key/i.test(safe.message)) {
        throw new ComponentConfigError(`the partition key of DynamoDB table "${table}" is not "${partitionKey}" (type S): set partitionKey to the table's partition key`, {
          component,
          field: "partitionKey",
          cause: safe,
        });
      }
      // The state block names a failure by its code (ECONNREFUSED), else by its name.
      const { code } = error as { code?: unknown };
      throw typeof code === "string" ? Object.assign(safe, { code }) : safe;
    }
  }

  const names = (...used: Array<"#pk" | "#etag" | "#ttl">) =>
    Object.fromEntries(used.map((n) => [n, n === "#pk" ? partitionKey : n === "#etag" ? etagAttribute : ttlAttribute!]));
  const nowSeconds = () => Math.floor(Date.now() / 1000);

  /**
   * The write's etag rule as a condition on the stored item, or none. An item whose TTL has passed
   * counts as absent, as it does for reads: `#ttl > :now` fails when it has expired.
   */
  function condition(request: { etag?: string; concurrency: Concurrency }): Condition {
    const now: AttributeValue = { N: String(nowSeconds()) };
    if (request.etag !== undefined) {
      return ttlAttribute
        ? {
            ConditionExpression: "#etag = :etag AND (attribute_not_exists(#ttl) OR #ttl > :now)",
            ExpressionAttributeNames: names("#etag", "#ttl"),
            ExpressionAttributeValues: { ":etag": { S: request.etag }, ":now": now },
          }
        : { ConditionExpression: "#etag = :etag", ExpressionAttributeNames: names("#etag"), ExpressionAttributeValues: { ":etag": { S: request.etag } } };
    }
    if (request.concurrency === "first-write") {
      return ttlAttribute
        ? { ConditionExpression: "attribute_not_exists(#pk) OR #ttl <= :now", ExpressionAttributeNames: names("#pk", "#ttl"), ExpressionAttributeValues: { ":now": now } }
        : { ConditionExpression: "attribute_not_exists(#pk)", ExpressionAttributeNames: names("#pk") };
    }
    return {};
  }

  const keyOf = (key: string): Item => ({ [partitionKey]: { S: key } });

  function toItem(request: StoreSetRequest, etag: string): Item {
    const item: Item = {
      ...keyOf(request.key),
      [valueAttribute]: typeof request.value === "string" ? { S: request.value } : { B: request.value },
      [etagAttribute]: { S: etag },
    };
    // Rounded up, so an item never expires before its ttlInSeconds has passed.
    if (ttlAttribute && request.ttlInSeconds !== undefined) {
      item[ttlAttribute] = { N: String(Math.ceil(Date.now() / 1000) + request.ttlInSeconds) };
    }
    return item;
  }

  function fromItem(item: Item | undefined): StoredItem | undefined {
    if (!item) return undefined;
    const expiresAt = ttlAttribute ? item[ttlAttribute]?.N : undefined;
    if (expiresAt !== undefined && Number(expiresAt) <= nowSeconds()) return undefined;
    const stored = item[valueAttribute];
    const value = stored?.S ?? (stored?.B ? new Uint8Array(stored.B) : undefined);
    if (value === undefined) return undefined;
    return { value, etag: item[etagAttribute]?.S ?? "" };
  }

  /** A failed condition is an etag mismatch. */
  const mismatchOn = (key: string) => (error: unknown) => {
    if ((error as Error).name === "ConditionalCheckFailedException") throw new EtagMismatchError(key, component);
  };

  return {
    type,
    features,

    async get(key) {
      const { Item } = await send(({ sdk, client }) => client.send(new sdk.GetItemCommand({ TableName: table, Key: keyOf(key), ConsistentRead: true })));
      return fromItem(Item);
    },

    async getBulk(keys) {
      const found = new Map<string, StoredItem | undefined>();
      const unique = [...new Set(keys)];
      for (let start = 0; start < unique.length; start += maxBatchGetKeys) {
        let pending: Item[] = unique.slice(start, start + maxBatchGetKeys).map(keyOf);
        for (let round = 0; pending.length; round++) {
          if (round === maxBatchGetRounds) throw new Error(`DynamoDB left ${pending.length} key(s) unprocessed after ${round} BatchGetItem calls`);
          if (round) await new Promise((resolve) => setTimeout(resolve, 25 * 2 ** round));
          const request = { [table]: { Keys: pending, ConsistentRead: true } };
          const output = await send(({ sdk, client }) => client.send(new sdk.BatchGetItemCommand({ RequestItems: request })));
          for (const item of output.Responses?.[table] ?? []) found.set(item[partitionKey]!.S!, fromItem(item));
          pending = output.UnprocessedKeys?.[table]?.Keys ?? [];
        }
      }
      return keys.map((key) => found.get(key));
    },

    async set(request) {
      const etag = crypto.randomUUID();
      const input = { TableName: table, Item: toItem(request, etag), ...condition(request) };
      await send(({ sdk, client }) => client.send(new sdk.PutItemCommand(input)), mismatchOn(request.key));
      return { etag };
    },

    async delete(request) {
      const input = { TableName: table, Key: keyOf(request.key), ...condition({ etag: request.etag, concurrency: "last-write" }) };
      await send(({ sdk, client }) => client.send(new sdk.DeleteItemCommand(input)), mismatchOn(request.key));
    },

    async transaction(operations) {
      if (operations.length > maxTransactionOperations) {
        throw new InvalidRequestError(
          `DynamoDB transactions take at most ${maxTransactionOperations} operations; got ${operations.length}: split the work into smaller transactions`,
          { component },
        );
      }
      const planned = plan(operations, component);
      if (!planned.length) return;
      const TransactItems = planned.map(({ first, last, etag }): TransactWriteItem => {
        const guard = condition(first.operation === "delete" ? { etag: first.etag, concurrency: "last-write" } : first);
        return last.operation === "upsert"
          ? { Put: { TableName: table, Item: toItem(last, etag!), ...guard } }
          : { Delete: { TableName: table, Key: keyOf(last.key), ...guard } };
      });
      await send(
        ({ sdk, client }) => client.send(new sdk.TransactWriteItemsCommand({ TransactItems })),
        (error) => {
          const reasons = (error as { CancellationReasons?: Array<{ Code?: string }> }).CancellationReasons ?? [];
          const failed = reasons.findIndex((reason) => reason.Code === "ConditionalCheckFailed");
          if (failed >= 0) throw new EtagMismatchError(planned[failed]!.first.key, component);
        },
      );
    },

    async close() {
      const pending = connection;
      connection = undefined;
      (await pending?.catch(() => undefined))?.client.destroy();
    },
  };
}

/** One DynamoDB write standing for all of a transaction's operations on one key. */
interface PlannedWrite {
  /** Its etag rule is checked against the stored item, by DynamoDB. */
  first: StoreTransactionOperation;
  /** What is written. */
  last: StoreTransactionOperation;
  /** The new etag when `last` is an upsert. */
  etag: string | undefined;
}

/**
 * DynamoDB refuses two operations on one item in a transaction, so the operations on each key
 * are folded into one write. Only the first is checked against the stored item; each later one
 * is checked here, against the item the earlier ones leave, so a later etag that cannot match
 * fails the whole transaction before anything is sent.
 */
function plan(operations: readonly StoreTransactionOperation[], component: string): PlannedWrite[] {
  const byKey = new Map<string, PlannedWrite>();
  for (const op of operations) {
    const rule = op.operation === "delete" ? { etag: op.etag, concurrency: "last-write" as const } : op;
    const earlier = byKey.get(op.key);
    if (earlier) {
      const current = earlier.last.operation === "upsert" ? { value: earlier.last.value, etag: earlier.etag! } : undefined;
      checkEtag(op.key, current, rule, component);
    }
    const etag = op.operation === "upsert" ? crypto.randomUUID() : undefined;
    byKey.set(op.key, { first: earlier?.first ?? op, last: op, etag });
  }
  return [...byKey.values()];
}
