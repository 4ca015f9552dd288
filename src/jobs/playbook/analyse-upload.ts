// An uploaded playbook or project archive in, its analysis and the virtualenv its dependency set maps to out.
// Unpacks into a temporary directory that is always removed, whatever happens.
import { analyzeProject, AnalysisInputError, type AnalysisResult } from "../../analysis/index.js";
import { analyseClosure, type RoleStager } from "../../venv/role-closure.js";
import { resolveForPython, venvName, venvSpecFromDependencySet } from "../../venv/venv-spec.js";
import { unpackProject, type ProjectUploadKind, type UnpackOptions } from "./unpack-project.js";

export interface UploadAnalysis {
  result: AnalysisResult;
  project: { kind: ProjectUploadKind; files: number; bytes: number };
  /** The venv this dependency set maps to on a controller with that Python; or why there is none. */
  venv: { name: string; pythonVersion: string } | { error: string };
}

export interface AnalyseUploadOptions extends UnpackOptions {
  /** The entry playbook, relative to the project root (ignored for a bare playbook, which is its own entry). */
  entry?: string;
  /**
   * The controller's Python version, or why it is unknown. A venv's name hashes the Python minor version with the
   * packages (a 3.11 venv is not a 3.12 one), so it cannot be named without it.
   */
  pythonVersion: string | { error: string };
  /** Fetches the roles the project installs so their content is analysed too; null leaves them unread. */
  roleStager: RoleStager | null;
  onProgress?(text: string): void;
  analyze?: typeof analyzeProject;
}

/** Names the venv for a dependency set, or says why it cannot be built (e.g. a requirement pip would not take). */
function venvFor(result: AnalysisResult, pythonVersion: string | { error: string }): UploadAnalysis["venv"] {
  if (typeof pythonVersion !== "string") return { error: pythonVersion.error };
  try {
    const resolved = resolveForPython(venvSpecFromDependencySet(result.dependencySet), pythonVersion);
    return { name: venvName(resolved), pythonVersion: resolved.pythonVersion };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

/**
 * Throws UnpackError for an unusable upload, AnalysisInputError for a bad project and RoleFetchError for a role
 * that cannot be fetched; their messages name files relative to the project (never the temporary directory).
 */
export async function analyseUpload(bytes: Buffer, fileName: string, opts: AnalyseUploadOptions): Promise<UploadAnalysis> {
  const project = await unpackProject(bytes, fileName, opts);
  try {
    const entry = project.playbook ?? entryInRoot(opts.entry, project.root, project.dir);
    let result: AnalysisResult;
    try {
      result = await analyseClosure(project.root, {
        ...(entry ? { entry } : {}),
        stager: opts.roleStager,
        ...(opts.tmpDir ? { tmpDir: opts.tmpDir } : {}),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        ...(opts.analyze ? { analyze: opts.analyze } : {}),
      });
    } catch (err) {
      if (!(err instanceof AnalysisInputError)) throw err;
      throw new AnalysisInputError(withoutTempPaths(err.message, project.root, project.dir, fileName), err.file, err.line, err.column);
    }
    return {
      result,
      project: { kind: project.kind, files: project.files, bytes: project.bytes },
      venv: venvFor(result, opts.pythonVersion),
    };
  } finally {
    project.remove();
  }
}

/** An entry written with the archive's top folder ("myproject/site.yml") still finds site.yml when that folder is the root. */
function entryInRoot(entry: string | undefined, root: string, dir: string): string | undefined {
  if (!entry || root === dir) return entry;
  const top = root.slice(dir.length + 1);
  return entry.startsWith(`${top}/`) ? entry.slice(top.length + 1) : entry;
}

function withoutTempPaths(message: string, root: string, dir: string, fileName: string): string {
  // The root first: it is the longer path when the archive's top folder is the root.
  const swap = (text: string, from: string, to: string) => text.split(from).join(to);
  return swap(swap(swap(swap(message, `${root}/`, ""), root, fileName), `${dir}/`, ""), dir, fileName);
}
