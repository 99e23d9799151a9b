/**
 * The cluster's pg_hba.conf as serve reads it: the query on the `pg_hba_file_rules` view and the parse of its
 * text output (one row per line, arrays in PostgreSQL's text-array syntax) into rules in evaluation order.
 * Matching is hba-match.ts's job, not this module's.
 *
 * Lines the view reports with an `error` are recorded in `errors` and left out of `rules`. The view reads the
 * file as it is on disk now; the server keeps its last good load when a reload finds errors, so a file with
 * errors may not be what the server applies. Callers that care can look at `errors`.
 *
 * What the view cannot tell: it prints quoted tokens without their quotes, so a quoted "replication", "all" or
 * "+name" in the file reads the same as the keyword. Such files are taken as if the keyword was meant.
 */
import { ProtocolError } from '../../errors/index.ts';

export type HbaLineType = 'local' | 'host' | 'hostssl' | 'hostnossl' | 'hostgssenc' | 'hostnogssenc';

export interface HbaRule {
  readonly lineNumber: number;
  readonly type: HbaLineType;
  readonly databases: readonly string[];
  readonly users: readonly string[];
  /** an IP address (with `netmask`), `all`, `samehost`, `samenet`, or a host name (leading dot: a suffix) */
  readonly address: string | null;
  readonly netmask: string | null;
  readonly authMethod: string;
  readonly options: readonly string[];
}

export interface HbaRuleSet {
  readonly rules: readonly HbaRule[];
  readonly errors: readonly string[];
}

const LINE_TYPES: ReadonlySet<string> = new Set<HbaLineType>(['local', 'host', 'hostssl', 'hostnossl', 'hostgssenc', 'hostnogssenc']);

/** Column order is fixed for every version, so that hbaRulesFromRows needs no version. */
const COLUMNS = 'line_number, type, database, user_name, address, netmask, auth_method, options, error';

/**
 * PostgreSQL 16 added `include` directives: line numbers then restart in each included file, and `rule_number`
 * (null on error rows) is the order the server evaluates rules in. Before 16, line order is that order.
 */
export function hbaRulesQuery(serverVersionNum: number): string {
  const order = serverVersionNum >= 160000 ? 'rule_number nulls last, line_number' : 'line_number';
  return `select ${COLUMNS} from pg_catalog.pg_hba_file_rules order by ${order}`;
}

export function hbaRulesFromRows(rows: ReadonlyArray<ReadonlyArray<string | null>>): HbaRuleSet {
  const rules: HbaRule[] = [];
  const errors: string[] = [];
  for (const row of rows) {
    if (row.length !== 9) throw malformed(`pg_hba_file_rules row has ${row.length} columns, expected 9`);
    const [lineText, type, databases, users, address, netmask, authMethod, options, error] = row;
    const lineNumber = Number(lineText);
    if (lineText == null || !Number.isSafeInteger(lineNumber)) {
      throw malformed(`pg_hba_file_rules row has line number "${String(lineText)}"`);
    }
    if (error != null) {
      errors.push(`line ${lineNumber}: ${error}`);
      continue;
    }
    if (type == null || !LINE_TYPES.has(type)) {
      throw malformed(`pg_hba.conf line ${lineNumber} has connection type "${String(type)}"`);
    }
    if (databases == null || users == null || authMethod == null) {
      throw malformed(`pg_hba.conf line ${lineNumber} lacks database, user or method`);
    }
    rules.push({
      lineNumber, type: type as HbaLineType, databases: parseTextArray(databases), users: parseTextArray(users),
      address: address ?? null, netmask: netmask ?? null, authMethod, options: options == null ? [] : parseTextArray(options),
    });
  }
  return { rules, errors };
}

/**
 * A one-dimensional text[] in PostgreSQL's output syntax: `{a,"b c","d\"e"}`. Quoted elements may hold any
 * character, with `\` escaping the next one; unquoted ones end at `,` or `}`. An unquoted NULL is a null
 * element, which none of the view's arrays can hold, so it is refused like any other surprise.
 */
export function parseTextArray(text: string): string[] {
  if (!text.startsWith('{') || !text.endsWith('}')) throw malformed(`not a text array: "${text}"`);
  const elements: string[] = [];
  if (text === '{}') return elements;
  let at = 1;
  for (;;) {
    let element = '';
    if (text[at] === '"') {
      at++;
      for (;;) {
        const char = text[at];
        if (char === undefined) throw malformed(`unterminated quoted element in text array: "${text}"`);
        at++;
        if (char === '"') break;
        if (char === '\\') {
          const escaped = text[at];
          if (escaped === undefined) throw malformed(`dangling backslash in text array: "${text}"`);
          element += escaped;
          at++;
        } else {
          element += char;
        }
      }
    } else {
      const start = at;
      for (let char = text[at]; char !== ',' && char !== '}'; char = text[at]) {
        if (char === undefined || char === '{' || char === '"' || char === '\\') {
          throw malformed(`unexpected character in text array: "${text}"`);
        }
        at++;
      }
      element = text.slice(start, at);
      if (element === '' || element.toUpperCase() === 'NULL') throw malformed(`empty or null element in text array: "${text}"`);
    }
    elements.push(element);
    const separator = text[at];
    at++;
    if (separator === '}') {
      if (at !== text.length) throw malformed(`text after the end of a text array: "${text}"`);
      return elements;
    }
    if (separator !== ',') throw malformed(`expected "," or "}" in text array: "${text}"`);
  }
}

function malformed(message: string): ProtocolError {
  return new ProtocolError('MALFORMED_MESSAGE', message);
}
