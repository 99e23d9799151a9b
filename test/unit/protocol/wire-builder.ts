/**
 * An independent builder of wire bytes for tests: shares no code with src/protocol, so decoder tests do not
 * check our decoder against itself. Backend messages are built here because the client has no backend encoder.
 */
export const u8 = (value: number): Buffer => Buffer.from([value]);
export const i16 = (value: number): Buffer => { const b = Buffer.alloc(2); b.writeInt16BE(value); return b; };
export const i32 = (value: number): Buffer => { const b = Buffer.alloc(4); b.writeInt32BE(value); return b; };
export const u64 = (value: bigint): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64BE(value); return b; };
export const cstr = (text: string): Buffer => Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([0])]);

/** Type character, Int32 length (self-inclusive), body. */
export function message(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from(type, 'latin1'), i32(body.length + 4), body]);
}

export const authenticationOk = (): Buffer => message('R', i32(0));
export const parameterStatus = (name: string, value: string): Buffer => message('S', cstr(name), cstr(value));
export const backendKeyData = (pid: number, key: number): Buffer => message('K', i32(pid), i32(key));
export const readyForQuery = (status = 'I'): Buffer => message('Z', Buffer.from(status));
export const commandComplete = (tag: string): Buffer => message('C', cstr(tag));
export const copyOutResponse = (): Buffer => message('H', u8(0), i16(0));
export const copyBothResponse = (): Buffer => message('W', u8(0), i16(0));
export const copyData = (payload: Buffer): Buffer => message('d', payload);
export const copyDone = (): Buffer => message('c');

/** Text columns (type 25) unless a type OID is given. */
export function rowDescription(columns: Array<string | [string, number]>): Buffer {
  return message('T', i16(columns.length), ...columns.map((column) => {
    const [name, typeOid] = typeof column === 'string' ? [column, 25] : column;
    return Buffer.concat([cstr(name), i32(0), i16(0), i32(typeOid), i16(-1), i32(-1), i16(0)]);
  }));
}

export function dataRow(values: Array<string | Buffer | null>): Buffer {
  return message('D', i16(values.length), ...values.map((value) => {
    if (value === null) return i32(-1);
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    return Buffer.concat([i32(bytes.length), bytes]);
  }));
}

/** Fields by their protocol letter, e.g. { S: 'ERROR', V: 'ERROR', C: 'XX000', M: 'boom' }. */
export function errorResponse(fields: Record<string, string>, type = 'E'): Buffer {
  return message(type, ...Object.entries(fields).map(([code, value]) => Buffer.concat([Buffer.from(code), cstr(value)])), u8(0));
}

/** A single-row result set closed by CommandComplete. */
export function resultSet(columns: Array<string | [string, number]>, rows: Array<Array<string | null>>, tag: string): Buffer {
  return Buffer.concat([rowDescription(columns), ...rows.map(dataRow), commandComplete(tag)]);
}
