// Arguments that would run commands, expand variables or read as options if they ever reached a shell or a CLI unquoted.
export const HOSTILE = [
  "it's $(touch /tmp/dropship-pwned) `id` \"q\" \\ !",
  "';touch /tmp/dropship-pwned;'",
  "a\nb\tc",
  "${HOME}",
  "--help",
  "-rf",
  "",
  "*",
  "日本 語",
  "x; rm -rf /",
  "|| true && false",
];
