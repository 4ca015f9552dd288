// A string-keyed JSON store over the kv table; backs grammY sessions and conversations so they survive restarts.
import type { Db } from "./database.js";

/** Same shape as grammY's StorageAdapter, without importing grammY into storage. */
export interface KeyValueStore<T> {
  read(key: string): T | undefined;
  write(key: string, value: T): void;
  delete(key: string): void;
}

export function createKvStore<T>(db: Db, namespace: string, now: () => number = Date.now): KeyValueStore<T> {
  const get = db.prepare<[string], { value: string }>("SELECT value FROM kv WHERE key = ?");
  const put = db.prepare<[string, string, number]>(
    "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
  );
  const del = db.prepare<[string]>("DELETE FROM kv WHERE key = ?");
  const k = (key: string) => `${namespace}:${key}`;
  return {
    read(key) {
      const row = get.get(k(key));
      return row ? (JSON.parse(row.value) as T) : undefined;
    },
    write(key, value) {
      put.run(k(key), JSON.stringify(value), now());
    },
    delete(key) {
      del.run(k(key));
    },
  };
}
