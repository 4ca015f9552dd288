// A lenient multipart/form-data reader for the fake Telegram: grammY writes `filename=` unquoted (spaces,
// quotes and UTF-8 included), which the real Bot API accepts and WHATWG's FormData parser rejects.

export interface MultipartPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

export function boundaryOf(contentType: string): string | null {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2] ?? null) : null;
}

/** Splits a multipart body into parts; throws with a plain message on a malformed body. */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new Error("multipart body has no boundary");
  while (true) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === "--") break; // closing delimiter
    if (body.subarray(pos, pos + 2).toString() === "\r\n") pos += 2;
    const headerEnd = body.indexOf("\r\n\r\n", pos);
    if (headerEnd < 0) throw new Error("multipart part has no header end");
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), headerEnd + 4);
    if (next < 0) throw new Error("multipart body is not terminated");
    parts.push(readPart(body.subarray(pos, headerEnd).toString("utf8"), body.subarray(headerEnd + 4, next)));
    pos = next + 2;
  }
  return parts;
}

function readPart(headerText: string, data: Buffer): MultipartPart {
  let disposition = "";
  let contentType: string | undefined;
  for (const line of headerText.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === "content-disposition") disposition = value;
    if (key === "content-type") contentType = value;
  }
  const name = param(disposition, "name");
  if (name === undefined) throw new Error("multipart part without a name");
  return { name, filename: param(disposition, "filename"), contentType, data: Buffer.from(data) };
}

/** A disposition parameter, quoted or not; an unquoted value runs to the next ';' or the end. */
function param(disposition: string, key: string): string | undefined {
  const re = new RegExp(`(?:^|;)\\s*${key}=("((?:[^"\\\\]|\\\\.)*)"|[^;]*)`, "i");
  const m = re.exec(disposition);
  if (!m) return undefined;
  return m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[1]!.trim();
}
