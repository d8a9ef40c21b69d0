/**
 * Domain names in wire form and presentation form (RFC 1035 §3.1, §5.1).
 * Presentation names have no trailing dot here; "." is the root. Labels that
 * hold a dot, a backslash or a non-printable byte are escaped (`\.`, `\\`, `\DDD`).
 */

export const MAX_LABEL = 63;
export const MAX_NAME = 255;

/**
 * Lowercases A-Z only. Names compare case-insensitively in ASCII alone (RFC 4343);
 * `toLowerCase` would also fold latin1 bytes (0xC0 to 0xDE), making, for the
 * encoder, a compression pointer to a different name.
 */
export function asciiLower(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
}

/** Bytes of one label to presentation text. */
export function labelToText(buf: Buffer, start: number, end: number): string {
  let plain = true;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c <= 0x20 || c >= 0x7f || c === 0x2e || c === 0x5c || c === 0x22 || c === 0x28 || c === 0x29 || c === 0x3b || c === 0x40 || c === 0x24) {
      plain = false;
      break;
    }
  }
  if (plain) return buf.toString("latin1", start, end);
  let s = '';
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c === 0x2e || c === 0x5c || c === 0x22 || c === 0x28 || c === 0x29 || c === 0x3b || c === 0x40 || c === 0x24) s += '\\' + String.fromCharCode(c);
    else if (c <= 0x20 || c >= 0x7f) s += '\\' + String(c).padStart(3, '0');
    else s += String.fromCharCode(c);
  }
  return s;
}

/**
 * Splits a presentation name into label byte strings. Throws on an empty
 * label, a label over 63 bytes or a name over 255 bytes in wire form.
 */
export function nameToLabels(name: string): Buffer[] {
  if (name === '.' || name === '') return [];
  const n = name.endsWith('.') && !name.endsWith('\\.') ? name.slice(0, -1) : name;
  const labels: Buffer[] = [];
  if (!n.includes('\\')) {
    for (const l of n.split('.')) labels.push(Buffer.from(l, 'latin1'));
  } else {
    let cur: number[] = [];
    for (let i = 0; i < n.length; i++) {
      const ch = n.charCodeAt(i);
      if (ch === 0x5c) {
        const d = n.slice(i + 1, i + 4);
        if (/^\d{3}$/.test(d)) {
          cur.push(Number(d) & 0xff);
          i += 3;
        } else {
          cur.push(n.charCodeAt(i + 1));
          i += 1;
        }
      } else if (ch === 0x2e) {
        labels.push(Buffer.from(cur));
        cur = [];
      } else {
        cur.push(ch & 0xff);
      }
    }
    labels.push(Buffer.from(cur));
  }
  let total = 1;
  for (const l of labels) {
    if (l.length === 0) throw new RangeError(`empty label in name "${name}"`);
    if (l.length > MAX_LABEL) throw new RangeError(`label over ${MAX_LABEL} bytes in name "${name}"`);
    total += l.length + 1;
  }
  if (total > MAX_NAME) throw new RangeError(`name "${name}" is over ${MAX_NAME} bytes`);
  return labels;
}

/** ASCII-only lowercase (DNS case-insensitivity is ASCII only, RFC 4343). */
export function lowerName(name: string): string {
  return name.toLowerCase();
}

/** Strips one trailing dot; "." stays the root. */
export function trimDot(name: string): string {
  return name.length > 1 && name.endsWith('.') ? name.slice(0, -1) : name;
}

/** Whether `name` is `zone` or below it (both lowercase, no trailing dot). */
export function isSubdomain(name: string, zone: string): boolean {
  if (zone === '.' || zone === '') return true;
  return name === zone || (name.length > zone.length && name.endsWith(zone) && name.charCodeAt(name.length - zone.length - 1) === 0x2e);
}
