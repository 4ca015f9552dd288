// Every inline button's callback data, built and checked in one place: "<prefix>:<field>:<field>…", each field
// matching its pattern, the whole at most 64 bytes (Telegram's limit). A feature never writes such a string itself.
import { PICK_CODE } from "../jobs/torrent/file-picker.js";
import { SEED_CODE } from "../jobs/torrent/seeding-policy.js";

/** Telegram refuses callback_data longer than this (in bytes). */
export const CALLBACK_DATA_MAX_BYTES = 64;

const JOB_ID = /\d{1,15}/;

export interface CallbackData<F extends string> {
  readonly prefix: string;
  /** Matches exactly this button's data; for `composer.callbackQuery(...)`. */
  readonly filter: RegExp;
  /** The data for these field values; throws on a value its pattern refuses or data over 64 bytes. */
  pack(values: Record<F, string | number>): string;
  /** The field values, or null when `data` is not this button's. */
  unpack(data: string | undefined): Record<F, string> | null;
}

export function createCallbackData<F extends string>(prefix: string, fields: Record<F, RegExp>): CallbackData<F> {
  const names = Object.keys(fields) as F[];
  const whole = (re: RegExp) => new RegExp(`^(?:${re.source})$`);
  const checks = names.map((n) => [n, whole(fields[n])] as const);
  const filter = new RegExp(`^${escapeRegExp(prefix)}${names.map((n) => `:(${fields[n].source})`).join("")}$`);
  return {
    prefix,
    filter,
    pack(values) {
      const parts = checks.map(([name, re]) => {
        const v = String(values[name]);
        if (!re.test(v)) throw new Error(`callback data ${prefix}: ${name} ${JSON.stringify(v)} does not match ${fields[name]}`);
        return v;
      });
      const data = [prefix, ...parts].join(":");
      if (Buffer.byteLength(data) > CALLBACK_DATA_MAX_BYTES) throw new Error(`callback data ${prefix} is over ${CALLBACK_DATA_MAX_BYTES} bytes: ${data}`);
      return data;
    },
    unpack(data) {
      const m = data === undefined ? null : filter.exec(data);
      if (!m) return null;
      return Object.fromEntries(names.map((n, i) => [n, m[i + 1]!])) as Record<F, string>;
    },
  };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The torrent card's Start / Cancel: "t:start:<job>", "t:cancel:<job>". */
export const torrentCardButton = createCallbackData("t", { action: /start|cancel|go/, jobId: JOB_ID });
/** Cancel under any job's progress message and in /cancel's list: "cancel:<job>". */
export const cancelJobButton = createCallbackData("cancel", { jobId: JOB_ID });
/** "▶️ Run…" under a playbook analysis. */
export const runPlaybookButton = createCallbackData("pr:run", { jobId: JOB_ID });
/** The run dialogue's host choice: the host's index in the list the dialogue showed. */
export const runHostButton = createCallbackData("pr:host", { jobId: JOB_ID, index: /\d{1,3}/ });
/** "Use the default" for a vars_prompt question. */
export const runDefaultButton = createCallbackData("pr:def", { jobId: JOB_ID });
/** Start on the run's approval card. */
export const runStartButton = createCallbackData("pr:start", { jobId: JOB_ID });
/** Cancel anywhere in the run dialogue. */
export const runAbortButton = createCallbackData("pr:abort", { jobId: JOB_ID });

const HOST_ID = /\d{1,15}/;
const USER_ID = /\d{1,16}/;
/** "👥 <host>" under /hosts: opens that host's share panel. By id, so a host added again under its name is another. */
export const hostPanelButton = createCallbackData("h:panel", { hostId: HOST_ID });
/** A person's button on a share panel: let them run playbooks on the host (on) or no longer (off). Not a toggle, so
 * a stale or double press does what its label said. */
export const hostShareButton = createCallbackData("h:share", { action: /on|off/, hostId: HOST_ID, userId: USER_ID });
/** "« Hosts" on a share panel: back to the list. */
export const hostListButton = createCallbackData("h:list", {});

/** A press on a file picker (a .torrent's card, or a running job's after the metadata): "fp:<job>:<code>". */
export const filePickerButton = createCallbackData("fp", { jobId: JOB_ID, code: PICK_CODE });
/** A choice on /settings: "set:<setting>:<value>", each button setting a value (not a toggle). */
export const settingButton = createCallbackData("set", { setting: /meta|timeout/, value: /ask|all|cancel/ });
/** "Seed after download" on a torrent's card, each button naming a policy (not a toggle): "sd:<job>:<code>". */
export const seedButton = createCallbackData("sd", { jobId: JOB_ID, code: SEED_CODE });
/** "Stop seeding" once a job's files are home and its droplet seeds: "sd:stop:<job>". */
export const stopSeedingButton = createCallbackData("sd:stop", { jobId: JOB_ID });
/** The default seeding policy on /settings: "set:seed:<code>". */
export const seedSettingButton = createCallbackData("set:seed", { code: SEED_CODE });
