// Benchmark: playbook analysis on a generated project (≥500 YAML files, ≥10,000 tasks) vs ansible-playbook --syntax-check.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { resourceUsage } from "node:process";
import { pathToFileURL } from "node:url";
import { analyzeProject } from "../src/analysis/index.js";
import { ANALYZE_BUNDLE, ensureBundle } from "../scripts/analyze.mjs";
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

/** Wall and CPU time of one process from start to exit (CPU: user + system, from this process's children totals). */
interface Timed {
  ms: number;
  cpuMs: number;
  ok: boolean;
  stdout: string;
  stderr: string;
}

function childCpuMs(): number {
  // /proc/self/stat after the command name: cutime and cstime (waited-for children) are fields 16 and 17, in ticks.
  const f = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  return ((Number(f[13]) + Number(f[14])) * 1000) / 100;
}

function timeProcess(argv: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Timed {
  const cpu0 = childCpuMs();
  const started = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd, encoding: "utf8", timeout: 300_000, env, maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.error) throw new Error(`${argv.join(" ")}: ${r.error.message}`);
  return { ms, cpuMs: childCpuMs() - cpu0, ok: r.status === 0, stdout: r.stdout, stderr: r.stderr.slice(-500) };
}

function mustSucceed(t: Timed, what: string): Timed {
  if (!t.ok) throw new Error(`${what} failed on the generated project: ${t.stderr}`);
  return t;
}

/** Alternating runs so all sides see the same machine load. */
const RUNS = 5;
const REPO = join(import.meta.dirname, "..");
const FIRST_UPLOAD = join(REPO, "test/analysis/fixtures/realistic");
const SYNTAX_CHECK = ["ansible-playbook", "--syntax-check", "-i", "localhost,", "site.yml"];

/** What `npm run analyze` runs (npm's own start-up left out, as ansible-playbook has none). */
function analyzeCommand(): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { scripts: Record<string, string> };
  const argv = pkg.scripts["analyze"]!.split(" ");
  if (argv[0] !== "node") throw new Error(`npm run analyze is "${argv.join(" ")}": the benchmark expects a node command`);
  return [process.execPath, ...argv.slice(1)];
}

/** The probe as a bundle too, so the phases of a bundled run can be told apart (built like the CLI's bundle). */
async function probeCommands(tmp: string): Promise<{ bundle: string[]; tsx: string[] }> {
  const probe = join(REPO, "bench/analysis-probe.ts");
  const { file } = await ensureBundle({ entry: probe, outDir: join(tmp, "probe-bundle"), assets: ANALYZE_BUNDLE.assets });
  return { bundle: [process.execPath, file], tsx: [process.execPath, "--import", "tsx", probe] };
}

const r1 = (n: number) => Math.round(n * 10) / 10;
const spreadMs = (xs: number[]) => {
  const s = spread(xs);
  return { min: r1(s.min), median: r1(s.median), max: r1(s.max), runs: s.runs };
};
const medianOf = (rows: Record<string, number>[]) => Object.fromEntries(Object.keys(rows[0]!).map((k) => [k, r1(median(rows.map((r) => r[k]!)))]));

interface Series {
  ours: Timed[];
  plain: Timed[];
  tsxCli: Timed[];
  inBot: number[];
  bundlePhases: Record<string, number>[];
  tsxPhases: Record<string, number>[];
  nodeStart: number[];
  /** 1-minute load average before and after the rounds (the machine is shared: timings depend on it). */
  load: { before: number; after: number };
}

/** Rounds of: our CLI, syntax-check, the bot's in-process analysis, the old tsx CLI, then the phase probes. */
async function coldSeries(root: string, tmp: string): Promise<Series> {
  const ansibleEnv = { ...process.env, ANSIBLE_NOCOLOR: "1", ANSIBLE_LOCAL_TEMP: join(tmp, ".ansible-tmp"), ANSIBLE_HOME: join(tmp, ".ansible-home") };
  const cli = [...analyzeCommand(), root, "--json"];
  const tsxCli = [process.execPath, "--import", "tsx", join(REPO, "src/analysis/cli.ts"), root, "--json"];
  const probe = await probeCommands(tmp);
  const botArgv = [...probe.tsx, "bot", root, FIRST_UPLOAD];
  // One untimed run of each: the CLI's bundle is built if a source changed, tsx's and Python's caches are filled.
  mustSucceed(timeProcess(cli, REPO), "npm run analyze");
  timeProcess(SYNTAX_CHECK, root, ansibleEnv);
  mustSucceed(timeProcess(tsxCli, REPO), "the tsx CLI");
  const s: Series = { ours: [], plain: [], tsxCli: [], inBot: [], bundlePhases: [], tsxPhases: [], nodeStart: [], load: { before: loadavg()[0]!, after: 0 } };
  for (let i = 0; i < RUNS; i++) {
    s.ours.push(mustSucceed(timeProcess(cli, REPO), "npm run analyze"));
    s.plain.push(timeProcess(SYNTAX_CHECK, root, ansibleEnv));
    s.inBot.push((JSON.parse(mustSucceed(timeProcess(botArgv, REPO), "the in-bot probe").stdout) as { analysisMs: number }).analysisMs);
    s.tsxCli.push(mustSucceed(timeProcess(tsxCli, REPO), "the tsx CLI"));
    s.bundlePhases.push(JSON.parse(mustSucceed(timeProcess([...probe.bundle, "phases", root], REPO), "the bundled probe").stdout) as Record<string, number>);
    s.tsxPhases.push(JSON.parse(mustSucceed(timeProcess([...probe.tsx, "phases", root], REPO), "the tsx probe").stdout) as Record<string, number>);
    s.nodeStart.push(timeProcess([process.execPath, "-e", ""], REPO).ms);
  }
  s.load.after = loadavg()[0]!;
  return s;
}

