/**
 * What `mecha dev` watches with: folders, and the bursts of changes an editor's save makes
 * (write, rename, chmod), turned into one reload each.
 */
import { watch, type FSWatcher } from "node:fs";
import { CliError } from "./errors.ts";

/** How quiet the files must stay before a burst counts as over. */
const quietMs = 200;

/** Collects changed files and hands them over once no change came for {@link quietMs}. */
export class ChangeBursts {
  readonly #files = new Set<string>();
  readonly #onBurst: (files: string[]) => void;
  #timer: NodeJS.Timeout | undefined;

  constructor(onBurst: (files: string[]) => void) {
    this.#onBurst = onBurst;
  }

  add(file: string): void {
    this.#files.add(file);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      const files = [...this.#files];
      this.#files.clear();
      this.#onBurst(files);
    }, quietMs);
  }

  /** Drops a burst still being collected. */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#files.clear();
  }
}

/** Watches a folder tree (or only the folder); editor swap and backup files are not changes. */
export function watchFolder(folder: string, onChange: (file: string) => void, { recursive = true } = {}): FSWatcher {
  try {
    return watch(folder, { recursive }, (_event, file) => {
      const name = file?.toString() ?? folder;
      if (/(^|[/\\])(\.#|#)|~$|\.sw[a-p]$|\.tmp$/.test(name)) return;
      onChange(name);
    });
  } catch (cause) {
    throw new CliError(`cannot watch ${folder}: ${(cause as Error).message}`, { cause });
  }
}
