/**
 * The walsender's replication command grammar (repl_scanner.l / repl_gram.y, PostgreSQL 15–18), read from the
 * server side: serve decides with it which Query it performs itself (BASE_BACKUP) and which it relays.
 *
 * Owns: the scanner's token rules and the grammar's accept/reject decision for every command, plus the option
 * list of BASE_BACKUP in both the parenthesized (15+) and the old keyword (≤14) syntax, the latter converted to
 * the equivalent generic options. Does not interpret option values (serve/backup/options.ts does) nor keep the
 * arguments of the other commands: serve relays those unchanged.
 *
 * Scanner facts this relies on (they differ from the SQL scanner):
 * - keywords are case-sensitive upper-case words (no caseless option): `base_backup` is an identifier, so the
 *   Query is not a replication command and PostgreSQL runs it as SQL;
 * - only the first token is scanned to tell a replication command from SQL, so anything may follow in SQL;
 * - no comments, no backslash escapes, no "" escape inside double quotes (two quoted identifiers instead),
 *   and an empty "" is a valid empty identifier;
 * - identifiers are truncated to 63 bytes (NAMEDATALEN - 1, UTF-8 assumed), unquoted ones down-cased (ASCII only);
 * - a number is strtoul() stored in a uint32 and then an int Integer node, so `text` holds that value in decimal.
 */
import { ProtocolError } from '../errors/index.ts';

export type OptionValue = { readonly kind: 'string' | 'identifier' | 'number'; readonly text: string };

export interface GenericOption {
  /** Lower-cased as the scanner does for unquoted identifiers; a keyword used as a name is its lower-case spelling. */
  readonly name: string;
  /** null: the option was given without a value (a boolean true). */
  readonly value: OptionValue | null;
}

export type ReplicationCommand =
  | { readonly type: 'BASE_BACKUP'; readonly syntax: 'parenthesized' | 'keywords'; readonly options: readonly GenericOption[] }
  | {
    readonly type: 'IDENTIFY_SYSTEM' | 'READ_REPLICATION_SLOT' | 'CREATE_REPLICATION_SLOT' | 'DROP_REPLICATION_SLOT'
      | 'START_REPLICATION' | 'TIMELINE_HISTORY' | 'SHOW' | 'UPLOAD_MANIFEST' | 'ALTER_REPLICATION_SLOT' | 'SQL';
  };

type Token =
  | { readonly kind: 'word'; readonly raw: string; readonly quoted: boolean; readonly ident: string }
  | { readonly kind: 'string'; readonly text: string }
  | { readonly kind: 'uconst'; readonly raw: string }
  | { readonly kind: 'recptr' }
  | { readonly kind: 'char'; readonly char: string }
  | { readonly kind: 'end' };

const COMMANDS = new Set([
  'IDENTIFY_SYSTEM', 'BASE_BACKUP', 'START_REPLICATION', 'CREATE_REPLICATION_SLOT', 'DROP_REPLICATION_SLOT',
  'ALTER_REPLICATION_SLOT', 'READ_REPLICATION_SLOT', 'TIMELINE_HISTORY', 'UPLOAD_MANIFEST', 'SHOW',
] as const);
type CommandKeyword = typeof COMMANDS extends Set<infer K> ? K : never;
const KEYWORDS: ReadonlySet<string> = new Set([
  ...COMMANDS, 'TIMELINE', 'PHYSICAL', 'RESERVE_WAL', 'LOGICAL', 'SLOT', 'TEMPORARY', 'TWO_PHASE',
  'EXPORT_SNAPSHOT', 'NOEXPORT_SNAPSHOT', 'USE_SNAPSHOT', 'WAIT',
]);
const LEGACY_SLOT_OPTIONS = new Set(['EXPORT_SNAPSHOT', 'NOEXPORT_SNAPSHOT', 'USE_SNAPSHOT', 'RESERVE_WAL', 'TWO_PHASE']);

