// Public API of the playbook analysis (pure: files in, DependencySet and findings out; no network, no Telegram).
export { analyzeProject, projectSearchPaths, type AnalyzeDeps } from "./analyze.js";
export { renderReport, toAnalysisJson } from "./report.js";
export { loadAnsibleIndex, AnsibleIndex } from "./ansible-index.js";
export { YamlCache } from "./yaml-source.js";
export {
  AnalysisInputError,
  type AnalysisJson,
  type AnalysisResult,
  type AnalyzeOptions,
  type CollectionFinding,
  type CollectionReason,
  type DependencySet,
  type RoleFinding,
  type RoleInstallType,
  type UnresolvedName,
  type VarsPrompt,
  type VersionConflict,
} from "./types.js";
