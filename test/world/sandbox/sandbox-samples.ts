// What a newcomer can try in the sandbox without bringing anything: torrents seeded in the local swarm, a single
// playbook with vars_prompt questions, and a project archive that needs a role from the Galaxy stand-in.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { GalaxyStandIn } from "../galaxy.js";
import { makeRoleArchive } from "../galaxy.js";
import type { Swarm, SwarmTorrent } from "../swarm.js";

export interface SampleTorrent {
  torrent: SwarmTorrent;
  /** One line for the side panel: what trying this one shows. */
  note: string;
  seeded: boolean;
}

export interface SampleFile {
  fileName: string;
  mimeType: string;
  note: string;
  bytes: Buffer;
}

/** Seeds the sample torrents; the dead one is known to the tracker but nobody has it (the job gives up and cleans up). */
export async function seedSampleTorrents(swarm: Swarm): Promise<SampleTorrent[]> {
  const MiB = 1024 * 1024;
  const video = await swarm.addTorrent({ name: "sandbox-video.mkv", files: [{ path: "sandbox-video.mkv", size: 20 * MiB }] });
  const photos = await swarm.addTorrent({
    name: "holiday photos",
    files: [
      { path: "day 1/beach.jpg", size: 3 * MiB },
      { path: "day 1/sunset.jpg", size: 2 * MiB },
      { path: "day 2/mountains.jpg", size: 4 * MiB },
      { path: "notes.txt", content: "Three photos and this note, in two folders.\n" },
    ],
  });
  const dead = await swarm.addTorrent({ name: "nobody-seeds-this.iso", files: [{ path: "nobody-seeds-this.iso", size: 2 * MiB }], seed: false });
  return [
    { torrent: video, seeded: true, note: "one 20 MiB file: links, and the file itself as a document (under Telegram's 50 MB)" },
    { torrent: photos, seeded: true, note: "four files in folders: a links page for all of them" },
    { torrent: dead, seeded: false, note: "no seeder: the job stalls, gives up, and the droplet is destroyed anyway" },
  ];
}

const HELLO_PLAYBOOK = `# A playbook for the Dropship sandbox: two questions (one private), a collection (ansible.posix), four tasks.
- name: Hello from the Dropship sandbox
  hosts: all
  gather_facts: false
  vars_prompt:
    - name: greeting
      prompt: What should the file on the host say?
      private: false
      default: hello from the sandbox
    - name: api_token
      prompt: A secret (deleted from the chat, masked in the log)
      private: true
  vars:
    home: "{{ lookup('ansible.builtin.env', 'HOME') }}"
  tasks:
    - name: write the greeting
      ansible.builtin.copy:
        dest: "{{ home }}/sandbox-greeting.txt"
        content: "{{ greeting }}\\n"
        mode: "0644"
    - name: a file to patch
      ansible.builtin.copy:
        dest: "{{ home }}/sandbox-patched.txt"
        content: "one\\ntwo\\n"
    - name: the patch
      ansible.builtin.copy:
        dest: "{{ home }}/sandbox.patch"
        content: "--- a/sandbox-patched.txt\\n+++ b/sandbox-patched.txt\\n@@ -1,2 +1,2 @@\\n one\\n-two\\n+three\\n"
    - name: patch it with ansible.posix (a collection the virtualenv must hold)
      ansible.posix.patch:
        src: "{{ home }}/sandbox.patch"
        dest: "{{ home }}/sandbox-patched.txt"
        remote_src: true
`;

const yaml = (v: unknown) => JSON.stringify(v, null, 2) + "\n"; // JSON is YAML

/**
 * The sample playbooks: `hello.yml`, and `galaxy-role-project.tar.gz`, whose requirements.yml names the role
 * sandbox.motd, published on the Galaxy stand-in here (so the virtualenv build fetches it from there).
 */
export async function makeSamplePlaybooks(dir: string, galaxy: GalaxyStandIn): Promise<SampleFile[]> {
  const archives = path.join(dir, "role-archives");
  galaxy.addRole("sandbox", "motd", "1.0.0", await makeRoleArchive(archives, {
    top: "ansible-role-motd-1.0.0",
    files: {
      "tasks/main.yml": yaml([
        { name: "motd: write the message", "ansible.builtin.copy": { dest: "{{ lookup('ansible.builtin.env', 'HOME') }}/motd.txt", content: "{{ motd_text }}\n" } },
      ]),
      "defaults/main.yml": yaml({ motd_text: "Provisioned by Dropship (sandbox.motd from the Galaxy stand-in)" }),
    },
  }));
  const src = path.join(dir, "sample-project", "galaxy-role-project");
  const files: Record<string, string> = {
    "site.yml": yaml([{ name: "A project with a Galaxy role", hosts: "all", gather_facts: false, roles: ["sandbox.motd"] }]),
    "requirements.yml": yaml({ roles: [{ name: "sandbox.motd", version: "1.0.0" }] }),
  };
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
    fs.writeFileSync(path.join(src, rel), text);
  }
  const project = execFileSync("tar", ["-czf", "-", "-C", path.dirname(src), path.basename(src)]);
  return [
    { fileName: "hello.yml", mimeType: "application/x-yaml", bytes: Buffer.from(HELLO_PLAYBOOK), note: "two questions (one private), the ansible.posix collection" },
    { fileName: "galaxy-role-project.tar.gz", mimeType: "application/gzip", bytes: project, note: "a project whose requirements.yml names a role on the Galaxy stand-in" },
  ];
}