/** An old keyword's 15+ option; `arg` is the token it takes, or the fixed value it stands for. */
interface OldOption { readonly name: string; readonly arg: 'string' | 'uconst' | OptionValue | null }

/**
 * PostgreSQL 14's BASE_BACKUP keywords (upper case only there too). FAST, NOWAIT and NOVERIFY_CHECKSUMS become
 * what pg_basebackup 15+ sends for them (CHECKPOINT 'fast', WAIT 0, VERIFY_CHECKSUMS 0).
 */
const OLD_BASE_BACKUP_OPTIONS: ReadonlyMap<string, OldOption> = new Map<string, OldOption>([
  ['LABEL', { name: 'label', arg: 'string' }],
  ['PROGRESS', { name: 'progress', arg: null }],
  ['FAST', { name: 'checkpoint', arg: { kind: 'string', text: 'fast' } }],
  ['WAL', { name: 'wal', arg: null }],
  ['NOWAIT', { name: 'wait', arg: { kind: 'number', text: '0' } }],
  ['MAX_RATE', { name: 'max_rate', arg: 'uconst' }],
  ['TABLESPACE_MAP', { name: 'tablespace_map', arg: null }],
  ['NOVERIFY_CHECKSUMS', { name: 'verify_checksums', arg: { kind: 'number', text: '0' } }],
  ['MANIFEST', { name: 'manifest', arg: 'string' }],
  ['MANIFEST_CHECKSUMS', { name: 'manifest_checksums', arg: 'string' }],
]);

const MAX_IDENTIFIER_BYTES = 63;
const ULONG_MAX = 2n ** 64n - 1n;
const SPACE = /[ \t\n\r\f\v]/;
const IDENT_START = /[A-Za-z_\u0080-\uffff]/;
const IDENT_CONT = /[A-Za-z_\u0080-\uffff0-9$]/;
const DIGIT = /[0-9]/;
const HEX_DIGIT = /[0-9A-Fa-f]/;

export function parseReplicationCommand(text: string): ReplicationCommand {
  // a Query string ends at its NUL; one inside makes PostgreSQL reject the message itself
  if (text.includes('\0')) throw syntaxError('invalid message format', '08P01');
  const parser = new Parser(new Scanner(text));
  const first = parser.take();
  const keyword = keywordOf(first);
  if (keyword === null || !COMMANDS.has(keyword as CommandKeyword)) return { type: 'SQL' };
  const command = parser.command(keyword as CommandKeyword);
  parser.acceptChar(';');
  if (parser.peek().kind !== 'end') throw syntaxError();
  return command;
}

class Scanner {
  readonly #text: string;
  #pos = 0;

  constructor(text: string) {
    this.#text = text;
  }

