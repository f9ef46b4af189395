import { execFile } from "node:child_process";

/**
 * Counts fsync/fdatasync system calls of some processes over a time window with `perf stat` on
 * the syscall tracepoints (cheap, no ptrace). With SQLite in WAL mode and synchronous=FULL each
 * commit syncs the WAL once (checkpoints add a few), so movements per sync is the mean group-
 * commit batch size. Resolves to null where perf or its tracepoints are unavailable.
 */
export function countSyncs(pids: number[], seconds: number): Promise<number | null> {
  const perf = process.env.PERF ?? "perf";
  const args = [
    "stat",
    "-x",
    ",",
    "-e",
    "syscalls:sys_enter_fsync,syscalls:sys_enter_fdatasync",
    "-p",
    pids.join(","),
    "--",
    "sleep",
    String(seconds),
  ];
  return new Promise((resolve) => {
    execFile(perf, args, { timeout: (seconds + 10) * 1000 }, (error, _stdout, stderr) => {
      if (error) {
        resolve(null);
        return;
      }
      let total = 0;
      let found = false;
      for (const line of stderr.split("\n")) {
        const [count, , event] = line.split(",");
        if (!event?.startsWith("syscalls:sys_enter_f")) continue;
        const value = Number(count);
        if (!Number.isFinite(value)) continue;
        total += value;
        found = true;
      }
      resolve(found ? total : null);
    });
  });
}
