// The latest checkpoint in IndexedDB, so a reload or a crashed tab comes back where it was.
// One record: the .safetensors bytes (weights, batch-norm statistics, Adam state, config, step)
// and the loss curves drawn so far.
import type { LossHistory } from './protocol.ts';

export interface StoredRun {
  bytes: Uint8Array;
  history: LossHistory;
  savedAt: number;
}

const DB = 'unmix';
const STORE = 'runs';
const KEY = 'latest';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new Error(`IndexedDB: cannot open database ${DB}: ${request.error?.message}`));
  });
}

async function transact<T>(mode: IDBTransactionMode, fn: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(new Error(`IndexedDB: ${tx.error?.message ?? 'transaction failed'}`));
      tx.onabort = () => reject(new Error(`IndexedDB: transaction aborted (${tx.error?.message ?? 'storage full?'})`));
    });
  } finally {
    db.close();
  }
}

export async function saveRun(run: StoredRun): Promise<void> {
  await transact('readwrite', (s) => s.put(run, KEY));
}

export async function loadRun(): Promise<StoredRun | null> {
  return ((await transact('readonly', (s) => s.get(KEY))) as StoredRun | undefined) ?? null;
}