  next(): Token {
    const text = this.#text;
    while (this.#pos < text.length && SPACE.test(text[this.#pos]!)) this.#pos += 1;
    if (this.#pos >= text.length) return { kind: 'end' };
    const start = this.#pos;
    const char = text[start]!;
    if (char === "'") return { kind: 'string', text: this.#quoted("'", true) };
    if (char === '"') {
      const raw = this.#quoted('"', false);
      return { kind: 'word', raw, quoted: true, ident: truncateIdentifier(raw) };
    }
    // flex takes the longest match; an LSN `hex/hex` always outruns the digits or word it starts with
    const hexEnd = this.#runEnd(start, HEX_DIGIT);
    if (hexEnd > start && text[hexEnd] === '/' && this.#runEnd(hexEnd + 1, HEX_DIGIT) > hexEnd + 1) {
      this.#pos = this.#runEnd(hexEnd + 1, HEX_DIGIT);
      return { kind: 'recptr' };
    }
    if (DIGIT.test(char)) {
      this.#pos = this.#runEnd(start, DIGIT);
      return { kind: 'uconst', raw: text.slice(start, this.#pos) };
    }
    if (IDENT_START.test(char)) {
      this.#pos = this.#runEnd(start + 1, IDENT_CONT);
      const raw = text.slice(start, this.#pos);
      return { kind: 'word', raw, quoted: false, ident: truncateIdentifier(raw.replace(/[A-Z]+/g, (s) => s.toLowerCase())) };
    }
    this.#pos += 1;
    return { kind: 'char', char };
  }

  #runEnd(from: number, pattern: RegExp): number {
    let end = from;
    while (end < this.#text.length && pattern.test(this.#text[end]!)) end += 1;
    return end;
  }

  /** Body of a quoted token; only single-quoted strings know the doubled-quote escape. */
  #quoted(quote: string, isDoublingEscape: boolean): string {
    let body = '';
    let from = this.#pos + 1;
    for (;;) {
      const close = this.#text.indexOf(quote, from);
      if (close < 0) throw syntaxError('unterminated quoted string');
      body += this.#text.slice(from, close);
      if (isDoublingEscape && this.#text[close + 1] === quote) {
        body += quote;
        from = close + 2;
        continue;
      }
      this.#pos = close + 1;
      return body;
    }
  }
}

class Parser {
  readonly #scanner: Scanner;
  #lookahead: Token | null = null;

  constructor(scanner: Scanner) {
    this.#scanner = scanner;
  }

  peek(): Token {
    this.#lookahead ??= this.#scanner.next();
    return this.#lookahead;
  }

  take(): Token {
    const token = this.peek();
    this.#lookahead = null;
    return token;
  }

  acceptChar(char: string): boolean {
    const token = this.peek();
    if (token.kind !== 'char' || token.char !== char) return false;
    this.take();
    return true;
  }

  command(keyword: CommandKeyword): ReplicationCommand {
    switch (keyword) {
      case 'IDENTIFY_SYSTEM':
      case 'UPLOAD_MANIFEST':
        break;
      case 'BASE_BACKUP':
        return this.#baseBackup();
      case 'SHOW':
      case 'READ_REPLICATION_SLOT':
        this.#identifier();
        while (this.acceptChar('.')) this.#identifier();
        break;
      case 'TIMELINE_HISTORY':
        this.#timeline();
        break;
      case 'DROP_REPLICATION_SLOT':
        this.#identifier();
        this.#acceptKeyword('WAIT');
        break;
      case 'ALTER_REPLICATION_SLOT':
        this.#identifier();
        this.#expectChar('(');
        this.#genericOptionList();
        break;
      case 'CREATE_REPLICATION_SLOT':
        this.#createSlot();
        break;
      case 'START_REPLICATION':
        this.#startReplication();
        break;
    }
    return { type: keyword };
  }

  #baseBackup(): ReplicationCommand {
    if (this.acceptChar('(')) return { type: 'BASE_BACKUP', syntax: 'parenthesized', options: this.#genericOptionList() };
    const options: GenericOption[] = [];
    for (let old = this.#oldOption(); old !== undefined; old = this.#oldOption()) {
      this.take();
      if (old.arg === 'string') options.push({ name: old.name, value: { kind: 'string', text: this.#string() } });
      else if (old.arg === 'uconst') options.push({ name: old.name, value: { kind: 'number', text: this.#integer() } });
      else options.push({ name: old.name, value: old.arg });
    }
    // a bare BASE_BACKUP is valid in both syntaxes and means the same; 15+ servers accept only the parenthesized one
    return { type: 'BASE_BACKUP', syntax: options.length === 0 ? 'parenthesized' : 'keywords', options };
  }

  #oldOption(): OldOption | undefined {
    const token = this.peek();
    return token.kind === 'word' && !token.quoted ? OLD_BASE_BACKUP_OPTIONS.get(token.raw) : undefined;
  }

  /** After '(': `name [value] [, ...] )`, at least one option. */
  #genericOptionList(): GenericOption[] {
    const options: GenericOption[] = [];
    do {
      const name = this.take();
      if (name.kind !== 'word') throw syntaxError();
      options.push({ name: name.ident, value: this.#optionValue() });
    } while (this.acceptChar(','));
    this.#expectChar(')');
    return options;
  }

  /** generic_option's argument: a string, a number, or an identifier that is not a keyword; else none. */
  #optionValue(): OptionValue | null {
    const token = this.peek();
    if (token.kind === 'uconst') return { kind: 'number', text: this.#integer() };
    if (token.kind === 'string') {
      this.take();
      return { kind: 'string', text: token.text };
    }
    if (token.kind === 'word' && keywordOf(token) === null) {
      this.take();
      return { kind: 'identifier', text: token.ident };
    }
    return null;
  }

  #createSlot(): void {
    this.#identifier();
    this.#acceptKeyword('TEMPORARY');
    if (this.#acceptKeyword('LOGICAL')) this.#identifier();
    else this.#expectKeyword('PHYSICAL');
    if (this.acceptChar('(')) {
      this.#genericOptionList();
      return;
    }
    for (let keyword = keywordOf(this.peek()); keyword !== null && LEGACY_SLOT_OPTIONS.has(keyword); keyword = keywordOf(this.peek())) this.take();
  }

  #startReplication(): void {
    const hasSlot = this.#acceptKeyword('SLOT');
    if (hasSlot) this.#identifier();
    if (hasSlot && this.#acceptKeyword('LOGICAL')) {
      this.#recptr();
      if (!this.acceptChar('(')) return;
      do {
        this.#identifier();
        if (this.peek().kind === 'string') this.take();
      } while (this.acceptChar(','));
      this.#expectChar(')');
      return;
    }
    this.#acceptKeyword('PHYSICAL');
    this.#recptr();
    if (this.#acceptKeyword('TIMELINE')) this.#timeline();
  }

  /** IDENT: a quoted word, or an unquoted one that is not a keyword. */
  #identifier(): string {
    const token = this.take();
    if (token.kind !== 'word' || keywordOf(token) !== null) throw syntaxError();
    return token.ident;
  }

  #string(): string {
    const token = this.take();
    if (token.kind !== 'string') throw syntaxError();
    return token.text;
  }

  #integer(): string {
    return String(BigInt.asIntN(32, this.#uconst()));
  }

  #uconst(): bigint {
    const token = this.take();
    if (token.kind !== 'uconst') throw syntaxError();
    const value = BigInt(token.raw);
    return value > ULONG_MAX ? ULONG_MAX : value;
  }

  #timeline(): void {
    const tli = BigInt.asUintN(32, this.#uconst());
    if (tli === 0n) throw syntaxError(`invalid timeline ${tli}`);
  }

  #recptr(): void {
    if (this.take().kind !== 'recptr') throw syntaxError();
  }

  #acceptKeyword(keyword: string): boolean {
    if (keywordOf(this.peek()) !== keyword) return false;
    this.take();
    return true;
  }

  #expectKeyword(keyword: string): void {
    if (!this.#acceptKeyword(keyword)) throw syntaxError();
  }

  #expectChar(char: string): void {
    if (!this.acceptChar(char)) throw syntaxError();
  }
}

function keywordOf(token: Token): string | null {
  return token.kind === 'word' && !token.quoted && KEYWORDS.has(token.raw) ? token.raw : null;
}

/** truncate_identifier: at most 63 bytes, never splitting a character. */
function truncateIdentifier(name: string): string {
  if (Buffer.byteLength(name) <= MAX_IDENTIFIER_BYTES) return name;
  let kept = '';
  let bytes = 0;
  for (const char of name) {
    bytes += Buffer.byteLength(char);
    if (bytes > MAX_IDENTIFIER_BYTES) break;
    kept += char;
  }
  return kept;
}

function syntaxError(message = 'syntax error', sqlstate = '42601'): ProtocolError {
  return new ProtocolError('COMMAND_SYNTAX_ERROR', message, { details: { sqlstate } });
}
