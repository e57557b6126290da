import * as fs from "fs";
import * as path from "path";
import { ClipNadError } from "../errors";

/**
 * One writer per folder (collections, merges): a lock file holding the writer's pid.
 *  - Created atomically with its content (written to a private temp file, then hard-linked into place, which
 *    fails if a lock exists), so a reader never sees an empty lock.
 *  - A lock whose pid is gone (kill -9) is taken over: moved aside under a private name first, so two processes
 *    cleaning the same stale lock cannot delete each other's fresh one.
 *  - Also exclusive within one process (two collections into one folder from one notebook).
 *  - Released on return, on error, and on SIGINT / SIGTERM / SIGHUP (then the signal's usual exit).
 */
export const LOCK_FILE = ".clip-nad.lock";

const held = new Set<string>();
let handlersInstalled = false;

function releaseAll(): void {
  for (const file of held) fs.rmSync(file, { force: true });
  held.clear();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", releaseAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      releaseAll();
      // Only when nothing else handles the signal: exit the way the default handler would.
      if (process.listenerCount(signal) <= 1) process.exit(128 + (signal === "SIGINT" ? 2 : signal === "SIGTERM" ? 15 : 1));
    });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readPid(file: string): number | null {
  try {
    const pid = Number(fs.readFileSync(file, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Take the lock of `dir` for `what` ("collect", "merge"); returns the release function. */
export function lockFolder(dir: string, what: string): () => void {
  const file = path.resolve(dir, LOCK_FILE);
  if (held.has(file)) throw new ClipNadError(`this process is already writing this folder (another ${what} in the same process?)`, { file: dir });
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  try {
    fs.writeFileSync(tmp, `${process.pid}\n`);
  } catch (e) {
    throw new ClipNadError(`cannot create the lock file (${(e as Error).message})`, { file: dir, cause: e });
  }
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.linkSync(tmp, file);
        held.add(file);
        installHandlers();
        return () => {
          if (held.delete(file)) fs.rmSync(file, { force: true });
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") {
          throw new ClipNadError(`cannot create the lock file (${(e as Error).message})`, { file: dir, cause: e });
        }
      }
      const pid = readPid(file);
      if (pid !== null && isAlive(pid)) {
        throw new ClipNadError(`another clip-nad process (pid ${pid}) is writing this folder; wait for it or stop it`, { file: dir });
      }
      // Stale (its writer died) or unreadable: move it aside, and put it back if it turns out to be alive after all.
      const aside = `${file}.stale.${process.pid}`;
      try {
        fs.renameSync(file, aside);
      } catch {
        continue; // someone else moved it first
      }
      const movedPid = readPid(aside);
      if (movedPid !== null && movedPid !== pid && isAlive(movedPid)) {
        try {
          fs.linkSync(aside, file);
        } catch {
          /* a third process has it now */
        }
        fs.rmSync(aside, { force: true });
        throw new ClipNadError(`another clip-nad process (pid ${movedPid}) is writing this folder; wait for it or stop it`, { file: dir });
      }
      fs.rmSync(aside, { force: true });
    }
    throw new ClipNadError("cannot take the folder's lock (it keeps changing hands)", { file });
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
