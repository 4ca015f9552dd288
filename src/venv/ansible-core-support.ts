// Which ansible-core series run on which controller Python, and the pip requirement that fits a host.
// Sources: ansible-core support matrix (docs.ansible.com "ansible-core support matrix"); see FACTS.md "Ansible".
import { satisfies } from "@renovatebot/pep440";

/** Controller Python range per ansible-core minor series (inclusive). */
const CONTROLLER_PYTHON: Record<string, [string, string]> = {
  "2.12": ["3.8", "3.10"],
  "2.13": ["3.8", "3.10"],
  "2.14": ["3.9", "3.11"],
  "2.15": ["3.9", "3.11"],
  "2.16": ["3.10", "3.12"],
  "2.17": ["3.10", "3.12"],
  "2.18": ["3.11", "3.13"],
  "2.19": ["3.11", "3.13"],
  "2.20": ["3.12", "3.14"],
  "2.21": ["3.12", "3.14"],
};

function minorNumber(v: string): number {
  const [a, b] = v.split(".").map(Number);
  return a! * 1000 + b!;
}

/** The series that run on this Python and admit at least one release in `range`. */
export function feasibleSeries(range: string | null, pythonVersion: string): string[] {
  const py = minorNumber(pythonVersion);
  return Object.entries(CONTROLLER_PYTHON)
    .filter(([, [lo, hi]]) => minorNumber(lo) <= py && py <= minorNumber(hi))
    .map(([series]) => series)
    .filter((series) => range === null || Array.from({ length: 60 }, (_, p) => `${series}.${p}`).some((v) => satisfies(v, range)));
}

/** "ansible-core>=2.14,<2.20" (plus the spec's own range), or an error a person can act on. */
export function ansibleCoreRequirement(range: string | null, pythonVersion: string, hostLabel: string): string {
  const series = feasibleSeries(range, pythonVersion);
  if (series.length === 0) {
    const wanted = range ? `ansible-core ${range}` : "any ansible-core release Dropship knows";
    const supported = Object.entries(CONTROLLER_PYTHON)
      .filter(([s]) => range === null || Array.from({ length: 60 }, (_, p) => `${s}.${p}`).some((v) => satisfies(v, range)))
      .map(([s, [lo, hi]]) => `${s} needs Python ${lo}–${hi}`);
    throw new Error(
      `${wanted} cannot run on ${hostLabel}'s Python ${pythonVersion}` +
        (supported.length ? ` (${supported.join("; ")}): use a host with a suitable python3 or change the playbook's ansible-core requirement` : ""),
    );
  }
  const [lo, hi] = [series[0]!, series[series.length - 1]!];
  const [hiMajor, hiMinor] = hi.split(".").map(Number);
  const bounds = `>=${lo},<${hiMajor}.${hiMinor! + 1}`;
  return `ansible-core${bounds}${range ? `,${range}` : ""}`;
}
