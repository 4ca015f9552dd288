// tellStatus strings → TorrentProgress numbers and phases; aria2 error codes → sentences.
import { describe, expect, it } from "vitest";
import { describeAria2Error, toTorrentProgress, type Aria2Status } from "../../src/aria2/index.js";

const real: Aria2Status = {
  gid: "e276c18f19575f18",
  status: "active",
  totalLength: "20971520",
  completedLength: "5242880",
  downloadSpeed: "1048576",
  uploadSpeed: "1024",
  uploadLength: "3145728",
  numSeeders: "3",
  connections: "7",
  infoHash: "304dca78a348041e958d137c324284d4e6b81550",
  dir: "/root/dl",
  following: "b8f12347b8fdf0ec",
  bittorrent: { info: { name: "probe" }, mode: "multi" },
  files: [
    { index: "1", path: "/root/dl/probe/a b.bin", length: "20971519", completedLength: "5242880", selected: "true" },
    { index: "2", path: "/root/dl/probe/ctl%01.txt", length: "1", completedLength: "0", selected: "false" },
  ],
};

const metadata: Aria2Status = {
  gid: "b8f12347b8fdf0ec",
  status: "active",
  totalLength: "0",
  completedLength: "0",
  downloadSpeed: "0",
  uploadSpeed: "0",
  connections: "1",
  bittorrent: { announceList: [["http://127.0.0.1:1/announce"]] },
  files: [{ index: "1", path: "[METADATA]probe", length: "0", completedLength: "0", selected: "true" }],
};

describe("toTorrentProgress", () => {
  it("turns a downloading torrent's strings into numbers, with ETA and relative file paths", () => {
    expect(toTorrentProgress(real)).toEqual({
      gid: "e276c18f19575f18",
      phase: "downloading",
      name: "probe",
      infoHash: real.infoHash,
      totalBytes: 20971520,
      completedBytes: 5242880,
      downloadSpeed: 1048576,
      uploadSpeed: 1024,
      uploadedBytes: 3145728,
      seeders: 3,
      connections: 7,
      etaSeconds: 15,
      errorCode: null,
      errorMessage: null,
      files: [
        { index: 1, path: "probe/a b.bin", sizeBytes: 20971519, completedBytes: 5242880, selected: true },
        { index: 2, path: "probe/ctl%01.txt", sizeBytes: 1, completedBytes: 0, selected: false },
      ],
    });
  });

  it("recognises a magnet's metadata job and takes the name from its [METADATA] entry", () => {
    expect(toTorrentProgress(metadata)).toMatchObject({ phase: "metadata", name: "probe", totalBytes: 0, files: [], etaSeconds: null });
  });

  it("has no ETA while nothing flows, and reports complete only for the real download", () => {
    expect(toTorrentProgress({ ...real, downloadSpeed: "0" }).etaSeconds).toBeNull();
    expect(toTorrentProgress({ ...real, status: "complete" }).phase).toBe("complete");
    expect(toTorrentProgress({ ...metadata, status: "complete" }).phase).toBe("error");
    expect(toTorrentProgress({ ...real, status: "removed" })).toMatchObject({ phase: "error", errorMessage: /removed/ });
  });

  it("words error 7 after the stall timeout as a dead torrent, in either phase", () => {
    const stalled = toTorrentProgress({ ...real, status: "error", errorCode: "7", errorMessage: "" }, { stallTimeoutSeconds: 300 });
    expect(stalled).toMatchObject({ phase: "error", errorCode: 7, errorMessage: "no peers sent data for 300 s: the torrent looks dead" });
    const noMeta = toTorrentProgress({ ...metadata, status: "error", errorCode: "7", errorMessage: "" }, { stallTimeoutSeconds: 60 });
    expect(noMeta.errorMessage).toBe("no peer sent the torrent's metadata for 60 s: the torrent looks dead (no reachable seeders)");
  });
});

describe("describeAria2Error", () => {
  it("maps known codes and keeps aria2's own words as detail", () => {
    expect(describeAria2Error(9, "")).toBe("the droplet's disk is full: choose a droplet size with more disk");
    expect(describeAria2Error(9, "No space left on device")).toBe(
      "the droplet's disk is full: choose a droplet size with more disk (aria2: No space left on device)",
    );
    expect(describeAria2Error(7, "")).toBe("no peers sent data for too long: the torrent looks dead");
    expect(describeAria2Error(99, "strange")).toBe("aria2 stopped with error code 99 (aria2: strange)");
  });
});
