// Runs pytest inside Pyodide under Node: the project's contract tests on the js backend.
//
//   node tools/web/pyodide_suite.mjs [pytest arguments...]
//   node tools/web/pyodide_suite.mjs --script FILE [arguments...]   (a script, as __main__)
//
// Pyodide (npm, pinned in tools/web/package.json) and the pure wheels of tools/web/wheels.txt
// come from `make web-deps` (.cache/web, git-ignored); wasmimport itself is the pure
// py3-none-any wheel of `make dist`, installed with micropip as a user would, with its
// dependencies resolved (there must be none to fetch on emscripten), and the sample
// packages' wheels after it. The checkout is mounted read-only in spirit at /repo (NODEFS):
// tests read the built guests there; bytecode and pytest's cache are not written.
// WASMIMPORT_FROM_CHECKOUT=1 imports the checkout's wasmimport instead (while developing).
// The exit status is pytest's (or the script's).
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CACHE = resolve(process.env.WEB_CACHE ?? join(ROOT, ".cache", "web"));
const { loadPyodide } = await import(join(CACHE, "node_modules", "pyodide", "pyodide.mjs"));

const wheels = (dir) => {
  try {
    return readdirSync(dir).filter((f) => f.endsWith(".whl")).map((f) => join(dir, f));
  } catch {
    return [];
  }
};
const pure = wheels(join(ROOT, "dist")).filter((f) => f.endsWith("-py3-none-any.whl"));
if (pure.length !== 1) {
  console.error(`pyodide_suite: expected one pure wasmimport wheel in dist/, found ${pure.length}` +
                " (run `make dist`)");
  process.exit(2);
}
const tools = wheels(join(CACHE, "wheels"));
const micropip = tools.find((f) => f.includes("/micropip-"));
if (!micropip) {
  console.error("pyodide_suite: no micropip wheel in .cache/web/wheels (run `make web-deps`)");
  process.exit(2);
}

// The suite's own text-to-binary helper (tests/conftest.py wat_binary): wabt's libwabt in
// JS, since wasmtime's parser does not exist on emscripten. Test tooling, not wasmimport's.
const wabt = await (await import(join(CACHE, "node_modules", "wabt", "index.js"))).default();
const WAT_FEATURES = Object.fromEntries(["exceptions", "mutable_globals", "sat_float_to_int",
  "sign_extension", "simd", "multi_value", "bulk_memory", "reference_types", "tail_call",
  "multi_memory", "extended_const", "threads"].map((f) => [f, true]));
globalThis.wasmimportTestWat2wasm = (text) => {
  const module = wabt.parseWat("test.wat", text, WAT_FEATURES);
  try {
    module.resolveNames();
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
};

const started = performance.now();
const py = await loadPyodide({ indexURL: join(CACHE, "node_modules", "pyodide") + "/" });
console.log(`pyodide ${py.version} loaded in ${((performance.now() - started) / 1000).toFixed(1)} s`);
py.FS.mkdirTree("/repo");
py.FS.mount(py.FS.filesystems.NODEFS, { root: ROOT }, "/repo");
const site = py.runPython("import sysconfig; sysconfig.get_paths()['purelib']");
py.unpackArchive(new Uint8Array(readFileSync(micropip)), "wheel", { extractDir: site });

const emfs = (files) => files.map((f) => "emfs:/repo/" + f.slice(ROOT.length + 1));
py.globals.set("tool_wheels", py.toPy(tools.filter((f) => f !== micropip)));
py.globals.set("wasmimport_wheel", emfs(pure)[0]);
py.globals.set("sample_wheels", py.toPy(emfs(wheels(join(ROOT, "dist", "samples")))));
const script = process.argv[2] === "--script";
py.globals.set("run_args", py.toPy(process.argv.slice(script ? 3 : 2)));
py.globals.set("run_script", script);
py.globals.set("checkout", process.env.WASMIMPORT_FROM_CHECKOUT === "1");
py.FS.mkdirTree("/wheels");
for (const f of tools) py.FS.writeFile("/wheels/" + f.split("/").pop(), readFileSync(f));
const code = await py.runPythonAsync(`
import os, sys
import micropip
sys.dont_write_bytecode = True
await micropip.install(["emfs:/wheels/" + os.path.basename(w) for w in tool_wheels], deps=False)
await micropip.install(wasmimport_wheel)          # its dependencies: none on emscripten
if checkout:       # development: the checkout's wasmimport rather than the wheel's
    sys.path.insert(0, "/repo")
if sample_wheels:
    await micropip.install(list(sample_wheels))
os.chdir("/repo")
if run_script:
    import runpy
    sys.argv = list(run_args)
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (exc.code is not None)
else:
    import pytest
    status = int(pytest.main(["-p", "no:cacheprovider", *run_args]))
status
`);
process.exit(code);
