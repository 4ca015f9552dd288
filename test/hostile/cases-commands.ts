// Hostile commands: wrong, extra, huge and overflowing arguments, other users' job ids, and host names and
// addresses built to reach a shell (-oProxyCommand=, ;rm, $(…)), odd IPv6 forms, ports out of range, names with
// spaces, markup and emoji. A host is removed only by its owner or the bot's.
import type { HostileCase } from "./hostile-runner.js";

const CANCEL_USAGE = /^Usage: \/cancel <id>, e\.g\. \/cancel 12\./;
const ADDHOST_USAGE = /Usage: \/addhost <name> <user>@<address>\[:port\]/;
const NOT_A_HOST = /is not a host name or IP address/;
const BAD_USER = /is not a valid user name/;
const BAD_NAME = /^⚠️ Not added: .* is not a usable host name/;
const OUT_OF_RANGE = /port \d+ is out of range \(1–65535\)/;
/** An address nothing listens on: refusals that get as far as connecting are refused there, quickly. */
const CLOSED = "127.0.0.1:1";

const addhost = (name: string, args: string, refusal: RegExp, literal?: string): HostileCase => ({
  area: "host",
  name,
  as: "owner",
  input: { text: `/addhost ${args}` },
  refusal,
  ...(literal ? { literal } : {}),
});

