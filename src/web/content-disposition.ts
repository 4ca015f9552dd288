// Builds a Content-Disposition: attachment header with an ASCII fallback and an RFC 5987 UTF-8 filename.

/** `attachment; filename="…"` plus `filename*=UTF-8''…` when the name is not plain printable ASCII (RFC 6266 §4.3). */
export function attachmentDisposition(fileName: string): string {
  const fallback = asciiFallback(fileName);
  const header = `attachment; filename="${fallback}"`;
  return fallback === fileName ? header : `${header}; filename*=UTF-8''${rfc5987Encode(fileName)}`;
}

function asciiFallback(name: string): string {
  // Quotes, backslashes and anything outside printable ASCII would break the quoted-string or be misread.
  // Accents are dropped first (é → e) so that the fallback stays readable for old clients.
  const ascii = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^\x20-\x7e]|["\\%]/g, "_");
  return ascii.trim() === "" ? "download" : ascii;
}

/** RFC 5987 attr-char allows ALPHA DIGIT !#$&+-.^_`|~; encodeURIComponent also leaves '()* unescaped. */
function rfc5987Encode(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
