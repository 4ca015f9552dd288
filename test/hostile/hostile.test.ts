// The hostile-input suite (issue 11): a table of inputs an attacker or a careless user would send — chat text,
// captions, documents, button data, commands with arguments, host names and addresses, download URLs, archives —
// run one by one against the real app wired as in production. Each must get its clear refusal and change nothing:
// no job, host, conversation or ledger row, no file under DATA_DIR, no call to DigitalOcean, no message to anyone
// else (a refused upload only records its failed job). Prints "hostile inputs: N tried, N refused correctly".
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prepareCases, runCase, type Area, type CaseResult, type Fixtures, type HostileCase } from "./hostile-runner.js";
import { makeFixtures } from "./hostile-fixtures.js";
import { startHostileWorld, type HostileWorld } from "./hostile-world.js";
import { chatCases } from "./cases-chat.js";
import { commandCases } from "./cases-commands.js";
import { buttonCases } from "./cases-buttons.js";
import { documentCases } from "./cases-documents.js";
import { archiveCases } from "./cases-archives.js";
import { linkCases, signed } from "./cases-links.js";

let world: HostileWorld;
let fixtures: Fixtures;
const results: CaseResult[] = [];

/** Owner-only cases spread among the others, so their chats are never written to twice in a second. */
function interleave(cases: HostileCase[]): HostileCase[] {
  const owner = cases.filter((c) => c.as === "owner");
  const rest = cases.filter((c) => c.as !== "owner");
  const every = Math.max(1, Math.floor(rest.length / Math.max(1, owner.length)));
  const out: HostileCase[] = [];
  rest.forEach((c, i) => {
    if (i % every === 0 && owner.length) out.push(owner.shift()!);
    out.push(c);
  });
  return [...out, ...owner];
}

const ALL: HostileCase[] = [...chatCases, ...commandCases, ...buttonCases, ...documentCases, ...archiveCases, ...linkCases];

beforeAll(async () => {
  [world] = await Promise.all([startHostileWorld(), prepareCases(ALL)]);
  fixtures = await makeFixtures(world);
  if (process.env.HOSTILE_VERBOSE) console.log("fixtures ready", fixtures);
  for (const c of interleave(ALL)) {
    const t0 = Date.now();
    const r = await runCase(world, fixtures, c);
    results.push(r);
    // HOSTILE_VERBOSE=1 shows each case as it runs, with its answer and time.
    if (process.env.HOSTILE_VERBOSE) console.log(`${Date.now() - t0}ms ${r.problems.length ? "FAIL" : "ok"} [${c.area}] ${c.name}: ${r.answer.slice(0, 200)} ${r.problems.join("; ")}`);
  }
}, 300_000);

afterAll(async () => {
  await world?.stop();
});

const AREAS: Area[] = ["stranger", "chat", "command", "host", "button", "document", "caption", "archive", "link"];

describe("hostile inputs", () => {
  for (const area of AREAS) {
    it(`${area}: every input is refused clearly and changes nothing`, () => {
      const mine = results.filter((r) => r.case.area === area);
      expect(mine.length).toBeGreaterThan(0);
      const failed = mine.filter((r) => r.problems.length > 0).map((r) => ({ case: r.case.name, answer: r.answer, problems: r.problems }));
      expect(failed).toEqual([]);
    });
  }

  it("tells success from refusal: a correctly signed link serves its file", async () => {
    const l = signed(fixtures, fixtures.links.jobA, "Movie/movie.mkv");
    const res = await fetch(`${world.baseUrl}${l.path}?e=${l.e}&s=${l.s}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("movie bytes");
  });

  it("prints the tally: at least 100 tried, every one refused correctly", () => {
    const refused = results.filter((r) => r.problems.length === 0).length;
    console.log(`hostile inputs: ${results.length} tried, ${refused} refused correctly`);
    expect(results.length).toBe(ALL.length);
    expect(results.length).toBeGreaterThanOrEqual(100);
    expect(refused).toBe(results.length);
  });
});
