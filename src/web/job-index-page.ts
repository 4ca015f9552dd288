// The small HTML page listing one job's files with sizes and signed links; every name is HTML-escaped.
import { escapeHtml, formatBytes } from "../shared/text-format.js";

export interface IndexEntry {
  relPath: string;
  size: number;
  url: string;
}


export function renderJobIndexPage(opts: { jobId: string; entries: IndexEntry[]; expiresAt: Date }): string {
  const total = opts.entries.reduce((sum, e) => sum + e.size, 0);
  const rows = opts.entries
    .map(
      (e) =>
        `<tr><td><a href="${escapeHtml(e.url)}" download>${escapeHtml(e.relPath)}</a></td>` +
        `<td class="size" title="${e.size} bytes">${formatBytes(e.size)}</td></tr>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>Dropship job ${escapeHtml(opts.jobId)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; }
table { border-collapse: collapse; width: 100%; }
td { padding: .3em .6em; border-bottom: 1px solid #ddd; word-break: break-all; }
td.size { text-align: right; white-space: nowrap; word-break: normal; }
</style>
</head>
<body>
<h1>Job ${escapeHtml(opts.jobId)}</h1>
<p>${opts.entries.length} file${opts.entries.length === 1 ? "" : "s"}, ${formatBytes(total)}. Links expire ${escapeHtml(opts.expiresAt.toISOString())}.</p>
<table>
${rows}
</table>
</body>
</html>
`;
}
