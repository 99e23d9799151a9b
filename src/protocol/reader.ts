/**
 * A bounds-checked cursor over one message body. Every read past the end, and every C string without its
 * terminating NUL, raises ProtocolError MALFORMED_MESSAGE naming the message, so a hostile or corrupt peer
 * can never make a decoder read stale bytes or loop.
 *
 * `bytes()` and `rest()` return views, not copies: the framer never reuses memory it handed out, so a view
 * stays valid for as long as anyone holds it.
 */
import { ProtocolError } from '../errors/index.ts';

export class ByteReader {
  readonly #buffer: Buffer;
  readonly #what: string;
  #offset = 0;

  /** `what` names the message in errors, e.g. "RowDescription". */
  constructor(buffer: Buffer, what: string) {
    this.#buffer = buffer;
    this.#what = what;
  }

  get remaining(): number {
    return this.#buffer.length - this.#offset;
  }

  u8(): number {
    this.#need(1);
    return this.#buffer[this.#offset++] as number;
  }

  i16(): number {
    this.#need(2);
    const value = this.#buffer.readInt16BE(this.#offset);
    this.#offset += 2;
    return value;
  }

  i32(): number {
    this.#need(4);
    const value = this.#buffer.readInt32BE(this.#offset);
    this.#offset += 4;
    return value;
  }

  u32(): number {
    this.#need(4);
    const value = this.#buffer.readUInt32BE(this.#offset);
    this.#offset += 4;
    return value;
  }

  i64(): bigint {
    this.#need(8);
    const value = this.#buffer.readBigInt64BE(this.#offset);
    this.#offset += 8;
    return value;
  }

  u64(): bigint {
    this.#need(8);
    const value = this.#buffer.readBigUInt64BE(this.#offset);
    this.#offset += 8;
    return value;
  }

  /** A NUL-terminated UTF-8 string; the NUL is consumed, not returned. */
  cstring(): string {
    const end = this.#buffer.indexOf(0, this.#offset);
    if (end < 0) throw this.#malformed(`unterminated string in ${this.#what} message`);
    const value = this.#buffer.toString('utf8', this.#offset, end);
    this.#offset = end + 1;
    return value;
  }

  bytes(length: number): Buffer {
    if (length < 0) throw this.#malformed(`negative length ${length} in ${this.#what} message`);
    this.#need(length);
    const view = this.#buffer.subarray(this.#offset, this.#offset + length);
    this.#offset += length;
    return view;
  }

  rest(): Buffer {
    return this.bytes(this.remaining);
  }

  /** Trailing bytes are as wrong as missing ones: they mean we misread the layout. */
  expectEnd(): void {
    if (this.remaining !== 0) {
      throw this.#malformed(`${this.remaining} unexpected trailing bytes in ${this.#what} message`);
    }
  }

  #need(count: number): void {
    if (this.#offset + count > this.#buffer.length) {
      throw this.#malformed(`${this.#what} message too short: needs ${count} more bytes at offset ${this.#offset}`);
    }
  }

  #malformed(message: string): ProtocolError {
    return new ProtocolError('MALFORMED_MESSAGE', message, {
      details: { message: this.#what, offset: this.#offset, length: this.#buffer.length },
    });
  }
}
