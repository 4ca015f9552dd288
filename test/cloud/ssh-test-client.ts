// Small ssh2 helpers for the cloud tests: connect with a key and a host verifier, run a command.
import fs from "node:fs";
import { Client } from "ssh2";

export interface Connected {
  client: Client;
  /** The raw host key blob the server presented. */
  presentedHostKey: Buffer;
}

export function sshConnect(host: string, privateKey: string, accept: (key: Buffer) => boolean = () => true): Promise<Connected> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    let presented: Buffer | null = null;
    client
      .once("ready", () => resolve({ client, presentedHostKey: presented! }))
      .once("error", (err) => reject(err))
      .connect({
        host,
        port: 22,
        username: "root",
        privateKey,
        readyTimeout: 5000,
        hostVerifier: (key: Buffer) => {
          presented = key;
          return accept(key);
        },
      });
  });
}

export function sshExec(client: Client, command: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, stream) => {
      if (err) return reject(err);
      let stdout = "";
      let stderr = "";
      stream.on("data", (d: Buffer) => (stdout += d.toString()));
      stream.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      stream.on("close", (code: number | null) => resolve({ code, stdout, stderr }));
    });
  });
}

/** Host PIDs of live (not zombie) processes whose command line contains `marker`. */
export function livePidsWithMarker(marker: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0").join(" ");
      if (!cmd.includes(marker)) continue;
      // PID 1 here does not reap orphans, so a zombie still "exists": look at the state field.
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (state !== "Z" && state !== "X") out.push(Number(entry));
    } catch {
      /* the process went away while we looked */
    }
  }
  return out;
}
