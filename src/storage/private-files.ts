// DATA_DIR holds the database, the bot's SSH key and downloads: readable by the bot's user only. Modes are fixed at
// every start, because a directory made before this rule (or by hand, or restored from a backup) may be wider.
import fs from "node:fs";
import path from "node:path";

export interface ModeFix {
  path: string;
  /** The permission bits before and after, as octal text ("644" → "600"). */
  from: string;
  to: string;
}

/**
 * Makes `dir` and every directory under it 0700 and every file 0600 (group and other bits removed, the owner's
 * kept), without following symbolic links. Returns what it changed.
 */
export function restrictToOwner(dir: string): ModeFix[] {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const fixes: ModeFix[] = [];
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return;
    const mode = st.mode & 0o7777;
    const wanted = st.isDirectory() ? 0o700 : mode & 0o700;
    if (mode !== wanted) {
      fs.chmodSync(p, wanted);
      fixes.push({ path: p, from: mode.toString(8), to: wanted.toString(8) });
    }
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) walk(path.join(p, name));
  };
  walk(dir);
  return fixes;
}
