// IndexedDB for DpopKey.persist / load / remove: one promise-returning request on the
// "dpop-keys" store of the "edge-oauth" database. Values are stored by structured clone,
// which keeps a non-extractable CryptoKey non-extractable. Bundled into pkg/snippets/.
const DB = 'edge-oauth';
const STORE = 'dpop-keys';

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('the edge-oauth database is blocked by another connection'));
  });
}

/** op: "get" | "put" | "delete". Resolves with the stored value for "get". */
export async function idbRequest(op, key, value) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, op === 'get' ? 'readonly' : 'readwrite');
      const store = tx.objectStore(STORE);
      const req = op === 'put' ? store.put(value, key) : op === 'delete' ? store.delete(key) : store.get(key);
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = tx.onabort = () => reject(tx.error || req.error);
    });
  } finally {
    db.close();
  }
}
