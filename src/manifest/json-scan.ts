/**
 * A byte-level JSON tokenizer for the backup manifest: tokens straight off a Buffer, no JS object tree, so a
 * manifest of hundreds of thousands of files costs only what the caller keeps. It deliberately does not build
 * values or know the manifest's structure (reader.ts does).
 *
 * Strings come back as "byte strings": each char is one byte of the decoded UTF-8 (latin1 code units), so a
 * path keeps its exact bytes whether it arrived raw or through \u escapes. Numbers come back as their text.
 */
import { VerifyError } from '../errors/index.ts';

export type JsonToken =
  | { readonly kind: '{' | '}' | '[' | ']' | ':' | ',' | 'end' }
  | { readonly kind: 'string'; readonly text: string }
  | { readonly kind: 'number' | 'literal'; readonly text: string };

const PUNCTUATION: Record<number, JsonToken> = {
  0x7b: { kind: '{' }, 0x7d: { kind: '}' }, 0x5b: { kind: '[' }, 0x5d: { kind: ']' }, 0x3a: { kind: ':' },
  0x2c: { kind: ',' },
};
const END: JsonToken = { kind: 'end' };
const SIMPLE_ESCAPES: Record<number, number> = {
  0x22: 0x22, 0x5c: 0x5c, 0x2f: 0x2f, 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09,
};

export class JsonScanner {
  readonly #bytes: Buffer;
  #pos = 0;

  constructor(bytes: Buffer) {
    this.#bytes = bytes;
  }

  get offset(): number {
    return this.#pos;
  }

  next(): JsonToken {
    const bytes = this.#bytes;
    let pos = this.#pos;
    while (pos < bytes.length) {
      const b = bytes[pos] as number;
      if (b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09) break;
      pos++;
    }
    this.#pos = pos;
    if (pos >= bytes.length) return END;
    const b = bytes[pos] as number;
    const punctuation = PUNCTUATION[b];
    if (punctuation !== undefined) {
      this.#pos = pos + 1;
      return punctuation;
    }
    if (b === 0x22) return { kind: 'string', text: this.#string(pos + 1) };
    if (b === 0x2d || (b >= 0x30 && b <= 0x39)) return { kind: 'number', text: this.#number(pos) };
    for (const literal of ['true', 'false', 'null']) {
      if (bytes.toString('latin1', pos, pos + literal.length) === literal) {
        this.#pos = pos + literal.length;
        return { kind: 'literal', text: literal };
      }
    }
    return this.fail('invalid token');
  }

  fail(message: string): never {
    throw new VerifyError('MANIFEST_INVALID', `could not parse backup manifest: ${message}`, {
      details: { offset: this.#pos },
    });
  }

  #string(start: number): string {
    const bytes = this.#bytes;
    let pos = start;
    for (;;) {
      if (pos >= bytes.length) return this.fail('unterminated string');
      const b = bytes[pos] as number;
      if (b === 0x22) {
        this.#pos = pos + 1;
        return bytes.toString('latin1', start, pos);
      }
      if (b === 0x5c) return this.#escapedString(start, pos);
      if (b < 0x20) return this.fail('control character in string');
      pos++;
    }
  }

  /** The slow path, once a backslash is seen: decode escapes into bytes. */
  #escapedString(start: number, firstEscape: number): string {
    const bytes = this.#bytes;
    const out: number[] = [];
    for (let i = start; i < firstEscape; i++) out.push(bytes[i] as number);
    let pos = firstEscape;
    for (;;) {
      if (pos >= bytes.length) return this.fail('unterminated string');
      const b = bytes[pos] as number;
      if (b === 0x22) break;
      if (b < 0x20) return this.fail('control character in string');
      if (b !== 0x5c) {
        out.push(b);
        pos++;
        continue;
      }
      const kind = bytes[pos + 1] ?? -1;
      const simple = SIMPLE_ESCAPES[kind];
      if (simple !== undefined) {
        out.push(simple);
        pos += 2;
        continue;
      }
      if (kind !== 0x75) return this.fail('invalid escape sequence');
      let code = this.#hex4(pos + 2);
      pos += 6;
      if (code >= 0xd800 && code <= 0xdbff) {
        if (bytes[pos] !== 0x5c || bytes[pos + 1] !== 0x75) return this.fail('unpaired Unicode surrogate');
        const low = this.#hex4(pos + 2);
        if (low < 0xdc00 || low > 0xdfff) return this.fail('unpaired Unicode surrogate');
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        pos += 6;
      } else if (code >= 0xdc00 && code <= 0xdfff) {
        return this.fail('unpaired Unicode surrogate');
      } else if (code === 0) {
        return this.fail('\\u0000 cannot be converted to text');
      }
      for (const byte of Buffer.from(String.fromCodePoint(code), 'utf8')) out.push(byte);
    }
    this.#pos = pos + 1;
    return Buffer.from(out).toString('latin1');
  }

  #hex4(at: number): number {
    const text = this.#bytes.toString('latin1', at, at + 4);
    if (!/^[0-9A-Fa-f]{4}$/.test(text)) return this.fail('invalid \\u escape');
    return Number.parseInt(text, 16);
  }

  #number(start: number): string {
    const bytes = this.#bytes;
    let pos = start;
    while (pos < bytes.length) {
      const b = bytes[pos] as number;
      const numeric = (b >= 0x30 && b <= 0x39) || b === 0x2d || b === 0x2b || b === 0x2e || b === 0x65 || b === 0x45;
      if (!numeric) break;
      pos++;
    }
    const text = bytes.toString('latin1', start, pos);
    if (!/^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/.test(text)) return this.fail(`invalid number "${text}"`);
    this.#pos = pos;
    return text;
  }
}
