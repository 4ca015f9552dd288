// Finds plugin references inside Jinja: lookup()/query() names, `| filter` names and `is test` names.

export interface JinjaRef {
  kind: "lookup" | "filter" | "test";
  name: string;
}

const BLOCK = /\{\{([\s\S]*?)\}\}|\{%([\s\S]*?)%\}/g;
const LOOKUP = /\b(?:lookup|query|q)\s*\(\s*(['"])([A-Za-z_][\w.]*)\1/g;
const FILTER = /\|\s*([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)/g;
const TEST = /\bis\s+(?:not\s+)?([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)/g;
const STRING_LITERAL = /'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g;
// `x is not y` puts "not" where the regex may see a test name.
const NOT_TESTS = new Set(["not"]);

/** Whether a string holds Jinja at all (cheap pre-check before the regexes). */
function hasJinja(text: string): boolean {
  return text.includes("{{") || text.includes("{%");
}

/** References in a bare expression (a `when:`/`until:` value, or the inside of `{{ }}`). */
export function scanExpression(expr: string, out: JinjaRef[]): void {
  for (const m of expr.matchAll(LOOKUP)) out.push({ kind: "lookup", name: m[2] ?? "" });
  // Filters and tests are read with string literals blanked, so `'a|b'` is not a filter.
  const code = expr.replace(STRING_LITERAL, "''");
  for (const m of code.matchAll(FILTER)) out.push({ kind: "filter", name: m[1] ?? "" });
  for (const m of code.matchAll(TEST)) {
    const name = m[1] ?? "";
    if (!NOT_TESTS.has(name)) out.push({ kind: "test", name });
  }
}

/** References in a templated string ("text {{ expr }} text"). */
export function scanTemplate(text: string, out: JinjaRef[]): void {
  if (!hasJinja(text)) return;
  for (const m of text.matchAll(BLOCK)) scanExpression(m[1] ?? m[2] ?? "", out);
}
