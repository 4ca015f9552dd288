// Type declarations for the two WebTorrent parsers we use; neither ships its own (only the fields we read).
declare module "magnet-uri" {
  export interface MagnetData {
    xt?: string | string[];
    dn?: string | string[];
    xl?: string | string[];
    tr?: string | string[];
    infoHash?: string;
    infoHashV2?: string;
    name?: string | string[];
    announce?: string[];
    [key: string]: unknown;
  }
  export function decode(uri: string): MagnetData;
  export function encode(data: MagnetData): string;
  export default decode;
}

declare module "parse-torrent" {
  export interface ParsedTorrentFile {
    infoHash: string;
    name: string;
    announce: string[];
    length: number;
    files: { path: string; name: string; length: number; offset: number }[];
    /** The raw (bencode-decoded) info dictionary: strings are Uint8Arrays. */
    info: Record<string, unknown>;
    /** The bencoded info dictionary (its SHA-1 is infoHash). */
    infoBuffer: Uint8Array;
    private?: boolean;
  }
  export default function parseTorrent(torrentId: Uint8Array | string): Promise<ParsedTorrentFile>;
}
