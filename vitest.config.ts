import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "src/**/*.test.ts"],
    // Marks the run's processes and fails the run if one outlives the tests (see the file).
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests start real processes (sshd, aria2, ansible); two cores here, so keep parallelism modest.
    maxWorkers: 3,
    fileParallelism: true,
  },
});
