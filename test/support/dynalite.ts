/**
 * A real DynamoDB API on 127.0.0.1 for tests: dynalite (DynamoDB on LevelDB, in memory), run in
 * this process on a free port.
 *
 * dynalite 4 has no TransactWriteItems (architect/dynalite#151), so this file adds it, built on
 * dynalite's own parts rather than on a model of DynamoDB: the same request validation and
 * condition evaluator as PutItem and DeleteItem, the same per-item locks, and one LevelDB batch
 * for the writes. It follows DynamoDB's documented rules: at most 100 items, one operation per
 * item, all conditions checked before anything is written, and a TransactionCanceledException
 * with one CancellationReason per item when a condition fails. It handles Put, Delete and
 * ConditionCheck on one table without secondary indexes, which is what mecha's store sends.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { freshName, waitFor } from "./wait.ts";

export interface Dynalite {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** The table made at start, with partition key `key` (S). */
  table: string;
  /** A client for the server, to set up or inspect tables in tests. */
  client: DynamoDBClient;
  /** The metadata of a `state.aws.dynamodb` component on this server and table. */
  metadata(extra?: Record<string, string>): Record<string, string>;
  /** Makes another table; returns its name once it is ACTIVE. */
  createTable(options?: { partitionKey?: string }): Promise<string>;
  stop(): Promise<void>;
}

// dynalite checks that requests are signed, not the signature.
const credentials = { accessKeyId: "dynalite", secretAccessKey: "dynalite" };
const region = "us-east-1";

