/**
 * A growable writer for frontend messages. `beginMessage` reserves the type byte and the Int32 length;
 * `endMessage` back-patches the length once the body is known. `finish()` hands out a fresh copy and resets,
 * so no buffer it returned is ever written again (byte-ownership rule of the whole project).
 *
 * Growth is by doubling: messages the client builds are small (queries, auth, status updates), so the
 * writer's job is correctness of layout, not throughput.
 */
export class ByteWriter {
  #buffer: Buffer;
  #length = 0;

  constructor(initialBytes = 256) {
    this.#buffer = Buffer.allocUnsafe(initialBytes);
  }

  u8(value: number): this {
    this.#reserve(1);
    this.#buffer[this.#length++] = value & 0xff;
    return this;
  }

  i16(value: number): this {
    this.#reserve(2);
    this.#length = this.#buffer.writeInt16BE(value, this.#length);
    return this;
  }

  i32(value: number): this {
    this.#reserve(4);
    this.#length = this.#buffer.writeInt32BE(value, this.#length);
    return this;
  }

  i64(value: bigint): this {
    this.#reserve(8);
    this.#length = this.#buffer.writeBigInt64BE(value, this.#length);
    return this;
  }

  u64(value: bigint): this {
    this.#reserve(8);
    this.#length = this.#buffer.writeBigUInt64BE(value, this.#length);
    return this;
  }

  /** UTF-8 text plus the terminating NUL. Text with an embedded NUL cannot be represented: refuse it. */
  cstring(value: string): this {
    if (value.includes('\0')) throw new RangeError('string contains a NUL byte');
    const byteLength = Buffer.byteLength(value, 'utf8');
    this.#reserve(byteLength + 1);
    this.#length += this.#buffer.write(value, this.#length, 'utf8');
    this.#buffer[this.#length++] = 0;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.#reserve(value.length);
    this.#buffer.set(value, this.#length);
    this.#length += value.length;
    return this;
  }

  /** Starts a message: writes the type byte (if any) and reserves the length. Returns where the length goes. */
  beginMessage(type?: number): number {
    if (type !== undefined) this.u8(type);
    const lengthAt = this.#length;
    this.i32(0);
    return lengthAt;
  }

  /** The length field counts itself and the body, never the type byte. */
  endMessage(lengthAt: number): this {
    this.#buffer.writeInt32BE(this.#length - lengthAt, lengthAt);
    return this;
  }

  finish(): Buffer {
    const out = Buffer.from(this.#buffer.subarray(0, this.#length));
    this.#length = 0;
    return out;
  }

  #reserve(count: number): void {
    if (this.#length + count <= this.#buffer.length) return;
    let size = Math.max(this.#buffer.length * 2, 64);
    while (size < this.#length + count) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.#buffer.copy(grown, 0, 0, this.#length);
    this.#buffer = grown;
  }
}
