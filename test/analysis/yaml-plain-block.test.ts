// The fast reader of plain block YAML (yaml-plain-block.ts) against js-yaml: for every input it either gives up
// (null) or gives exactly what js-yaml's path gives — values, null-prototype mappings, key order, and the line of
// every mapping and sequence. The constructs it must read itself are listed, so it cannot quietly give up on them.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readPlainBlockYaml } from "../../src/analysis/yaml-plain-block.js";
import { DEFAULT_YAML_LIMITS, parseYaml, parseYamlWithJsYaml } from "../../src/analysis/yaml-source.js";

const REPO = join(import.meta.dirname, "../..");

/** What differs between the two readings of `text` (null: nothing), or "gave up" when the fast reader did. */
function compare(text: string): string | null | "gave up" {
  let reference: ReturnType<typeof parseYamlWithJsYaml> | null = null;
  try {
    reference = parseYamlWithJsYaml(text, "t.yml");
  } catch {
    // invalid YAML: the fast reader must give up on it
  }
  const positions = new Map<object, number>();
  if (readPlainBlockYaml(text, positions, DEFAULT_YAML_LIMITS) === null) return "gave up";
  if (!reference) return "read YAML that js-yaml rejects";
  const fast = parseYaml(text, "t.yml");
  if (fast.docs.length !== reference.docs.length) return `${fast.docs.length} documents against ${reference.docs.length}`;
  for (let i = 0; i < fast.docs.length; i++) {
    const diff = difference(fast.docs[i], reference.docs[i], fast.lineOf, reference.lineOf, `doc ${i}`);
    if (diff) return diff;
  }
  return null;
}

function difference(a: unknown, b: unknown, lineA: (n: unknown) => number, lineB: (n: unknown) => number, path: string): string | null {
  if (a === null || typeof a !== "object" || b === null || typeof b !== "object") {
    return Object.is(a, b) ? null : `${path}: ${JSON.stringify(a)} against ${JSON.stringify(b)}`;
  }
  if (Array.isArray(a) !== Array.isArray(b) || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return `${path}: another kind of node`;
  if (lineA(a) !== lineB(b)) return `${path}: line ${lineA(a)} against ${lineB(b)}`;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.join("\n") !== keysB.join("\n")) return `${path}: keys ${JSON.stringify(keysA)} against ${JSON.stringify(keysB)}`;
  for (const k of keysA) {
    const d = difference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], lineA, lineB, `${path}/${k}`);
    if (d) return d;
  }
  return null;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(name) ? [p] : [];
  });
}

/** Read by the fast reader itself, each exactly as js-yaml reads it. */
const READ = {
  "a task list": "---\n- name: install\n  ansible.builtin.package:\n    name: nginx\n    state: present\n  become: true\n",
  "a comment before the document start": "# header\n---\n- hosts: all\n",
  "no document start, comments and blank lines": "# a\n\n- a: 1   # trailing\n\n  # indented comment\n  b: 2\n",
  "nested blocks and a sequence at its key's indentation": "- hosts: all\n  tasks:\n  - debug: msg=hi\n  - block:\n      - command: echo\n    rescue:\n      - debug: msg=failed\n",
  "compact nested sequences": "- - a\n  - b\n- - c\n",
  "empty values": "a:\nb: ~\nc: null\nlist:\n  -\n  - x\n  -\n",
  "YAML 1.1 scalars": "a: yes\nb: No\nc: on\nd: 012\ne: 1_000\nf: 1.5e3\ng: .5\nh: -3\ni: +7\nj: 0x1F\nk: 1.2.3\n",
  "keys that resolve": "1: one\n1.0: float\nyes: bool\n~: nothing\n__proto__: p\nconstructor: c\n",
  "quoted scalars and keys": "\"a b\": 'it''s'\nc: \"tab\\there \\\"q\\\" \\u00e9 \\x41 \\\\\"\n'd': ''\ne: \"\"\n",
  "plain scalars with indicators inside": "msg: a:b, [c] {d} - e ? f | g > h 'i' \"j\" # a comment\nx: -1\ny: a#b\nz: 'q' # c\nw: :x\n",
  "Jinja": "- set_fact:\n    v: \"{{ data | community.general.json_query('a[1]') | default([]) }}\"\n  when: x is defined and y | bool\n",
  "flow sequences and empty collections": "deps: [role0, 'b', \"c\", 1, yes]\nnone: []\nempty: { }\nmeta: {}\n",
  "literal blocks": "- shell: |\n    set -e\n\n    echo \"#not a comment\"\n  args:\n    chdir: /tmp\n- shell: |-\n    one\n    two\n\n\n- x: |  # comment\n    last\n",
  "a literal block at the end of the file": "- shell: |\n    echo end\n",
  "an explicitly empty document": "---\n",
  "an empty file": "",
  "only comments": "# nothing\n# here\n",
  "indented top level": "  - a\n  - b\n",
};

