// Builds a Content-Disposition: attachment header: the `content-disposition` package quotes and RFC 5987-encodes,
// Dropship supplies the ASCII fallback name.
import contentDisposition from "content-disposition";

/** `attachment; filename="…"` plus `filename*=UTF-8''…` when the name is not plain printable ASCII (RFC 6266 §4.3). */
export function attachmentDisposition(fileName: string): string {
  return contentDisposition(fileName, { fallback: asciiFallback(fileName) });
}

function asciiFallback(name: string): string {
  // The package's own fallback keeps Latin-1 bytes (ü), which clients decode differently; plain ASCII is read alike
  // everywhere. Accents are dropped first (é → e) so that the fallback stays readable for old clients; "%" could be
  // misread as a percent-escape.
  const ascii = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^\x20-\x7e]|["\\%]/g, "_");
  return ascii.trim() === "" ? "download" : ascii;
}
