/** CPU time of another process, so the sidecar's share of a call can be counted too. */
import { readFile } from "node:fs/promises";

/** Linux's USER_HZ: /proc reports times in these ticks, 100 a second on every common build. */
const ticksPerSecond = 100;

/** User + system CPU ms the process `pid` has used so far, from /proc; undefined where there is no /proc (not Linux). */
export async function processCpuMs(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return undefined;
  }
}
