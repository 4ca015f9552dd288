// The money and droplet caps a torrent's Start must fit, checked and taken in one SQLite transaction, so presses that
// arrive together are counted against each other: a started job reserves its estimate until its real cost is booked.
import type { Db } from "../../storage/database.js";
import { FINAL_STATES, type JobStore } from "../job-store.js";

export interface BudgetSettings {
  perJobUsd: number;
  monthlyUsd: number;
  /** null: no cap per user, only the shared monthly one. */
  monthlyPerUserUsd: number | null;
  maxDroplets: number;
  maxDropletsPerUser: number;
}

/** What is committed this month for everyone (userId null) or one user. */
export interface Commitments {
  /** Booked real costs since the month began. */
  spentUsd: number;
  /** Estimates of started jobs whose real cost is not booked yet. */
  reservedUsd: number;
  /** Started jobs, each holding (or about to hold) a droplet. */
  runningJobs: number;
  /** Droplets whose job has ended but which still exist (a destroy the reaper is retrying). */
  leftoverDroplets: number;
}

export type Admission = { kind: "approved" } | { kind: "blocked"; reason: string } | { kind: "not-waiting" };

const ENDED = [...FINAL_STATES];
const LIVE_DROPLET = ["requested", "created", "active", "destroying"];

export class TorrentBudget {
  constructor(
    private readonly deps: { db: Db; jobs: JobStore; settings: BudgetSettings; now?: () => number },
  ) {}

  /**
   * Start pressed: if job `jobId` (owned by `userId`, estimated at `estimateUsd`) fits every cap, it moves from
   * "estimated" to "approved" in the same transaction as the check, which is what makes its estimate reserved.
   */
  admit(jobId: number, userId: number, estimateUsd: number | null): Admission {
    return this.deps.db.transaction((): Admission => {
      const reason = this.blocker(userId, estimateUsd);
      if (reason) return { kind: "blocked", reason };
      return this.deps.jobs.transitionIf(jobId, "estimated", "approved") ? { kind: "approved" } : { kind: "not-waiting" };
    })();
  }

  /** Why a job of `estimateUsd` by `userId` cannot start now (with the numbers), or null. */
  blocker(userId: number, estimateUsd: number | null): string | null {
    const s = this.deps.settings;
    if (estimateUsd !== null && estimateUsd > s.perJobUsd) {
      return `the estimate ${usd(estimateUsd)} is over the per-job budget of ${usd(s.perJobUsd)} (BUDGET_PER_JOB_USD)`;
    }
    const all = this.commitments(null);
    const droplets = all.runningJobs + all.leftoverDroplets;
    if (droplets >= s.maxDroplets) {
      return `${droplets} droplet${droplets === 1 ? " is" : "s are"} running, the most at once is ${s.maxDroplets} (MAX_DROPLETS); press Start again when one has finished`;
    }
    const mine = this.commitments(userId);
    const myDroplets = mine.runningJobs + mine.leftoverDroplets;
    if (myDroplets >= s.maxDropletsPerUser) {
      return `you have ${myDroplets} droplet${myDroplets === 1 ? "" : "s"} running, the most per user is ${s.maxDropletsPerUser} (MAX_DROPLETS_PER_USER); press Start again when one has finished`;
    }
    const thisJob = this.reservationFor(estimateUsd);
    const overMonthly = overCap("this month", all, thisJob, s.monthlyUsd, "BUDGET_MONTHLY_USD");
    if (overMonthly) return overMonthly;
    if (s.monthlyPerUserUsd !== null) return overCap("your spending this month", mine, thisJob, s.monthlyPerUserUsd, "BUDGET_MONTHLY_PER_USER_USD");
    return null;
  }