/** Starts dynalite on 127.0.0.1 (port 0) with TransactWriteItems added, and creates a table. */
export async function startDynalite(): Promise<Dynalite> {
  const { server, store } = loadDynalite();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ endpoint, region, credentials });

  const handle = server.listeners("request")[0] as (req: IncomingMessage, res: ServerResponse) => void;
  server.removeAllListeners("request");
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (req.headers["x-amz-target"] === "DynamoDB_20120810.TransactWriteItems") void transactWriteItems(store, req, res);
    else handle(req, res);
  });

  const createTable = async ({ partitionKey = "key" } = {}): Promise<string> => {
    const TableName = freshName("mecha-state");
    await client.send(
      new CreateTableCommand({
        TableName,
        AttributeDefinitions: [{ AttributeName: partitionKey, AttributeType: "S" }],
        KeySchema: [{ AttributeName: partitionKey, KeyType: "HASH" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
    await waitFor(async () => (await client.send(new DescribeTableCommand({ TableName }))).Table?.TableStatus === "ACTIVE", {
      what: `table ${TableName} to become ACTIVE`,
    });
    return TableName;
  };
  const table = await createTable();

  return {
    endpoint,
    table,
    client,
    metadata: (extra = {}) => ({ table, endpoint, region, accessKey: credentials.accessKeyId, secretKey: credentials.secretAccessKey, ...extra }),
    createTable,
    async stop() {
      client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error?: Error) => (error ? reject(error) : resolve())));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// dynalite's internals, as far as TransactWriteItems needs them (dynalite ships no types).

type Callback<T> = (error: DynaliteError | null | undefined, value?: T) => void;
interface DynaliteError extends Error {
  statusCode?: number;
  body?: Record<string, unknown>;
}
interface ItemDb {
  get(key: string, cb: Callback<Record<string, unknown>>): void;
  batch(ops: Array<{ type: "put" | "del"; key: string; value?: unknown }>, cb: Callback<void>): void;
  lock(keys: string[], exec: (release: (done: () => void) => () => void) => void): void;
}
interface Table {
  GlobalSecondaryIndexes?: unknown[];
  LocalSecondaryIndexes?: unknown[];
}
interface Store {
  getTable(name: string, checkStatus: boolean, cb: Callback<Table>): void;
  getItemDb(name: string): ItemDb;
}
interface Db {
  create(options: unknown): Store;
  createKey(item: unknown, table: Table): string;
  validateItem(item: unknown, table: Table): DynaliteError | null | undefined;
  validateKey(key: unknown, table: Table): DynaliteError | null | undefined;
  checkConditional(data: unknown, existing: unknown): DynaliteError | null | undefined;
  validationError(message: string): DynaliteError;
}
interface Validation {
  types: unknown;
  custom: unknown;
}
interface Validations {
  checkTypes(data: unknown, types: unknown): Record<string, unknown>;
  checkValidations(data: unknown, types: unknown, custom: unknown, store: Store): void;
}

const require = createRequire(import.meta.url);

/** Creates a dynalite server and keeps hold of its store, which dynalite does not expose. */
function loadDynalite(): { server: Server; store: Store } {
  const dynalite = require("dynalite") as (options: object) => Server;
  const db = require("dynalite/db") as Db;
  const original = db.create;
  let store: Store | undefined;
  db.create = (options) => (store = original(options));
  try {
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    return { server, store: store! };
  } finally {
    db.create = original;
  }
}

const promised = <T>(run: (cb: Callback<T>) => void): Promise<T> =>
  new Promise((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value as T))));

async function transactWriteItems(store: Store, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const send = (status: number, body: unknown) => {
    res.statusCode = status;
    res.setHeader("Content-Type", "application/x-amz-json-1.0");
    res.end(JSON.stringify(body));
  };
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    await transact(store, JSON.parse(Buffer.concat(chunks).toString("utf8")) as { TransactItems?: unknown });
    send(200, {});
  } catch (error) {
    const { statusCode, body, message } = error as DynaliteError;
    send(statusCode ?? 500, body ?? { __type: "com.amazonaws.dynamodb.v20120810#InternalServerError", message });
  }
}

async function transact(store: Store, request: { TransactItems?: unknown }): Promise<void> {
  const db = require("dynalite/db") as Db;
  const validations = require("dynalite/validations") as Validations;
  const shapes = { Put: "putItem", Delete: "deleteItem", ConditionCheck: "deleteItem" } as const;
  const items = request.TransactItems;
  if (!Array.isArray(items) || items.length < 1 || items.length > 100) {
    throw db.validationError("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length between 1 and 100");
  }
  const ops = items.map((entry: Record<string, unknown>) => {
    const [kind, body] = Object.entries(entry)[0] ?? [];
    if (!kind || !(kind in shapes)) throw db.validationError(`this dynalite supports Put, Delete and ConditionCheck in transactions, not ${kind}`);
    const shape = require(`dynalite/validations/${shapes[kind as keyof typeof shapes]}`) as Validation;
    const data = validations.checkTypes(body, shape.types);
    validations.checkValidations(data, shape.types, shape.custom, store);
    return { kind, data, tableName: data["TableName"] as string };
  });
  const tableName = ops[0]!.tableName;
  if (ops.some((op) => op.tableName !== tableName)) throw db.validationError("this dynalite supports transactions on one table");
  const table = await promised<Table>((cb) => store.getTable(tableName, false, cb));
  if (table.GlobalSecondaryIndexes?.length || table.LocalSecondaryIndexes?.length) {
    throw db.validationError("this dynalite supports transactions on tables without secondary indexes");
  }
  const keys = ops.map(({ kind, data }) => {
    const invalid = kind === "Put" ? db.validateItem(data["Item"], table) : db.validateKey(data["Key"], table);
    if (invalid) throw invalid;
    return db.createKey(kind === "Put" ? data["Item"] : data["Key"], table);
  });
  if (new Set(keys).size !== keys.length) throw db.validationError("Transaction request cannot include multiple operations on one item");

  const itemDb = store.getItemDb(tableName);
  const release = await new Promise<(done: () => void) => () => void>((resolve) => itemDb.lock(keys, resolve));
  try {
    const existing = await Promise.all(
      keys.map((key) =>
        promised<Record<string, unknown> | undefined>((cb) =>
          itemDb.get(key, (error, item) => (error?.name === "NotFoundError" ? cb(null, undefined) : cb(error, item))),
        ),
      ),
    );
    const reasons = ops.map(({ data }, i) =>
      db.checkConditional(data, existing[i]) ? { Code: "ConditionalCheckFailed", Message: "The conditional request failed" } : { Code: "None" },
    );
    if (reasons.some((reason) => reason.Code !== "None")) {
      const error: DynaliteError = new Error("transaction cancelled");
      error.statusCode = 400;
      error.body = {
        __type: "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(", ")}]`,
        CancellationReasons: reasons,
      };
      throw error;
    }
    const writes: Parameters<ItemDb["batch"]>[0] = [];
    ops.forEach(({ kind, data }, i) => {
      if (kind === "Put") writes.push({ type: "put", key: keys[i]!, value: data["Item"] });
      if (kind === "Delete") writes.push({ type: "del", key: keys[i]! });
    });
    if (writes.length) await promised<void>((cb) => itemDb.batch(writes, cb));
  } finally {
    release(() => {})();
  }
}
