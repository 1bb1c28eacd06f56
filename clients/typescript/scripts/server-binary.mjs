// Where the built `todo-server` binary is: TODO_SERVER_BIN, else debug/todo-server in
// cargo's target directory (CARGO_TARGET_DIR, relative to the repository root when
// relative, else target/ in the repository).
import path from "node:path";
import { fileURLToPath } from "node:url";

export const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const repoRoot = path.resolve(packageDir, "../..");

export function serverBinary() {
  if (process.env.TODO_SERVER_BIN) return path.resolve(packageDir, process.env.TODO_SERVER_BIN);
  const targetDir = path.resolve(repoRoot, process.env.CARGO_TARGET_DIR ?? "target");
  return path.join(targetDir, "debug", "todo-server");
}
