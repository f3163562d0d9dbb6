/**
 * Writing files that survive a concurrent reader or a crash: atomically (a reader sees the old
 * content or the new), durably (fsynced before the call returns), and telling the leftovers of a
 * dead writer from a live one's.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Writes `content` beside `file` (a dot-file named after it and this process) and renames it over `file`. */
export function writeFileAtomic(file: string, content: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

/** Writes `content` to `file` (created or truncated) and fsyncs it before returning. */
export function writeDurable(file: string, content: string | Uint8Array): void {
  writeSynced(file, 'w', content);
}

/** Appends `text` to `file` (created if missing) and fsyncs it before returning. */
export function appendDurable(file: string, text: string): void {
  writeSynced(file, 'a', text);
}

/** Opens `file` with `flags` ('w' truncates, 'a' appends), writes `content`, fsyncs, closes. */
function writeSynced(file: string, flags: 'w' | 'a', content: string | Uint8Array): void {
  const fd = fs.openSync(file, flags);
  try {
    fs.writeFileSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** True while process `pid` runs (EPERM: it runs, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** fsync of a file or a folder (a folder's entries: a rename in it survives a crash). */
export function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } catch (err) {
    // Some file systems refuse fsync on a directory (EINVAL/EISDIR): nothing more can be done there.
    if (!['EINVAL', 'EISDIR', 'EPERM'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    fs.closeSync(fd);
  }
}
