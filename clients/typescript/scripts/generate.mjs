// Writes the OpenAPI document with the built server (`todo-server openapi --pretty`) and
// the types generated from it with openapi-typescript.
//
//   node scripts/generate.mjs          rewrite openapi.json and src/schema.ts in place
//   node scripts/generate.mjs --check  regenerate both into a temporary directory and fail
//                                      when the committed copies differ (make test runs it)
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { packageDir, serverBinary } from "./server-binary.mjs";

const run = promisify(execFile);
const check = process.argv.includes("--check");
const FILES = [
  { committed: "openapi.json", source: "the server's OpenAPI document" },
  { committed: "src/schema.ts", source: "the types generated from it" },
];

async function generate(outDir) {
  const bin = serverBinary();
  if (!existsSync(bin)) {
    throw new Error(`${bin} does not exist: run \`cargo build -p todo-server\` first`);
  }
  const doc = path.join(outDir, "openapi.json");
  const types = path.join(outDir, "src", "schema.ts");
  await run(bin, ["openapi", "--pretty", "--out", doc], { env: { PATH: process.env.PATH } });
  const cli = path.join(packageDir, "node_modules", "openapi-typescript", "bin", "cli.js");
  await run(process.execPath, [cli, doc, "--output", types], { cwd: packageDir });
  // Its output names no input path, so a temporary directory gives the same bytes.
  return { "openapi.json": doc, "src/schema.ts": types };
}

async function main() {
  if (!check) {
    await generate(packageDir);
    console.log("wrote openapi.json and src/schema.ts");
    return;
  }
  const tmp = await mkdtemp(path.join(os.tmpdir(), "todo-client-"));
  try {
    const fresh = await generate(tmp);
    const stale = [];
    for (const { committed, source } of FILES) {
      const want = await readFile(fresh[committed], "utf8");
      const have = await readFile(path.join(packageDir, committed), "utf8").catch(() => null);
      if (have !== want) stale.push({ committed, source, want, have });
    }
    if (stale.length === 0) {
      console.log("openapi.json and src/schema.ts are up to date");
      return;
    }
    for (const { committed, source, want, have } of stale) {
      console.error(`clients/typescript/${committed} is stale: it differs from ${source}.`);
      if (have !== null) {
        await writeFile(path.join(tmp, "committed"), have);
        const diff = await run("diff", ["-u", path.join(tmp, "committed"), path.join(tmp, committed)], {
          maxBuffer: 64 * 1024 * 1024,
        }).catch((err) => err);
        const lines = String(diff.stdout ?? "").split("\n");
        console.error(lines.slice(2, 42).join("\n") + (lines.length > 42 ? "\n…" : ""));
      }
    }
    console.error("Regenerate them with `make client-generate` and commit the result.");
    process.exitCode = 1;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

await main();