  /**
   * A started job's real size is known (a magnet's metadata): its reservation becomes `estimateUsd`, and the answer is
   * why that breaks a money cap (with the numbers), or null. Droplet counts are not re-checked: the job already holds one.
   */
  resize(jobId: number, userId: number, estimateUsd: number | null): string | null {
    return this.deps.db.transaction((): string | null => {
      const s = this.deps.settings;
      this.deps.jobs.patchData(jobId, { estimateUsd });
      if (estimateUsd !== null && estimateUsd > s.perJobUsd) {
        return `the new estimate ${usd(estimateUsd)} is over the per-job budget of ${usd(s.perJobUsd)} (BUDGET_PER_JOB_USD)`;
      }
      const thisJob = this.reservationFor(estimateUsd);
      // The job's reservation (already its new value) is part of the commitments: count it once, as "this job".
      const others = (c: Commitments): Commitments => ({ ...c, reservedUsd: c.reservedUsd - thisJob, runningJobs: c.runningJobs - 1 });
      const overMonthly = overCap("this month", others(this.commitments(null)), thisJob, s.monthlyUsd, "BUDGET_MONTHLY_USD");
      if (overMonthly || s.monthlyPerUserUsd === null) return overMonthly ?? null;
      return overCap("your spending this month", others(this.commitments(userId)), thisJob, s.monthlyPerUserUsd, "BUDGET_MONTHLY_PER_USER_USD");
    })();
  }

  /** A torrent of unknown size reserves the most it may cost: the per-job budget stops it there. */
  reservationFor(estimateUsd: number | null): number {
    return estimateUsd ?? this.deps.settings.perJobUsd;
  }

  commitments(userId: number | null): Commitments {
    const { db, jobs } = this.deps;
    const now = new Date((this.deps.now ?? Date.now)());
    const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
    const running = db
      .prepare<unknown[], { n: number; reserved: number | null }>(
        // Seeding adds its cost (seedingUsd: a time policy's minutes at the droplet's price); a ratio policy's is not
        // known (seedingUsd null), so such a job reserves the per-job budget, which stops it (seeding-policy.ts).
        `SELECT COUNT(*) AS n, SUM(CASE WHEN json_type(data, '$.seedingUsd') = 'null' THEN ?
           ELSE COALESCE(json_extract(data, '$.estimateUsd'), ?) + COALESCE(json_extract(data, '$.seedingUsd'), 0) END) AS reserved FROM jobs
         WHERE kind = 'torrent' AND state NOT IN ('estimated', ${marks(ENDED)}) AND (? IS NULL OR owner_id = ?)`,
      )
      .get(this.deps.settings.perJobUsd, this.deps.settings.perJobUsd, ...ENDED, userId, userId)!;
    const leftovers = db
      .prepare<unknown[], { n: number }>(
        `SELECT COUNT(*) AS n FROM droplets d JOIN jobs j ON j.id = d.job_id
         WHERE d.state IN (${marks(LIVE_DROPLET)}) AND j.state IN (${marks(ENDED)}) AND (? IS NULL OR j.owner_id = ?)`,
      )
      .get(...LIVE_DROPLET, ...ENDED, userId, userId)!;
    return {
      spentUsd: jobs.actualSpendSince(monthStart, userId ?? undefined),
      reservedUsd: running.reserved ?? 0,
      runningJobs: running.n,
      leftoverDroplets: leftovers.n,
    };
  }
}

function overCap(what: string, c: Commitments, thisJobUsd: number, capUsd: number, variable: string): string | null {
  const total = c.spentUsd + c.reservedUsd + thisJobUsd;
  // A millionth of slack: estimates are rounded to it, and three $0.01 jobs must fit a $0.03 cap.
  if (total <= capUsd + 1e-6) return null;
  const reserved = c.runningJobs > 0 ? ` + ${usd(c.reservedUsd)} reserved by ${c.runningJobs} running job${c.runningJobs === 1 ? "" : "s"}` : "";
  return `${what}: ${usd(c.spentUsd)} spent${reserved} + ${usd(thisJobUsd)} for this job = ${usd(total)}, over the monthly budget of ${usd(capUsd)} (${variable})`;
}

const marks = (xs: readonly unknown[]) => xs.map(() => "?").join(", ");
const usd = (v: number) => `$${v.toFixed(v !== 0 && v < 0.1 ? 4 : 2)}`;
