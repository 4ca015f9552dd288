// Hosts for permission tests: a real HostRegistry on a real SQLite file whose connector offers a real, fixed host key
// without a machine behind it — who may use a host is under test there, not SSH (test/hosts/host-registry.test.ts and
// the e2e tests use real sshd hosts).
import type { ConnectHost, Host } from "../../src/hosts/host.js";
import { HostRegistry } from "../../src/hosts/host-registry.js";
import { generateEd25519, publicKeyInfo } from "../../src/shared/ssh-keys.js";
import type { Db } from "../../src/storage/database.js";

export interface RegistryWithoutSsh {
  registry: HostRegistry;
  /** Every connection attempt, by address. */
  connections: string[];
}

export function registryWithoutSsh(db: Db): RegistryWithoutSsh {
  const key = publicKeyInfo(Buffer.from(generateEd25519("fixture-host").public.split(" ")[1]!, "base64"));
  const connections: string[] = [];
  const connect: ConnectHost = async (target) => {
    connections.push(target.address);
    if (typeof target.hostKey !== "string") target.hostKey.pinOnFirstUse(key);
    const host: Partial<Host> = { label: `${target.username}@${target.address}:${target.port}`, close: async () => undefined };
    return host as Host;
  };
  return { registry: new HostRegistry({ db, connect }), connections };
}

export const where = (address: string) => ({ username: "root", address, port: 22 });
