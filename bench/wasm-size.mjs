// The top contributors of a wasm module, twiggy-style: the size of each function body
// (named from the module's name section) and of each data segment, largest first.
// Reads the copies with names that scripts/build.sh keeps in target/wasm-names/.
//
//   node bench/wasm-size.mjs target/wasm-names/edge_oauth_bg.wasm [top]
import { readFileSync } from 'node:fs';

function reader(bytes) {
  let pos = 0;
  const r = {
    get pos() { return pos; },
    set pos(p) { pos = p; },
    u8: () => bytes[pos++],
    uleb() {
      let result = 0;
      let shift = 0;
      for (;;) {
        const b = bytes[pos++];
        result += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if (b < 0x80) return result;
      }
    },
    name() {
      const len = r.uleb();
      const s = new TextDecoder().decode(bytes.subarray(pos, pos + len));
      pos += len;
      return s;
    },
  };
  return r;
}

/** `{ total, sections: [{ id, name, size }], items: [{ name, size }] }` of a module. */
export function profile(bytes) {
  const r = reader(bytes);
  r.pos = 8;
  const sections = [];
  let importedFuncs = 0;
  let bodies = [];
  let dataSegments = [];
  const names = new Map();
  const SECTION = ['custom', 'type', 'import', 'function', 'table', 'memory', 'global', 'export', 'start', 'element', 'code', 'data', 'datacount'];
  while (r.pos < bytes.length) {
    const id = r.u8();
    const size = r.uleb();
    const start = r.pos;
    let name = SECTION[id] ?? `section ${id}`;
    if (id === 0) {
      name = `custom "${r.name()}"`;
      if (name === 'custom "name"') {
        while (r.pos < start + size) {
          const sub = r.u8();
          const subSize = r.uleb();
          const subEnd = r.pos + subSize;
          if (sub === 1) {
            const n = r.uleb();
            for (let i = 0; i < n; i++) {
              const index = r.uleb();
              names.set(index, r.name());
            }
          }
          r.pos = subEnd;
        }
      }
    } else if (id === 2) {
      const n = r.uleb();
      for (let i = 0; i < n; i++) {
        r.name();
        r.name();
        const kind = r.u8();
        if (kind === 0) { r.uleb(); importedFuncs++; }
        else if (kind === 1) { r.u8(); const f = r.u8(); r.uleb(); if (f & 1) r.uleb(); }
        else if (kind === 2) { const f = r.u8(); r.uleb(); if (f & 1) r.uleb(); }
        else if (kind === 3) { r.u8(); r.u8(); }
        else if (kind === 4) { r.u8(); r.uleb(); }
      }
    } else if (id === 10) {
      const n = r.uleb();
      for (let i = 0; i < n; i++) {
        const len = r.uleb();
        bodies.push({ index: importedFuncs + i, size: len });
        r.pos += len;
      }
    } else if (id === 11) {
      const n = r.uleb();
      for (let i = 0; i < n; i++) {
        const segStart = r.pos;
        const flags = r.uleb();
        if (flags === 2) r.uleb();
        if (flags !== 1) { while (bytes[r.pos] !== 0x0b) r.pos++; r.pos++; }
        const len = r.uleb();
        r.pos += len;
        dataSegments.push({ name: `data[${i}]`, size: r.pos - segStart });
      }
    }
    sections.push({ id, name, size });
    r.pos = start + size;
  }
  const items = [
    ...bodies.map((b) => ({ name: names.get(b.index) ?? `func[${b.index}]`, size: b.size })),
    ...dataSegments,
  ].sort((a, b) => b.size - a.size);
  return { total: bytes.length, sections, items };
}

/** Groups function names by crate (the first path segment of a demangled Rust name). */
export function byCrate(items) {
  const groups = new Map();
  for (const { name, size } of items) {
    // `crate[hash]::path`, `<crate::Type as crate::Trait>::f`, `<T as crate::Trait>::f`.
    const m = /^<?(?:&(?:mut )?)?(?:[A-Z]\w* as )?([a-z_][a-z0-9_]*)(?:\[[0-9a-f]+\])?::/.exec(name);
    const key = name.startsWith('data[') ? 'data segments' : / shim/.test(name) ? 'wasm-bindgen export shims' : m ? m[1] : '(other)';
    groups.set(key, (groups.get(key) ?? 0) + size);
  }
  return [...groups].map(([name, size]) => ({ name, size })).sort((a, b) => b.size - a.size);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  const top = Number(process.argv[3] ?? 25);
  const p = profile(readFileSync(file));
  const pct = (n) => `${((100 * n) / p.total).toFixed(1).padStart(5)}%`;
  console.log(`${file}: ${p.total} bytes`);
  for (const s of p.sections) console.log(`  section ${s.name.padEnd(28)} ${String(s.size).padStart(8)} ${pct(s.size)}`);
  console.log('  by crate:');
  for (const g of byCrate(p.items).slice(0, 15)) console.log(`    ${String(g.size).padStart(8)} ${pct(g.size)}  ${g.name}`);
  console.log(`  top ${top}:`);
  for (const it of p.items.slice(0, top)) console.log(`    ${String(it.size).padStart(8)} ${pct(it.size)}  ${it.name.slice(0, 110)}`);
}
