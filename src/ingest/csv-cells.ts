/**
 * The cells of a CSV file: timestamps (ISO-8601 and 'YYYY-MM-DD HH:MM:SS' to epoch milliseconds,
 * with a per-day cache for the common layout), numbers (a fast exact path for plain decimals, a
 * strict slow path that knows the non-finite spellings), and cells quoted for error messages.
 */

/** Spellings of non-finite values that common writers (pandas, numpy, R, JS) produce. */
const NON_FINITE_WORDS = new Map<string, number>([
  ['nan', NaN], ['+nan', NaN], ['-nan', NaN], ['na', NaN], ['n/a', NaN], ['null', NaN],
  ['inf', Infinity], ['+inf', Infinity], ['infinity', Infinity], ['+infinity', Infinity],
  ['-inf', -Infinity], ['-infinity', -Infinity],
]);

export const FLOAT32_MAX = 3.4028234663852886e38;

/** Longest piece of a cell or name quoted in an error message, in characters. */
export const QUOTE_MAX = 64;

/**
 * A cell or name quoted for an error message, cut to {@link QUOTE_MAX} characters with its full
 * length said: a message must stay readable (and small) whatever the file holds, e.g. a 600 MB
 * line of one cell.
 */
export function quoteClipped(text: string): string {
  return text.length <= QUOTE_MAX ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, QUOTE_MAX))}... (${text.length} characters)`;
}

/** The first few of `names`, quoted and clipped, then how many more: bounded whatever the count. */
export function listClipped(names: readonly string[], first = 5): string {
  const shown = names.slice(0, first).map(quoteClipped).join(', ');
  return names.length > first ? `${shown} and ${names.length - first} more` : shown;
}

/**
 * Parses a timestamp string to epoch milliseconds: `YYYY-MM-DD`, `YYYY-MM-DD[T ]HH:MM`,
 * `...:SS`, `...:SS.fff` (any number of fraction digits), optionally followed by `Z` or an offset
 * `±HH:MM` / `±HHMM` / `±HH`. Without a zone the time is read as UTC. Returns NaN when the string
 * is not such a date or names an impossible one (month 13, 31 April, hour 24).
 */
export function parseTimestampMs(text: string): number {
  // Fast path for the common fixed layout 'YYYY-MM-DD HH:MM:SS' (or with 'T'): consecutive rows
  // share the date, so reuse the day's epoch and read only the clock digits. Date.UTC and the
  // regex cost more per row than everything else in a timestamp column.
  if (text.length === 19 && dayCacheKey.length === 10 && text.startsWith(dayCacheKey)) {
    const sep = text.charCodeAt(10);
    if ((sep === 32 || sep === 84) && text.charCodeAt(13) === 58 && text.charCodeAt(16) === 58) {
      const hour = twoDigits(text, 11);
      const minute = twoDigits(text, 14);
      const second = twoDigits(text, 17);
      // NaN (a non-digit) fails these comparisons too, as the slow path would.
      return hour <= 23 && minute <= 59 && second <= 59 ? dayCacheMs + ((hour * 60 + minute) * 60 + second) * 1000 : NaN;
    }
  }
  const ms = parseTimestampSlow(text);
  if (ms === ms && text.length === 19 && text.charCodeAt(13) === 58 && text.charCodeAt(16) === 58) {
    const year = +text.slice(0, 4);
    if (year >= 100) {
      dayCacheKey = text.slice(0, 10);
      dayCacheMs = Date.UTC(year, +text.slice(5, 7) - 1, +text.slice(8, 10));
    }
  }
  return ms;
}

/** Date prefix ('YYYY-MM-DD') of the last 19-character timestamp parsed, and its UTC midnight. */
let dayCacheKey = '';
let dayCacheMs = 0;

/** Two ASCII digits at `i` as a number, NaN if either is not a digit. */
function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : NaN;
}

function parseTimestampSlow(text: string): number {
  const m = DATE_RE.exec(text);
  if (m === null) return NaN;
  const year = +m[1]!;
  const month = +m[2]!;
  const day = +m[3]!;
  const hour = m[4] === undefined ? 0 : +m[4];
  const minute = m[5] === undefined ? 0 : +m[5];
  const second = m[6] === undefined ? 0 : +m[6];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  if (hour > 23 || minute > 59 || second > 59) return NaN;
  let ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC maps years 0..99 to 1900..1999; a four-digit year in a file means what it says.
  if (year < 100) ms = new Date(ms).setUTCFullYear(year);
  if (m[7] !== undefined) ms += +('0.' + m[7]) * 1000;
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    const sign = zone.charCodeAt(0) === 45 ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offH = +digits.slice(0, 2);
    const offM = digits.length > 2 ? +digits.slice(2) : 0;
    if (offH > 23 || offM > 59) return NaN;
    ms -= sign * (offH * 60 + offM) * 60_000;
  }
  return ms;
}

const DATE_RE =
  /^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?\s*$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Strict number parse for one cell. `+cell` alone would accept `''` and `'  '` as 0 and `'0x1f'`
 * as 31; those are rejected here. Returns the number (possibly NaN/±Infinity for the recognised
 * non-finite spellings) or `undefined` when the cell is not a number at all.
 */
export function parseNumberCell(cell: string): number | undefined {
  const v = +cell;
  if (v !== v) return NON_FINITE_WORDS.get(cell.trim().toLowerCase());
  if (v === 0 && cell.trim().length === 0) return undefined;
  // Hex/octal/binary literals: Number() takes them, a data file never means them.
  if (cell.length > 1 && cell.charCodeAt(0) === 48) {
    const c1 = cell.charCodeAt(1) | 32;
    if (c1 === 120 || c1 === 111 || c1 === 98) return undefined;
  }
  return v;
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * Fast path for the cells nearly every file consists of: `-?digits[.digits]` with at most 15
 * significant digits. The digits form an integer below 2^53 and 10^k (k <= 22) is exact, so one
 * IEEE division gives the correctly rounded double, identical to `Number(cell)`, at a fraction of
 * its cost. Returns NaN for anything else (exponents, spaces, words), which the caller hands to
 * the strict slow path. Leading zeros are fine here ("007" is 7; hex needs an 'x').
 */
export function parseSimpleDecimal(s: string): number {
  const n = s.length;
  let i = 0;
  let neg = false;
  if (n > 0 && s.charCodeAt(0) === 45) {
    neg = true;
    i = 1;
  }
  let mant = 0;
  let digits = 0;
  let scale = -1;
  for (; i < n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d >= 0 && d <= 9) {
      mant = mant * 10 + d;
      if (mant !== 0) digits++;
      if (scale >= 0) scale++;
    } else if (d === -2 && scale < 0) {
      scale = 0;
    } else {
      return NaN;
    }
  }
  // Needs at least one digit; "-" or "." alone fall through to the slow path's error.
  if (digits > 15 || scale > 22 || n - (neg ? 1 : 0) - (scale >= 0 ? 1 : 0) === 0) return NaN;
  const v = scale > 0 ? mant / POW10[scale]! : mant;
  return neg ? -v : v;
}
