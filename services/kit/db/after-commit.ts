import type { Database } from "./open-database";

type Callback = (db: Database<any>) => void;

/** The databases opened by openDatabase (their statements outside a transaction commit at once). */
const databases = new WeakSet<object>();
/** Each open transaction of such a database → what runs once it committed, and its database. */
const open = new WeakMap<object, { db: Database<any>; callbacks: Callback[] }>();

/**
 * Lets `afterCommit` know the transactions of `db`: its `transaction()` (and a nested one's, which
 * commits with the outer one) now remembers callbacks and runs them after a successful commit. A
 * rolled-back transaction runs none.
 */
export function trackCommits<D extends Database<any>>(db: D): D {
  databases.add(db);
  const begin = db.transaction.bind(db) as (
    fn: (tx: Database<any>) => Promise<unknown>,
    config?: unknown,
  ) => Promise<unknown>;
  const tracked = async (fn: (tx: Database<any>) => Promise<unknown>, config?: unknown) => {
    const callbacks: Callback[] = [];
    const result = await begin((tx) => {
      remember(tx, db, callbacks);
      return fn(tx);
    }, config);
    for (const cb of callbacks) {
      // The transaction committed: a failing follow-up must not make it look failed to its caller.
      try {
        cb(db);
      } catch {}
    }
    return result;
  };
  (db as { transaction: unknown }).transaction = tracked;
  return db;
}

function remember(tx: Database<any>, db: Database<any>, callbacks: Callback[]) {
  open.set(tx, { db, callbacks });
  const savepoint = tx.transaction.bind(tx) as (
    fn: (inner: Database<any>) => Promise<unknown>,
    config?: unknown,
  ) => Promise<unknown>;
  // A savepoint's callbacks join the outer transaction's only when the savepoint was released: one rolled back runs none.
  (tx as { transaction: unknown }).transaction = async (
    fn: (inner: Database<any>) => Promise<unknown>,
    config?: unknown,
  ) => {
    const own: Callback[] = [];
    const result = await savepoint((inner) => {
      remember(inner, db, own);
      return fn(inner);
    }, config);
    callbacks.push(...own);
    return result;
  };
}

/**
 * Runs `callback` with the database once what `tx` wrote is committed: after the commit when `tx` is a
 * transaction of a tracked database, at once when it is the database itself (its statements committed
 * when they returned). Returns false, running nothing, for anything else (the caller then has to do
 * its work inside the transaction).
 */
export function afterCommit(tx: Database<any>, callback: Callback): boolean {
  const pending = open.get(tx);
  if (pending) {
    pending.callbacks.push(callback);
    return true;
  }
  if (databases.has(tx)) {
    callback(tx);
    return true;
  }
  return false;
}
