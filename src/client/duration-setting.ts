/**
 * A time-valued server setting as SHOW prints it ("1min", "500ms", "0"), in milliseconds. SHOW always prints the
 * largest unit that divides the value, so the units are PostgreSQL's time units; a bare number is in the setting's
 * own base unit, which the caller names. Negative values (-1 = "disabled" for some settings) are returned as is.
 */
import { ProtocolError } from '../errors/index.ts';

const UNIT_MS: Readonly<Record<string, number>> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDurationSetting(name: string, text: string, baseUnitMs: number): number {
  const match = /^(-?\d+)\s*([a-z]*)$/.exec(text.trim());
  const unitMs = match === null ? undefined : match[2] === '' ? baseUnitMs : UNIT_MS[match[2] as string];
  if (match === null || unitMs === undefined) throw new ProtocolError('MALFORMED_MESSAGE', `invalid value for "${name}": "${text}"`);
  return Number(match[1]) * unitMs;
}
