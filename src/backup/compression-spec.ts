/**
 * `-Z` / `--compress` as pg_basebackup reads it: a bare level (0 = none, 1-9 = client gzip), or
 * `[client-|server-]method[:detail]` where detail is a level or a comma list of `level=N`, `workers=N`,
 * `long[=bool]`. Method names and errors follow PostgreSQL so habits and scripts carry over. Without a `client-` or
 * `server-` prefix the side is `defaultLocation`: the client, or the server when the backup has a target (-t).
 */
import { UsageError } from '../errors/index.ts';

export type CompressionMethod = 'gzip' | 'lz4' | 'zstd';

export interface CompressionSpec {
  readonly location: 'client' | 'server';
  readonly method: CompressionMethod;
  readonly level?: number;
  readonly workers?: number;
  readonly long?: boolean;
  /** The detail text as given, passed through to the server as COMPRESSION_DETAIL. */
  readonly detail?: string;
}

const LEVEL_RANGES: Record<CompressionMethod, readonly [number, number]> = {
  gzip: [1, 9],
  lz4: [1, 12],
  zstd: [-131072, 22],
};

/** Returns null for "no compression". */
export function parseCompressionSpec(text: string, defaultLocation: CompressionSpec['location'] = 'client'): CompressionSpec | null {
  if (/^\d+$/.test(text)) {
    const level = Number(text);
    if (level === 0) return null;
    return checked({ location: defaultLocation, method: 'gzip', level, detail: text });
  }
  let rest = text;
  let location = defaultLocation;
  if (rest.startsWith('server-')) {
    location = 'server';
    rest = rest.slice('server-'.length);
  } else if (rest.startsWith('client-')) {
    location = 'client';
    rest = rest.slice('client-'.length);
  }
  const colon = rest.indexOf(':');
  const name = colon === -1 ? rest : rest.slice(0, colon);
  const detail = colon === -1 ? undefined : rest.slice(colon + 1);
  if (name === 'none') {
    if (detail !== undefined) fail(`compression algorithm "none" does not accept a compression level`);
    return null;
  }
  if (name !== 'gzip' && name !== 'lz4' && name !== 'zstd') fail(`unrecognized compression algorithm: "${name}"`);
  const method: CompressionMethod = name;
  if (detail === undefined) return { location, method };
  return checked({ location, method, detail, ...parseDetail(method, detail) });
}

function parseDetail(method: CompressionMethod, detail: string): { level?: number; workers?: number; long?: boolean } {
  if (detail === '') fail('found empty string where a compression option was expected');
  if (/^-?\d+$/.test(detail)) return { level: Number(detail) };
  const out: { level?: number; workers?: number; long?: boolean } = {};
  for (const item of detail.split(',')) {
    if (item === '') fail('found empty string where a compression option was expected');
    const [key, value, ...extra] = item.split('=');
    if (extra.length > 0) fail(`invalid compression specification: "${detail}"`);
    if (key === 'level' || key === 'workers') {
      if (value === undefined) fail(`compression option "${key}" requires a value`);
      if (!/^-?\d+$/.test(value)) fail(`value for compression option "${key}" must be an integer`);
      if (key === 'workers' && method !== 'zstd') fail(`compression algorithm "${method}" does not accept a worker count`);
      out[key] = Number(value);
    } else if (key === 'long') {
      if (method !== 'zstd') fail(`compression algorithm "${method}" does not support long-distance mode`);
      out.long = value === undefined ? true : parseBoolean(value, 'long');
    } else {
      fail(`unrecognized compression option: "${key}"`);
    }
  }
  return out;
}

function parseBoolean(value: string, key: string): boolean {
  if (/^(on|true|yes|1)$/i.test(value)) return true;
  if (/^(off|false|no|0)$/i.test(value)) return false;
  return fail(`value for compression option "${key}" must be a Boolean value`);
}

function checked(spec: CompressionSpec): CompressionSpec {
  if (spec.level !== undefined) {
    const [low, high] = LEVEL_RANGES[spec.method];
    if (spec.level < low || spec.level > high) {
      throw new UsageError('OPTION_OUT_OF_RANGE',
        `compression algorithm "${spec.method}" expects a compression level between ${low} and ${high}`);
    }
  }
  return spec;
}

function fail(message: string): never {
  throw new UsageError('OPTION_INVALID', `invalid compression specification: ${message}`);
}
