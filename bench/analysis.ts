// Benchmark: playbook analysis on a generated project (≥500 YAML files, ≥10,000 tasks) vs ansible-playbook --syntax-check.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { resourceUsage } from "node:process";
import { pathToFileURL } from "node:url";
import { analyzeProject } from "../src/analysis/index.js";
import type { BenchResult } from "./types.js";
import { median, spread } from "./stats.js";

const ROLES = 100;
const TASK_FILES_PER_ROLE = 4; // main.yml + 3 included files
const TASKS_PER_FILE = 26;
const PLAYBOOKS = 20;

// A mix of what real projects contain: builtin short names, routed short names, FQCNs, Jinja plugins.
const TASK_TEMPLATES = [
  (i: number) => `- name: package ${i}\n  ansible.builtin.package:\n    name: pkg${i}\n    state: present`,
  (i: number) => `- name: firewall ${i}\n  ufw:\n    rule: allow\n    port: "${1000 + i}"`,
  (i: number) => `- name: template ${i}\n  template:\n    src: t${i}.j2\n    dest: /etc/t${i}\n  notify: restart`,
  (i: number) => `- name: facts ${i}\n  set_fact:\n    v${i}: "{{ data | community.general.json_query('a[${i}]') | default([]) }}"`,
  (i: number) => `- name: sysctl ${i}\n  ansible.posix.sysctl:\n    name: net.x${i}\n    value: "1"\n  when: x is defined and y | bool`,
  (i: number) => `- name: db ${i}\n  community.postgresql.postgresql_db:\n    name: db${i}\n  become: true`,
  (i: number) => `- name: lookup ${i}\n  debug:\n    msg: "{{ lookup('ansible.builtin.env', 'HOME') }} ${i}"`,
  (i: number) => `- name: docker ${i}\n  docker_container:\n    name: c${i}\n    image: nginx`,
  (i: number) => `- block:\n    - name: inner ${i}\n      ansible.builtin.command: echo ${i}\n  rescue:\n    - name: rescue ${i}\n      debug: msg=failed`,
];
/** Tasks each template makes (the block holds two). */
const TASKS_IN_TEMPLATE = TASK_TEMPLATES.map((_, k) => (k === TASK_TEMPLATES.length - 1 ? 2 : 1));

function tasksFile(seed: number, count: number, includes: string[]): { text: string; tasks: number } {
  const out: string[] = ["---"];
  let tasks = includes.length;
  for (const inc of includes) out.push(`- name: include ${inc}\n  ansible.builtin.include_tasks: ${inc}`);
  for (let i = 0; i < count; i++) {
    const k = (seed + i) % TASK_TEMPLATES.length;
    out.push(TASK_TEMPLATES[k]!(seed * 100 + i));
    tasks += TASKS_IN_TEMPLATE[k]!;
  }
  return { text: `${out.join("\n")}\n`, tasks };
}

/** Writes the project; returns its YAML file and task counts. Roles include each other's files, playbooks share roles. */
export function generateProject(root: string): { files: number; tasks: number } {
  let files = 0;
  let tasks = 0;
  const write = (rel: string, text: string): void => {
    mkdirSync(join(root, rel, ".."), { recursive: true });
    writeFileSync(join(root, rel), text);
    if (rel.endsWith(".yml")) files++;
  };
  for (let r = 0; r < ROLES; r++) {
    const extra = Array.from({ length: TASK_FILES_PER_ROLE - 1 }, (_, k) => `part${k}.yml`);
    for (const [k, f] of ["main.yml", ...extra].entries()) {
      const file = tasksFile(r + k, TASKS_PER_FILE, k === 0 ? extra : []);
      write(`roles/role${r}/tasks/${f}`, file.text);
      tasks += file.tasks;
    }
    write(`roles/role${r}/handlers/main.yml`, "---\n- name: restart\n  ansible.builtin.service:\n    name: svc\n    state: restarted\n");
    write(`roles/role${r}/meta/main.yml`, `---\ndependencies: ${r % 10 === 0 ? "[]" : `[role${r - (r % 10)}]`}\n`);
    tasks += 1;
  }
  const perPlaybook = ROLES / PLAYBOOKS;
  for (let p = 0; p < PLAYBOOKS; p++) {
    const roles = Array.from({ length: perPlaybook }, (_, k) => `    - role${p * perPlaybook + k}`).join("\n");
    write(`playbooks/pb${p}.yml`, `---\n- hosts: all\n  gather_facts: false\n  roles:\n${roles}\n  tasks:\n    - ansible.builtin.ping:\n`);
    tasks++;
  }
  write("site.yml", `---\n${Array.from({ length: PLAYBOOKS }, (_, p) => `- import_playbook: playbooks/pb${p}.yml`).join("\n")}\n`);
  // ansible-playbook looks for roles next to the playbook, so point it at the project's roles/.
  write("ansible.cfg", "[defaults]\nroles_path = roles\n");
  write("requirements.yml", "---\ncollections:\n  - community.general\n  - ansible.posix\n  - community.postgresql\n  - community.docker\n");
  return { files, tasks };
}

