// The aria2 adapter's public surface: launching aria2 on a droplet and driving it over JSON-RPC.
export {
  buildAria2Command,
  aria2DaemonShellLine,
  redactAria2Command,
  type Aria2LaunchOptions,
} from "./aria2-command.js";
export { callAria2, Aria2RpcError, Aria2UnreachableError, type Aria2RpcOptions } from "./aria2-rpc.js";
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
