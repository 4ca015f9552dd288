// The torrent adapter's public surface: parsing what users send, launching and driving aria2, safe paths.
export { parseTorrentLinks, parseMagnet, type ParsedLinks, type ParseLinksOptions } from "./parse-magnet.js";
export { parseTorrentFile, TorrentFileError } from "./parse-torrent-file.js";
export type { TorrentRequest, ParsedMagnet, TorrentLinkError, TorrentFileEntry } from "./torrent-request.js";
export {
  buildAria2Command,
  aria2DaemonShellLine,
  redactAria2Command,
  type Aria2LaunchOptions,
} from "./aria2-command.js";
export { callAria2, streamAgent, Aria2RpcError, Aria2UnreachableError, type Aria2RpcOptions } from "./aria2-rpc.js";
export {
  Aria2Client,
  TorrentDownloadError,
  type Aria2ClientOptions,
  type Aria2Options,
  type WatchOptions,
} from "./aria2-client.js";
export {
  toTorrentProgress,
  describeAria2Error,
  isMetadataJob,
  type Aria2Status,
  type Aria2File,
  type TorrentProgress,
  type TorrentPhase,
  type TorrentFileProgress,
} from "./torrent-progress.js";
export { sanitizeTorrentPath, resolveInside } from "./sanitize-path.js";