/** One process from start to exit: wall time in ms, or null when the command could not start. */
function timeProcess(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): { ms: number; ok: boolean; stderr: string } | null {
  const started = process.hrtime.bigint();
  const r = spawnSync(command, args, { cwd, encoding: "utf8", timeout: 300_000, env, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) return null;
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, ok: r.status === 0, stderr: r.stderr.slice(-500) };
}


/** Alternating runs so both sides see the same machine load. */
const RUNS = 5;
const REPO = join(import.meta.dirname, "..");

export async function run(): Promise<BenchResult[]> {
  const root = mkdtempSync(join(tmpdir(), "dropship-bench-analysis-"));
  try {
    const { files, tasks } = generateProject(root);
    const rssBefore = resourceUsage().maxRSS;
    let started = process.hrtime.bigint();
    const first = analyzeProject(root);
    const coldInProcessMs = Number(process.hrtime.bigint() - started) / 1e6;
    const peakDeltaMb = (resourceUsage().maxRSS - rssBefore) / 1024;
    const warm: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      started = process.hrtime.bigint();
      analyzeProject(root);
      warm.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    // Cold against cold: each side is a fresh process from start to exit, alternating, same project.
    const ansibleEnv = { ...process.env, ANSIBLE_NOCOLOR: "1", ANSIBLE_LOCAL_TEMP: join(root, ".ansible-tmp"), ANSIBLE_HOME: join(root, ".ansible-home") };
    const ours: number[] = [];
    const plain: number[] = [];
    let plainProblem: string | null = null;
    for (let i = 0; i < RUNS; i++) {
      const o = timeProcess(process.execPath, ["--import", "tsx", join(REPO, "src/analysis/cli.ts"), root, "--json"], REPO, process.env);
      if (!o?.ok) throw new Error(`npm run analyze failed on the generated project: ${o?.stderr ?? "could not start"}`);
      ours.push(o.ms);
      const p = timeProcess("ansible-playbook", ["--syntax-check", "-i", "localhost,", "site.yml"], root, ansibleEnv);
      if (!p) break;
      if (!p.ok) plainProblem = p.stderr;
      plain.push(p.ms);
    }
    const warmMs = median(warm);
    const oursCold = spread(ours);
    const detail = { files, tasks, filesRead: first.stats.files, tasksSeen: first.stats.tasks, coldInProcessMs, warmInProcessMs: spread(warm) };
    const results: BenchResult[] = [
      { name: "analysis.project_time", value: warmMs, unit: "ms", lowerIsBetter: true, detail: { ...detail, note: `in-process median of ${RUNS}, index loaded` } },
      { name: "analysis.process_time_cold", value: oursCold.median, unit: "ms", lowerIsBetter: true, detail: { ...oursCold, command: "node --import tsx src/analysis/cli.ts <project> --json" } },
      { name: "analysis.files_per_s", value: (first.stats.files / warmMs) * 1000, unit: "files/s", lowerIsBetter: false },
      { name: "analysis.tasks_per_s", value: (first.stats.tasks / warmMs) * 1000, unit: "tasks/s", lowerIsBetter: false },
      { name: "analysis.peak_rss_delta", value: peakDeltaMb, unit: "MiB", lowerIsBetter: true },
    ];
    if (plain.length === RUNS) {
      const base = spread(plain);
      results.push(
        { name: "analysis.baseline_syntax_check", value: base.median, unit: "ms", lowerIsBetter: true, detail: { ...base, ok: plainProblem === null, stderrTail: plainProblem ?? "", command: "ansible-playbook --syntax-check -i localhost, site.yml" } },
        {
          name: "analysis.speedup_vs_syntax_check",
          value: base.median / oursCold.median,
          unit: "x",
          lowerIsBetter: false,
          detail: { note: `cold process vs cold process, ${RUNS} alternating runs each, medians`, perRun: plain.map((p, i) => p / ours[i]!) },
        },
      );
    }
    return results;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  for (const r of await run()) console.log(`${r.name}: ${r.value.toFixed(2)} ${r.unit}${r.detail ? ` ${JSON.stringify(r.detail)}` : ""}`);
}