function coldResults(s: Series, command: string): BenchResult[] {
  const ours = s.ours.map((t) => t.ms);
  const plain = s.plain.map((t) => t.ms);
  const plainFailed = s.plain.find((t) => !t.ok);
  const base = spreadMs(plain);
  const cpu = { ours: spreadMs(s.ours.map((t) => t.cpuMs)), plain: spreadMs(s.plain.map((t) => t.cpuMs)) };
  const breakdown = {
    note: "median ms per phase in a fresh process (phases probe); startToMain = node start + loader (tsx) or bundle compile",
    nodeEmptyProcessMs: spreadMs(s.nodeStart),
    bundle: medianOf(s.bundlePhases),
    tsx: medianOf(s.tsxPhases),
  };
  return [
    {
      name: "analysis.process_time_cold",
      value: median(ours),
      unit: "ms",
      lowerIsBetter: true,
      detail: { ...spreadMs(ours), command, cpuMs: cpu.ours, tsxCliSameRounds: spreadMs(s.tsxCli.map((t) => t.ms)), breakdown },
    },
    {
      name: "analysis.baseline_syntax_check",
      value: base.median,
      unit: "ms",
      lowerIsBetter: true,
      detail: { ...base, cpuMs: cpu.plain, ok: !plainFailed, stderrTail: plainFailed?.stderr ?? "", command: SYNTAX_CHECK.join(" ") },
    },
    {
      name: "analysis.speedup_vs_syntax_check",
      value: median(plain) / median(ours),
      unit: "x",
      lowerIsBetter: false,
      detail: {
        note: `cold process vs cold process (${command} vs ${SYNTAX_CHECK.join(" ")}), ${RUNS} alternating rounds after one untimed run each, ratio of medians`,
        ours: spreadMs(ours),
        plain: base,
        perRun: plain.map((p, i) => p / ours[i]!),
        cpuRatio: cpu.plain.median / cpu.ours.median,
        loadAverage1m: s.load,
        tsxCliRatio: median(plain) / median(s.tsxCli.map((t) => t.ms)),
      },
    },
    {
      name: "analysis.in_running_bot_ms (never-seen project, index loaded)",
      value: median(s.inBot),
      unit: "ms",
      lowerIsBetter: true,
      detail: { ...spreadMs(s.inBot), how: `node --import tsx (as npm start); analyzeProject of ${FIRST_UPLOAD} first (the first upload), then the generated project, timed alone; a fresh process per round` },
    },
    {
      name: "analysis.in_running_bot ÷ syntax_check",
      value: median(s.inBot) / median(plain),
      unit: "x",
      lowerIsBetter: true,
      detail: { inBot: spreadMs(s.inBot), plain: base, speedup: median(plain) / median(s.inBot), perRun: s.inBot.map((b, i) => b / plain[i]!) },
    },
  ];
}

export async function run(): Promise<BenchResult[]> {
  const tmp = mkdtempSync(join(tmpdir(), "dropship-bench-analysis-"));
  const root = join(tmp, "project");
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
    const warmMs = median(warm);
    const detail = { files, tasks, filesRead: first.stats.files, tasksSeen: first.stats.tasks, coldInProcessMs, warmInProcessMs: spread(warm) };
    const series = await coldSeries(root, tmp);
    return [
      { name: "analysis.project_time", value: warmMs, unit: "ms", lowerIsBetter: true, detail: { ...detail, note: `in-process median of ${RUNS}, index loaded, same project again` } },
      { name: "analysis.files_per_s", value: (first.stats.files / warmMs) * 1000, unit: "files/s", lowerIsBetter: false },
      { name: "analysis.tasks_per_s", value: (first.stats.tasks / warmMs) * 1000, unit: "tasks/s", lowerIsBetter: false },
      { name: "analysis.peak_rss_delta", value: peakDeltaMb, unit: "MiB", lowerIsBetter: true },
      ...coldResults(series, `node ${analyzeCommand().slice(1).join(" ")} <project> --json`),
    ];
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  for (const r of await run()) console.log(`${r.name}: ${r.value.toFixed(2)} ${r.unit}${r.detail ? ` ${JSON.stringify(r.detail)}` : ""}`);
}
