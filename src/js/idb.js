// IndexedDB for the DPoP key store (DpopKey.persist / load / remove) and the token store
// (IndexedDbTokenStore): one promise-returning request per call on the "edge-oauth"
// database. Values are stored by structured clone, which keeps a non-extractable
// CryptoKey non-extractable.
import { edgeError } from './util.js';

const DB = 'edge-oauth';
const STORES = ['dpop-keys', 'tokens'];

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 2);
    req.onupgradeneeded = () => {
      for (const name of STORES) {
        if (!req.result.objectStoreNames.contains(name)) req.result.createObjectStore(name);
      }
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('the edge-oauth database is blocked by another connection'));
  });
}

/** `STORAGE_UNAVAILABLE` where there is no IndexedDB (Node, some workers). */
export function requireIndexedDb(what) {
  if (typeof indexedDB === 'undefined' || indexedDB === null) {
    throw edgeError('STORAGE_UNAVAILABLE', `IndexedDB is not available in this runtime: ${what} need a browser`);
  }
}

/**
 * One request on `store`: op is "get", "put" or "delete"; resolves with the stored value
 * for "get". A failure is `STORAGE_FAILED` with the platform error as cause.
 */
export async function idbRequest(store, op, key, value, failure) {
  try {
    const db = await open();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(store, op === 'get' ? 'readonly' : 'readwrite');
        const os = tx.objectStore(store);
        const req = op === 'put' ? os.put(value, key) : op === 'delete' ? os.delete(key) : os.get(key);
        tx.oncomplete = () => resolve(req.result);
        tx.onerror = tx.onabort = () => reject(tx.error || req.error);
      });
    } finally {
      db.close();
    }
  } catch (cause) {
    throw edgeError('STORAGE_FAILED', `IndexedDB failed: ${failure}`, cause);
  }
}
