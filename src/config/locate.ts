/**
 * Finds where a value sits in JSON5 text, so a schema error can name its line.
 * JSON5.parse gives no positions, so this is a small tolerant scanner over
 * text that already parsed: it records the line and column of every value by
 * key path (`chain[2].forward.to`).
 */

/**
 * `prefix` + one key: `.key` for a plain name, `["key"]` for anything else
 * (a plugin loaded by path: `chain[0]["./my-plugin/dist/index.js"].hosts`).
 */
export function joinKey(prefix: string, key: string): string {
  if (!/^[A-Za-z_$][\w$-]*$/.test(key)) return `${prefix}[${JSON.stringify(key)}]`;
  return prefix ? `${prefix}.${key}` : key;
}

export interface Position {
  line: number;
  column: number;
}

export function locateAll(text: string): Map<string, Position> {
  const out = new Map<string, Position>();
  let i = 0;
  let line = 1;
  let col = 1;
  const adv = (n = 1) => {
    for (let k = 0; k < n; k++) {
      if (text[i] === '\n') {
        line++;
        col = 1;
      } else col++;
      i++;
    }
  };
  const skipWs = () => {
    for (;;) {
      const c = text[i];
      if (c === undefined) return;
      if (c === '/' && text[i + 1] === '/') {
        while (i < text.length && text[i] !== '\n') adv();
      } else if (c === '/' && text[i + 1] === '*') {
        adv(2);
        while (i < text.length && !(text[i] === '*' && text[i + 1] === '/')) adv();
        adv(2);
      } else if (/\s|\uFEFF/.test(c)) adv();
      else return;
    }
  };
  const readString = (): string => {
    const q = text[i];
    adv();
    let s = '';
    while (i < text.length && text[i] !== q) {
      if (text[i] === '\\') {
        adv();
        s += text[i] ?? '';
      } else s += text[i];
      adv();
    }
    adv();
    return s;
  };
  const readKey = (): string => {
    if (text[i] === '"' || text[i] === "'") return readString();
    let s = '';
    while (i < text.length && /[^\s:]/.test(text[i]!)) {
      s += text[i];
      adv();
    }
    return s;
  };
  const value = (path: string): void => {
    skipWs();
    out.set(path, { line, column: col });
    const c = text[i];
    if (c === '{') {
      adv();
      for (;;) {
        skipWs();
        if (text[i] === '}' || i >= text.length) {
          adv();
          return;
        }
        const keyPos = { line, column: col };
        const key = readKey();
        skipWs();
        if (text[i] === ':') adv();
        const p = joinKey(path, key);
        value(p);
        out.set(p, keyPos);
        skipWs();
        if (text[i] === ',') adv();
      }
    } else if (c === '[') {
      adv();
      for (let n = 0; ; n++) {
        skipWs();
        if (text[i] === ']' || i >= text.length) {
          adv();
          return;
        }
        value(`${path}[${n}]`);
        skipWs();
        if (text[i] === ',') adv();
      }
    } else if (c === '"' || c === "'") {
      readString();
    } else {
      while (i < text.length && !/[,\]}\s/]/.test(text[i]!)) adv();
    }
  };
  try {
    value('');
  } catch {
    // Positions are a courtesy: a scanner surprise must never hide the real error.
  }
  return out;
}

/** The position of `path`, or of its nearest ancestor that has one. */
export function locate(positions: Map<string, Position>, path: string): Position | undefined {
  let p = path;
  for (;;) {
    const pos = positions.get(p);
    if (pos) return pos;
    if (!p) return undefined;
    p = parentPath(p);
  }
}

/** `chain[0]["./x.js"].hosts` → `chain[0]["./x.js"]` → `chain[0]` → `chain` → ''. */
function parentPath(p: string): string {
  const m = /(\.[^.[\]]+|\[(?:\d+|"(?:[^"\\]|\\.)*")\])$/.exec(p);
  return m && m.index > 0 ? p.slice(0, m.index) : '';
}
