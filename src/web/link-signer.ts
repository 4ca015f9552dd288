// Signs and verifies download links: HMAC-SHA256 over (job id, relative path, expiry), compared in constant time.
import { createHmac, timingSafeEqual } from "node:crypto";

/** Job ids become directory names and URL segments, so they are kept to a conservative alphabet. */
export const JOB_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const SIGNATURE_BYTES = 32;

export type LinkCheck = "ok" | "bad-signature" | "expired";

export interface LinkSigner {
  /** Base64url HMAC for (jobId, relPath, expiresAtSec); relPath "" is the job's index page. */
  sign(jobId: string, relPath: string, expiresAtSec: number): string;
  /** The signature is checked first, so only an authentic link is ever told it has expired. */
  check(jobId: string, relPath: string, expiresAtSec: number, signature: string, nowMs: number): LinkCheck;
}

export function createLinkSigner(signingKey: string): LinkSigner {
  if (signingKey.length < 32) throw new Error("the link signing key must be at least 32 characters (openssl rand -hex 32)");
  const mac = (jobId: string, relPath: string, expiresAtSec: number): Buffer =>
    // JSON keeps the three fields unambiguous whatever characters a file name holds.
    createHmac("sha256", signingKey).update(JSON.stringify(["dropship-link-v1", jobId, relPath, expiresAtSec])).digest();
  return {
    sign: (jobId, relPath, expiresAtSec) => mac(jobId, relPath, expiresAtSec).toString("base64url"),
    check(jobId, relPath, expiresAtSec, signature, nowMs) {
      if (!/^[A-Za-z0-9_-]{43}$/.test(signature) || !Number.isSafeInteger(expiresAtSec)) return "bad-signature";
      const given = Buffer.from(signature, "base64url");
      const expected = mac(jobId, relPath, expiresAtSec);
      if (given.length !== SIGNATURE_BYTES || !timingSafeEqual(given, expected)) return "bad-signature";
      return nowMs > expiresAtSec * 1000 ? "expired" : "ok";
    },
  };
}

/**
 * Splits a '/'-separated relative path into segments, or returns null when it could leave the job directory
 * or is not in canonical form (empty, '.', '..', absolute, NUL). Only canonical paths are ever signed.
 */
export function relPathSegments(relPath: string): string[] | null {
  if (relPath === "" || relPath.includes("\0")) return null;
  const segments = relPath.split("/");
  return segments.every(isSafeSegment) ? segments : null;
}

export function isSafeSegment(segment: string): boolean {
  return segment !== "" && segment !== "." && segment !== ".." && !segment.includes("/") && !segment.includes("\0");
}

/** The URL path of a job's file (or, for relPath "", of its index page), each segment percent-encoded. */
export function linkPath(jobId: string, relPath: string): string {
  const encoded = relPath === "" ? "" : relPath.split("/").map(encodeURIComponent).join("/");
  return `/d/${encodeURIComponent(jobId)}/${encoded}`;
}
