// The download server's public surface: signed links, the HTTP server and download retention.
export { createDownloadServer, type DownloadServer, type DownloadServerOptions, type JobLinks } from "./download-server.js";
export { createRetentionSweeper, markDelivered, type RetentionSweeper, type RetentionSweeperOptions, type SweepResult } from "./retention-sweeper.js";
export { DELIVERED_MARKER } from "./job-files.js";
export { JOB_ID_PATTERN } from "./link-signer.js";
