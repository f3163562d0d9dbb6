/**
 * Reading CSV text into a table: in memory (one papaparse pass, a row at a time) or from a file
 * or stream (papaparse chunk mode over whole lines), with the errors of reading itself.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import Papa from 'papaparse';
import { fileError, SeismoError } from '../errors.js';
import { TableBuilder, type CellKind, type ReadSeriesOptions, type SeriesTable } from './csv-table.js';

/** Read chunk size for files: large enough that papaparse's per-chunk overhead vanishes. */
export const READ_CHUNK_BYTES = 1 << 20;

function papaConfig(delimiter: string | undefined) {
  return {
    delimiter: delimiter ?? ',',
    header: false,
    dynamicTyping: false,
    // Keep blank lines so that line numbers in messages stay exact; TableBuilder skips them.
    skipEmptyLines: false,
  } as const;
}

/** Parses CSV text in memory into a table of `kind` (see `parseSeriesCsv`). */
export function parseText(text: string, source: string, kind: CellKind, options: ReadSeriesOptions): SeriesTable {
  const builder = new TableBuilder(source, kind, options.nonFinite === 'keep', options.timestampOrder);
  let error: unknown;
  // One pass over the whole string, a row at a time. papaparse's chunked string mode re-parses
  // the unfinished line of every chunk from its start, which made a line spanning many chunks
  // quadratic in its length; `step` parses the string once and never holds all rows.
  // papaparse calls `step` synchronously for string input; an exception thrown inside would be
  // swallowed by it, so catch it here, abort, and rethrow after parse() returns.
  const one: string[][] = [[]];
  Papa.parse<string[]>(text, {
    ...papaConfig(options.delimiter),
    step: (results: Papa.ParseStepResult<string[]>, parser: Papa.Parser) => {
      if (error !== undefined) return;
      try {
        one[0] = results.data;
        builder.push(one);
      } catch (err) {
        error = err;
        parser.abort();
      }
    },
    complete: () => undefined,
  });
  if (error !== undefined) throw error;
  return builder.finish();
}

/** Reads a CSV file into a table of `kind` (see `readSeriesCsv`). */
export async function parseFile(path: string, kind: CellKind, options: ReadSeriesOptions): Promise<SeriesTable> {
  await checkReadable(path);
  const builder = new TableBuilder(path, kind, options.nonFinite === 'keep', options.timestampOrder);
  // 'utf8' encoding makes the stream decode across chunk boundaries; papaparse's own
  // Buffer.toString per chunk would split multi-byte characters.
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: READ_CHUNK_BYTES });
  await streamCsvRows(stream, path, (rows) => builder.push(rows), options.delimiter);
  return builder.finish();
}

/**
 * Feeds a text stream through papaparse in chunk mode: `onRows` gets arrays of rows (arrays of
 * cell strings) in file order, blank lines included as `['']` so that the caller can count lines.
 * Resolves when the stream ends; rejects with the first error `onRows` throws (the stream is then
 * destroyed) or with ERR_CSV_PARSE for a stream error (unreadable file, corrupt gzip, ...).
 *
 * @param stream a readable stream that emits strings (call `setEncoding('utf8')` on byte streams).
 * @param source names the input in error messages.
 */
export function streamCsvRows(
  stream: NodeJS.ReadableStream & { destroy?: (err?: Error) => unknown },
  source: string,
  onRows: (rows: string[][]) => void,
  delimiter?: string,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      if (err === undefined) resolve();
      else {
        stream.destroy?.();
        reject(err);
      }
    };
    Papa.parse<string[]>(wholeLines(stream), {
      ...papaConfig(delimiter),
      chunk: (results: Papa.ParseResult<string[]>, parser: Papa.Parser) => {
        if (settled) return;
        try {
          onRows(results.data);
        } catch (err) {
          // Settle first: abort() calls `complete` synchronously, which would resolve.
          settle(err);
          parser.abort();
        }
      },
      complete: () => settle(),
      error: (err: Error) => settle(readError(source, err)),
    });
  });
}

/**
 * Re-chunks a text stream so that every chunk ends at a line break (or is the stream's last).
 * papaparse keeps the unfinished last line of a chunk and parses it again from its start with the
 * next chunk, so a line spanning k chunks cost O(k^2) (a 600 MB line took minutes); handed whole
 * lines, it parses each character once. Pieces of a long line are joined once, at its end.
 * Errors of the source stream pass through (papaparse reports them); destroying the returned
 * stream destroys the source.
 */
function wholeLines(source: NodeJS.ReadableStream & { destroy?: (err?: Error) => unknown }): Readable {
  async function* lines(): AsyncGenerator<string> {
    const pending: string[] = [];
    for await (const chunk of source as AsyncIterable<string | Buffer>) {
      const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      // '\r' too: old Mac files have no '\n', and a cut between '\r' and '\n' is only an
      // unfinished line break, which papaparse completes from the next chunk.
      const cut = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r'));
      if (cut < 0) {
        pending.push(text);
        continue;
      }
      pending.push(text.slice(0, cut + 1));
      yield pending.length === 1 ? pending[0]! : pending.join('');
      pending.length = 0;
      if (cut + 1 < text.length) pending.push(text.slice(cut + 1));
    }
    if (pending.length > 0) yield pending.join('');
  }
  const out = Readable.from(lines(), { objectMode: true });
  out.once('close', () => source.destroy?.());
  return out;
}

/** Throws ERR_IO (not found, not a file, permission denied) before a stream is opened. */
export async function checkReadable(path: string): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw fileError(path, err);
  }
  if (!info.isFile()) throw new SeismoError('ERR_IO', `cannot read ${path}: not a file`, { file: path });
}

/**
 * A failed read of `path`: ERR_IO / ERR_RESOURCE for the file system's errors (see
 * {@link fileError}), ERR_CSV_PARSE for the rest (a corrupt gzip stream is broken content).
 */
export function readError(path: string, err: unknown): SeismoError {
  if (err instanceof SeismoError) return err;
  if (typeof (err as NodeJS.ErrnoException | undefined)?.syscall === 'string') return fileError(path, err);
  return new SeismoError('ERR_CSV_PARSE', `${path}: cannot read (${String((err as Error)?.message ?? err)})`, { file: path }, { cause: err });
}