export const commandCases: HostileCase[] = [
  { area: "command", name: "/cancel of the owner's job by another user", input: { text: (f) => `/cancel ${f.ownerCard}` }, refusal: /^You have no job \d+\.$/ },
  { area: "command", name: "/cancel #id of the friend's job by another user", input: { text: (f) => `/cancel #${f.friendCard}` }, refusal: /^You have no job \d+\.$/ },
  { area: "command", name: "/cancel of a playbook job that is not yours", input: { text: (f) => `/cancel ${f.friendPlaybook}` }, refusal: /^You have no job \d+\.$/ },
  { area: "command", name: "/cancel with an id that overflows", input: { text: "/cancel 99999999999999999999999" }, refusal: CANCEL_USAGE },
  { area: "command", name: "/cancel with the largest id it takes, for no job", input: { text: "/cancel 999999999999" }, refusal: /^You have no job 999999999999\.$/ },
  { area: "command", name: "/cancel -1", input: { text: "/cancel -1" }, refusal: CANCEL_USAGE },
  { area: "command", name: "/cancel 1e3", input: { text: "/cancel 1e3" }, refusal: CANCEL_USAGE },
  { area: "command", name: "/cancel 0x1F", input: { text: "/cancel 0x1F" }, refusal: CANCEL_USAGE },
  { area: "command", name: "/cancel with two ids", input: { text: (f) => `/cancel ${f.ownerCard} ${f.friendCard}` }, refusal: CANCEL_USAGE },
  { area: "command", name: "/cancel with Arabic-Indic digits", input: { text: "/cancel ١٢" }, refusal: CANCEL_USAGE },
  { area: "command", name: "/cancel with markup", input: { text: "/cancel <b>1</b>" }, refusal: CANCEL_USAGE },
  { area: "command", name: "/cancel of one's own cancelled card", as: "friend", input: { text: (f) => `/cancel ${f.cancelledCard}` }, refusal: /has already finished \(cancelled\)/ },
  { area: "command", name: "/cancel of one's own failed upload", as: "friend", input: { text: (f) => `/cancel ${f.failedPlaybook}` }, refusal: /has already finished \(failed\)/ },
  { area: "command", name: "/files with a word it does not know", input: { text: "/files maybe" }, refusal: /^Usage: \/files on/ },
  { area: "command", name: "/files on; with a shell tail", input: { text: "/files on; rm -rf /" }, refusal: /^Usage: \/files on/ },
  { area: "command", name: "/venvs remove by a user who is not the owner", input: { text: "/venvs remove dropship-0123456789ab" }, refusal: /^Only the owner can remove virtualenvs\.$/ },
  { area: "command", name: "/venvs with an unknown verb", input: { text: "/venvs rm -rf ~" }, refusal: /^Usage: \/venvs/ },
  { area: "command", name: "/venvs remove with too many arguments", input: { text: "/venvs remove a b c" }, refusal: /^Usage: \/venvs/ },
  { area: "command", name: "/venvs remove of a path", as: "owner", input: { text: "/venvs remove ../../../etc" }, refusal: /^There is no virtualenv \.\.\/\.\.\/\.\.\/etc; / },
  { area: "command", name: "an unknown command with a shell tail", input: { text: "/rm -rf /" }, refusal: /^I don't know that command\./ },
  { area: "command", name: "a command addressed to another bot", input: { text: "/addhost@some_other_bot web root@127.0.0.1" }, refusal: /^I don't know that command\./ },
  { area: "command", name: "a 4000-character command", input: { text: `/${"x".repeat(4000)}` }, refusal: /^I don't know that command\./ },

  // Allowed users may add hosts they then own; one that cannot be reached is not added.
  { area: "host", name: "/addhost by an allowed user, of an address nothing answers on", input: { text: `/addhost web root@${CLOSED}` }, refusal: /^⚠️ Not added: cannot reach .*connection refused/ },
  // Someone else's host answers as a host that does not exist: nothing is said about other users' hosts.
  { area: "host", name: "/removehost of a host that is not the user's", input: { text: "/removehost web" }, refusal: /^There is no host called web; \/hosts lists yours\.$/ },
  addhost("/addhost with nothing", "", ADDHOST_USAGE),
  addhost("/addhost with a name only", "web1", ADDHOST_USAGE),
  addhost("/addhost with an extra argument", `web1 root@${CLOSED} -v`, ADDHOST_USAGE),
  addhost("/addhost with a name that has spaces", `"web 1" root@${CLOSED}`, ADDHOST_USAGE),
  addhost("an -oProxyCommand= name", `-oProxyCommand=id root@${CLOSED}`, BAD_NAME),
  addhost("an -oProxyCommand= user", "web1 -oProxyCommand=id@127.0.0.1", BAD_USER),
  addhost("an -oProxyCommand= address", "web1 root@-oProxyCommand=id", NOT_A_HOST),
  addhost("user@host;rm", "web1 root@host;rm", NOT_A_HOST),
  addhost("a user with ;rm", "web1 root;rm@127.0.0.1", BAD_USER),
  addhost("command substitution in the address", "web1 root@$(id)", NOT_A_HOST),
  addhost("backticks in the user", "web1 `id`@127.0.0.1", BAD_USER),
  addhost("a second @ in the address", "web1 root@evil@127.0.0.1", /expected user@address\[:port\]/),
  addhost("IPv6 without brackets", "web1 root@::1", /expected user@address\[:port\]/),
  addhost("IPv6 with an open bracket", "web1 root@[::1", /expected user@address\[:port\]/),
  addhost("IPv6 with letters that are not hex", "web1 root@[zz::1]", /expected user@address\[:port\]/),
  addhost("IPv6 of colons only", "web1 root@[:::::]", /is not an IPv6 address/),
  addhost("an IPv4 address in IPv6 brackets", "web1 root@[1.2.3.4]", /is not an IPv6 address/),
  addhost("IPv6 with port 0", "web1 root@[::1]:0", OUT_OF_RANGE),
  addhost("port 0", "web1 root@127.0.0.1:0", OUT_OF_RANGE),
  addhost("port 65536", "web1 root@127.0.0.1:65536", OUT_OF_RANGE),
  addhost("a six-digit port", "web1 root@127.0.0.1:123456", /expected user@address\[:port\]/),
  addhost("a negative port", "web1 root@127.0.0.1:-22", /expected user@address\[:port\]/),
  addhost("an IPv4 address out of range", "web1 root@256.256.256.256", /is not a host name or IP address/),
  addhost("a 300-character host name", `web1 root@${"a".repeat(300)}`, NOT_A_HOST),
  addhost("a name with markup", `<b>web</b> root@${CLOSED}`, BAD_NAME, "<b>web</b>"),
  addhost("an emoji name", `🚀 root@${CLOSED}`, BAD_NAME),
  addhost("a 33-character name", `${"w".repeat(33)} root@${CLOSED}`, BAD_NAME),
  addhost("a path as the name", `../../etc root@${CLOSED}`, BAD_NAME),
  addhost("an IPv6 loopback nobody answers at", "web1 root@[::1]:1", /^⚠️ Not added: /),
  { area: "host", name: "/removehost with two names", as: "owner", input: { text: "/removehost a b" }, refusal: /^Usage: \/removehost <name>/ },
  { area: "host", name: "/removehost of a name with markup", as: "owner", input: { text: "/removehost <b>x</b>" }, refusal: /^There is no host called <b>x<\/b>;/, literal: "<b>x</b>" },
  { area: "host", name: "/removehost of a path", as: "owner", input: { text: "/removehost ../../etc/passwd" }, refusal: /^There is no host called \.\.\/\.\.\/etc\/passwd;/ },
];
