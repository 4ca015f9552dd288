// Finds plugin references inside Jinja: lookup()/query() names, `| filter` names and `is test` names.

export interface JinjaRef {
  kind: "lookup" | "filter" | "test";
  name: string;
}

// Global regexes run with exec until it returns null (which resets lastIndex): no copy per call, as matchAll makes.
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
  // Cheap checks first: most expressions have no call, no string, no filter or no test.
  if (expr.includes("(")) for (let m = LOOKUP.exec(expr); m; m = LOOKUP.exec(expr)) out.push({ kind: "lookup", name: m[2] ?? "" });
  // Filters and tests are read with string literals blanked, so `'a|b'` is not a filter.
  const code = expr.includes("'") || expr.includes('"') ? expr.replace(STRING_LITERAL, "''") : expr;
  if (code.includes("|")) for (let m = FILTER.exec(code); m; m = FILTER.exec(code)) out.push({ kind: "filter", name: m[1] ?? "" });
  if (code.includes("is")) {
    for (let m = TEST.exec(code); m; m = TEST.exec(code)) {
      const name = m[1] ?? "";
      if (!NOT_TESTS.has(name)) out.push({ kind: "test", name });
    }
  }
}

/** References in a templated string ("text {{ expr }} text"). */
export function scanTemplate(text: string, out: JinjaRef[]): void {
  if (!hasJinja(text)) return;
  for (let m = BLOCK.exec(text); m; m = BLOCK.exec(text)) scanExpression(m[1] ?? m[2] ?? "", out);
}