/** Left to js-yaml (still read correctly through parseYaml). */
const GIVES_UP = {
  anchors: "a: &x 1\nb: *x\n",
  tags: "pw: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n",
  "merge keys": "a: {x: 1}\nb:\n  <<: {y: 2}\n",
  "folded blocks": "msg: >\n  one\n  two\n",
  "multi-line plain scalars": "msg: one\n  two\n",
  "multi-line quoted scalars": "msg: \"one\n  two\"\n",
  "flow mappings": "a: {x: 1}\n",
  "nested flow": "a: [[1], 2]\n",
  "several documents": "a: 1\n---\nb: 2\n",
  "document end": "a: 1\n...\n",
  directives: "%YAML 1.2\n---\na: 1\n",
  "CRLF line ends": "a: 1\r\nb: 2\r\n",
  "tabs for indentation": "a:\n\tb: 1\n",
  "a byte order mark": "\ufeffa: 1\n",
  "keep chomping": "a: |+\n  x\n\nb: 1\n",
  "explicit keys": "? a\n: 1\n",
  "a top-level scalar": "just text\n",
  "invalid YAML": "- hosts: all\n  tasks:\n    - debug: msg=hi\n   bad: [1, 2\n",
  "a bad indentation": "a:\n    b: 1\n  c: 2\n",
  "non-printable characters": "a: \u0007\n",
};

describe("the fast reader of plain block YAML", () => {
  for (const [what, text] of Object.entries(READ)) {
    it(`reads ${what} as js-yaml does`, () => {
      expect(compare(text)).toBeNull();
    });
  }

  for (const [what, text] of Object.entries(GIVES_UP)) {
    it(`leaves ${what} to js-yaml`, () => {
      expect(compare(text)).toBe("gave up");
      let viaJsYaml: unknown = null;
      let viaParse: unknown = null;
      try {
        viaJsYaml = parseYamlWithJsYaml(text, "t.yml").docs;
      } catch (err) {
        viaJsYaml = (err as Error).message;
      }
      try {
        viaParse = parseYaml(text, "t.yml").docs;
      } catch (err) {
        viaParse = (err as Error).message;
      }
      expect(viaParse).toEqual(viaJsYaml);
    });
  }

  it("reads every YAML file of the repository's fixtures and playbooks as js-yaml does, most of them itself", () => {
    const files = [...yamlFiles(join(REPO, "test/analysis/fixtures")), ...yamlFiles(join(REPO, "playbooks"))];
    const results = files.map((f) => ({ f, r: compare(readFileSync(f, "utf8")) }));
    expect(results.filter((x) => x.r !== null && x.r !== "gave up")).toEqual([]);
    expect(results.filter((x) => x.r === null).length).toBeGreaterThan(files.length * 0.9);
  });

  it("never differs from js-yaml on damaged copies of those files", () => {
    const files = [...yamlFiles(join(REPO, "test/analysis/fixtures")), ...yamlFiles(join(REPO, "playbooks"))];
    const pieces = [" ", "  ", ":", ": ", "#", " #", "-", "- ", "'", '"', "\n", "\n  ", "\t", "|", "|-", ">", "[", "]", "{", "}", ",", "\\", "---\n", "&a ", "*a", "yes", "~", "\u00a0"];
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const differences: string[] = [];
    let readFast = 0;
    for (let round = 0; round < 12; round++) {
      for (const f of files) {
        let text = readFileSync(f, "utf8");
        for (let m = 0; m <= next(3); m++) {
          const at = next(text.length + 1);
          text = next(2) ? text.slice(0, at) + pieces[next(pieces.length)] + text.slice(at) : text.slice(0, at) + text.slice(at + 1 + next(3));
        }
        const r = compare(text);
        if (r === null) readFast++;
        else if (r !== "gave up") differences.push(`${f}: ${r}\n${text}`);
      }
    }
    expect(differences).toEqual([]);
    expect(readFast).toBeGreaterThan(files.length); // the damage does not simply make it give up every time
  });
});
