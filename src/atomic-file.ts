/** Writing a file so that a concurrent reader sees the old content or the new, never half of it. */
import fs from 'node:fs';
import path from 'node:path';

/** Writes `content` beside `file` (a dot-file named after it and this process) and renames it over `file`. */
export function writeFileAtomic(file: string, content: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}
