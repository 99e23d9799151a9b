/**
 * XXH32, the checksum of the LZ4 frame format (header byte, optional block and content checksums). Streaming, so a
 * content checksum can be verified without holding the content. Arithmetic is 32-bit via Math.imul and >>> 0.
 */
const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

const rotl = (value: number, bits: number): number => ((value << bits) | (value >>> (32 - bits))) >>> 0;
const round = (acc: number, lane: number): number => Math.imul(rotl((acc + Math.imul(lane, PRIME2)) >>> 0, 13), PRIME1) >>> 0;

export class Xxh32 {
  #v1: number;
  #v2: number;
  #v3: number;
  #v4: number;
  readonly #seed: number;
  #totalBytes = 0;
  readonly #tail = Buffer.alloc(16);
  #tailBytes = 0;

  constructor(seed = 0) {
    this.#seed = seed >>> 0;
    this.#v1 = (this.#seed + PRIME1 + PRIME2) >>> 0;
    this.#v2 = (this.#seed + PRIME2) >>> 0;
    this.#v3 = this.#seed;
    this.#v4 = (this.#seed - PRIME1) >>> 0;
  }

  update(data: Buffer): this {
    this.#totalBytes += data.length;
    let at = 0;
    if (this.#tailBytes > 0) {
      const take = Math.min(16 - this.#tailBytes, data.length);
      data.copy(this.#tail, this.#tailBytes, 0, take);
      this.#tailBytes += take;
      at = take;
      if (this.#tailBytes < 16) return this;
      this.#stripe(this.#tail, 0);
      this.#tailBytes = 0;
    }
    const stripesEnd = at + Math.floor((data.length - at) / 16) * 16;
    for (; at < stripesEnd; at += 16) this.#stripe(data, at);
    this.#tailBytes = data.copy(this.#tail, 0, at);
    return this;
  }

  digest(): number {
    let hash = this.#totalBytes >= 16
      ? (rotl(this.#v1, 1) + rotl(this.#v2, 7) + rotl(this.#v3, 12) + rotl(this.#v4, 18)) >>> 0
      : (this.#seed + PRIME5) >>> 0;
    hash = (hash + this.#totalBytes) >>> 0;
    let at = 0;
    for (; at + 4 <= this.#tailBytes; at += 4) {
      hash = Math.imul(rotl((hash + Math.imul(this.#tail.readUInt32LE(at), PRIME3)) >>> 0, 17), PRIME4) >>> 0;
    }
    for (; at < this.#tailBytes; at++) {
      hash = Math.imul(rotl((hash + Math.imul(this.#tail[at] as number, PRIME5)) >>> 0, 11), PRIME1) >>> 0;
    }
    hash = Math.imul(hash ^ (hash >>> 15), PRIME2) >>> 0;
    hash = Math.imul(hash ^ (hash >>> 13), PRIME3) >>> 0;
    return (hash ^ (hash >>> 16)) >>> 0;
  }

  #stripe(data: Buffer, at: number): void {
    this.#v1 = round(this.#v1, data.readUInt32LE(at));
    this.#v2 = round(this.#v2, data.readUInt32LE(at + 4));
    this.#v3 = round(this.#v3, data.readUInt32LE(at + 8));
    this.#v4 = round(this.#v4, data.readUInt32LE(at + 12));
  }
}

export function xxh32(data: Buffer, seed = 0): number {
  return new Xxh32(seed).update(data).digest();
}
