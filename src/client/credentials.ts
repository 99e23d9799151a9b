/**
 * Keeps the password out of anything that may be logged, while letting it survive the copies callers make.
 *
 * `password` on resolved ConnectionParams is non-enumerable: JSON.stringify, util.inspect and object spread
 * skip it. Spread is also how callers derive params (`{ ...params, replication: 'true' }`), so a copy would
 * lose the password; the copy keeps instead an enumerable symbol-keyed Credentials object whose own
 * inspection and JSON print no secret. `passwordOf()` reads either.
 *
 * Credentials also remember where values came from, which primary_conninfo rendering needs.
 */
import { inspect } from 'node:util';
import type { ConnectionParams } from './types.ts';

const CREDENTIALS = Symbol('pgconvoy.credentials');

export class Credentials {
  readonly #password: string | undefined;
  readonly isPasswordFromUser: boolean;
  readonly passfile: string | undefined; // only when given explicitly (conninfo or PGPASSFILE)
  readonly isApplicationNameExplicit: boolean;

  constructor(options: {
    password?: string; isPasswordFromUser: boolean; passfile?: string; isApplicationNameExplicit: boolean;
  }) {
    this.#password = options.password;
    this.isPasswordFromUser = options.isPasswordFromUser;
    this.passfile = options.passfile;
    this.isApplicationNameExplicit = options.isApplicationNameExplicit;
  }

  get password(): string | undefined {
    return this.#password;
  }

  toJSON(): string {
    return '[Credentials]';
  }

  [inspect.custom](): string {
    return '[Credentials]';
  }
}

/** Attaches the password (hidden) and its provenance to freshly built params. */
export function attachCredentials<T extends object>(params: T, credentials: Credentials): T {
  Object.defineProperty(params, 'password', { value: credentials.password, enumerable: false });
  Object.defineProperty(params, CREDENTIALS, { value: credentials, enumerable: true });
  return params;
}

export function credentialsOf(params: ConnectionParams): Credentials | undefined {
  const found = (params as unknown as Record<symbol, unknown>)[CREDENTIALS];
  return found instanceof Credentials ? found : undefined;
}

/** The password to use: an explicit `password` wins over one carried by credentials. */
export function passwordOf(params: ConnectionParams): string | undefined {
  return params.password ?? credentialsOf(params)?.password;
}
