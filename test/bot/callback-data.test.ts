import { describe, expect, it } from "vitest";
import {
  CALLBACK_DATA_MAX_BYTES,
  cancelJobButton,
  createCallbackData,
  hostListButton,
  hostPanelButton,
  hostShareButton,
  runHostButton,
  torrentCardButton,
} from "../../src/bot/callback-data.js";

describe("callback data", () => {
  it("packs and unpacks each button's fields, keeping the wire format of cards already in chats", () => {
    expect(torrentCardButton.pack({ action: "start", jobId: 12 })).toBe("t:start:12");
    expect(torrentCardButton.unpack("t:cancel:7")).toEqual({ action: "cancel", jobId: "7" });
    expect(cancelJobButton.pack({ jobId: 5 })).toBe("cancel:5");
    expect(runHostButton.pack({ jobId: 3, index: 1 })).toBe("pr:host:3:1");
    expect(runHostButton.unpack("pr:host:3:1")).toEqual({ jobId: "3", index: "1" });
    expect(runHostButton.filter.test("pr:host:3:1")).toBe(true);
  });

  it("refuses another button's data, extra fields and values its patterns do not allow", () => {
    expect(torrentCardButton.unpack("t:delete:1")).toBeNull();
    expect(torrentCardButton.unpack("t:start:1:2")).toBeNull();
    expect(torrentCardButton.unpack("cancel:1")).toBeNull();
    expect(cancelJobButton.unpack("cancel:1x")).toBeNull();
    expect(cancelJobButton.unpack(undefined)).toBeNull();
    expect(() => torrentCardButton.pack({ action: "delete", jobId: 1 })).toThrow(/action "delete" does not match/);
    expect(() => cancelJobButton.pack({ jobId: "1:2" })).toThrow(/does not match/);
  });

  it("checks Telegram's 64-byte limit in one place", () => {
    const long = createCallbackData("x".repeat(40), { value: /[a-z]+/ });
    expect(long.pack({ value: "a".repeat(CALLBACK_DATA_MAX_BYTES - 41) })).toHaveLength(CALLBACK_DATA_MAX_BYTES);
    expect(() => long.pack({ value: "a".repeat(CALLBACK_DATA_MAX_BYTES - 40) })).toThrow(/over 64 bytes/);
    // The longest job id still fits every button.
    expect(Buffer.byteLength(runHostButton.pack({ jobId: "9".repeat(15), index: 999 }))).toBeLessThanOrEqual(CALLBACK_DATA_MAX_BYTES);
    // The longest host and user ids still fit the share buttons.
    expect(Buffer.byteLength(hostShareButton.pack({ action: "off", hostId: "9".repeat(15), userId: "9".repeat(16) }))).toBeLessThanOrEqual(CALLBACK_DATA_MAX_BYTES);
  });

  it("packs the host buttons with the action in the data, not a toggle", () => {
    expect(hostPanelButton.pack({ hostId: 4 })).toBe("h:panel:4");
    expect(hostShareButton.pack({ action: "on", hostId: 4, userId: 1002 })).toBe("h:share:on:4:1002");
    expect(hostShareButton.unpack("h:share:off:4:1002")).toEqual({ action: "off", hostId: "4", userId: "1002" });
    expect(hostShareButton.unpack("h:share:toggle:4:1002")).toBeNull();
    expect(hostListButton.pack({})).toBe("h:list");
    expect(hostListButton.unpack("h:list")).toEqual({});
  });
});
