// What the page keeps in IndexedDB: the checkpoint of the model shown (none while it is the shipped
// one), so a reload or a crashed tab comes back where it was (one record: the .safetensors bytes with weights, batch-norm statistics, Adam state,
// config and step, and the loss curves drawn so far); and the tuned kernel choices per adapter.
import type { TunedChoice, TuningStore } from '../gpu/tuner.ts';
import type { LossHistory } from './protocol.ts';

export interface StoredRun {
  bytes: Uint8Array;
  history: LossHistory;
  savedAt: number;
  /** Stopped by the visitor (else it resumes from here). */
  stopped?: boolean;
}

const DB = 'unmix';
const STORE = 'runs';
const TUNING = 'tuning';
const KEY = 'latest';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    // Version 2 added the tuning store; a version-1 database keeps its runs.
    const request = indexedDB.open(DB, 2);
    request.onupgradeneeded = () => {
      for (const name of [STORE, TUNING]) if (!request.result.objectStoreNames.contains(name)) request.result.createObjectStore(name);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(new Error(`IndexedDB: cannot open database ${DB}: ${request.error?.message}`));
  });
}

async function transact<T>(mode: IDBTransactionMode, fn: (store: IDBObjectStore) => IDBRequest<T>, name = STORE): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(name, mode);
      const request = fn(tx.objectStore(name));
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

/** Forgets the run: the next visit starts from the shipped model. */
export async function clearRun(): Promise<void> {
  await transact('readwrite', (s) => s.delete(KEY));
}

export async function loadRun(): Promise<StoredRun | null> {
  return ((await transact('readonly', (s) => s.get(KEY))) as StoredRun | undefined) ?? null;
}

/** Tuned kernel choices, one record per adapter; saving merges into the record. */
export const tuningStore: TuningStore = {
  load: async (adapter) => ((await transact('readonly', (s) => s.get(adapter), TUNING)) as Record<string, TunedChoice> | undefined) ?? {},
  save: async (adapter, choices) => {
    const before = await tuningStore.load(adapter);
    await transact('readwrite', (s) => s.put({ ...before, ...choices }, adapter), TUNING);
  },
};
