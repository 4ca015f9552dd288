import { defineConfig } from "vitest/config";
import HeavyFirstSequencer from "./test/heavy-first-sequencer.js";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    // Marks the run's processes and fails the run if one outlives the tests (see the file).
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests start real processes (sshd, aria2, ansible) and mostly wait on them: on two cores a quiet run used half
    // the CPU with three files at a time, so four; more would starve the heavy files that start together.
    maxWorkers: 4,
    fileParallelism: true,
    // The slowest files first, also on a clean clone with no cached durations (see the file).
    sequence: { sequencer: HeavyFirstSequencer },
  },
});
