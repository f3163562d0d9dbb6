/** Reading the JSON files that come with datasets (label windows, profiles, thresholds). */
import { readFileSync } from 'node:fs';
import { fileError, SeismoError } from '../errors.js';

/**
 * Reads and parses a JSON file.
 * @param hint appended to the message when the file cannot be read (e.g. which option names it).
 * @throws SeismoError `ERR_IO` when the file cannot be read, `ERR_JSON_PARSE` when it is not JSON.
 */
export function readJsonFile(path: string, hint = ''): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = fileError(path, err);
    throw hint ? new SeismoError(e.code, `${e.message}; ${hint}`, e.details, { cause: err }) : e;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new SeismoError('ERR_JSON_PARSE', `${path}: not valid JSON (${(err as Error).message})`, { file: path }, { cause: err });
  }
}
