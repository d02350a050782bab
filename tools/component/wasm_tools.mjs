#!/usr/bin/env node
// wasm-tools' component commands, through npm jco (tools/component/package.json, installed by
// `make component-deps` into .cache/component):
//
//   node wasm_tools.mjs embed CORE.wasm WIT [--world NAME] -o OUT.wasm
//   node wasm_tools.mjs new EMBEDDED.wasm [--adapt NAME=ADAPTER.wasm]... -o OUT.wasm
//   node wasm_tools.mjs wit COMPONENT.wasm          (the component's WIT, on stdout)
//   node wasm_tools.mjs print FILE.wasm             (its WAT, on stdout)
//   node wasm_tools.mjs parse FILE.wat -o OUT.wasm
//   node wasm_tools.mjs adapter reactor|command     (the path of jco's WASI preview1 adapter)
//
// jco's own CLI cannot read files here: the wasm-tools component it runs gets its WASI
// filesystem from @bytecodealliance/preview2-shim, which starts with no preopened directory,
// so `jco embed` fails with NotFound.  This script preopens "/" in the very copy of the shim
// that jco-transpile's wasm-tools imports (resolved from jco-transpile's own package, so it
// is the same module instance whatever npm hoisted where), then calls wasm-tools itself.
//
// Where jco is: $WASMIMPORT_COMPONENT_DEPS (a folder with node_modules/@bytecodealliance/jco),
// else this checkout's .cache/component, else this script's own folder.

import { createRequire } from "node:module";
import { existsSync, readFileSync, writeFileSync, renameSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const HINT = "run `make component-deps` in the wasmimport checkout (npm jco into .cache/component)";

class UsageError extends Error {}

function fail(message) {
  process.stderr.write(`wasm_tools.mjs: error: ${message}\n`);
  process.exit(1);
}

// The folder whose node_modules holds jco, and jco's entry file.
function findJco() {
  const given = process.env.WASMIMPORT_COMPONENT_DEPS;
  const candidates = given ? [given] : [join(HERE, "..", "..", ".cache", "component"), HERE];
  for (const folder of candidates) {
    const require = createRequire(join(resolve(folder), "package.json"));
    try {
      return require.resolve("@bytecodealliance/jco");
    } catch {
      // try the next one
    }
  }
  fail(`npm @bytecodealliance/jco is not installed in any of ${candidates.join(", ")}: ${HINT}`);
}

function resolveFrom(file, specifier, what) {
  try {
    return createRequire(file).resolve(specifier);
  } catch (err) {
    fail(`cannot find ${what} (${specifier}) from ${file}: ${err.message}; ${HINT}`);
  }
}

async function loadTools() {
  const jco = findJco();
  const transpile = resolveFrom(jco, "@bytecodealliance/jco-transpile/wasm-tools",
                                "jco-transpile's wasm-tools");
  // the shim module jco-transpile's vendored wasm-tools imports: resolved as it resolves it
  const shim = resolveFrom(transpile, "@bytecodealliance/preview2-shim/filesystem",
                           "the preview2-shim filesystem that jco-transpile uses");
  const fs = await import(pathToFileURL(shim).href);
  if (typeof fs._setPreopens !== "function") {
    fail(`${shim} has no _setPreopens(): this preview2-shim version is not the one this ` +
         `script knows (jco 1.35.0 brings 0.26.1); ${HINT}`);
  }
  fs._setPreopens({ "/": "/" });
  const tools = await import(pathToFileURL(transpile).href);
  return { jco, tools };
}

// argv -> { positional, options, repeated } for the options each command takes
function parseArgs(argv, takes) {
  const positional = [];
  const options = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith("-") && arg !== "-") {
      const name = arg.replace(/^-+/, "");
      if (!takes.includes(name)) throw new UsageError(`unknown option ${arg}`);
      if (i + 1 >= argv.length) throw new UsageError(`${arg} needs a value`);
      (options[name] ??= []).push(argv[++i]);
    } else {
      positional.push(arg);
    }
  }
  return { positional, options };
}

function read(path) {
  try {
    return readFileSync(path);
  } catch (err) {
    fail(`cannot read ${path}: ${err.message}`);
  }
}

function write(path, bytes) {
  const tmp = `${path}.tmp${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

function output(options) {
  if (!options.o || options.o.length !== 1) throw new UsageError("needs one -o OUT");
  return options.o[0];
}

function arity(positional, n, names) {
  if (positional.length !== n) throw new UsageError(`needs ${names}`);
}

function adapterPath(jco, kind) {
  if (kind !== "reactor" && kind !== "command") throw new UsageError("adapter reactor|command");
  const path = join(dirname(jco), "..", "lib", `wasi_snapshot_preview1.${kind}.wasm`);
  if (!existsSync(path)) fail(`jco ships no ${path}`);
  return resolve(path);
}

const COMMANDS = {
  async embed(tools, argv) {
    const { positional, options } = parseArgs(argv, ["o", "world"]);
    arity(positional, 2, "CORE.wasm WIT");
    const [core, wit] = positional;
    if (!existsSync(wit)) fail(`${wit}: no such WIT file or folder`);
    const opts = { binary: read(core), witPath: resolve(wit) };
    if (options.world) opts.world = options.world.at(-1);
    write(output(options), await tools.componentEmbed(opts));
  },
  async new(tools, argv) {
    const { positional, options } = parseArgs(argv, ["o", "adapt"]);
    arity(positional, 1, "EMBEDDED.wasm");
    const adapters = (options.adapt ?? []).map((spec) => {
      const at = spec.indexOf("=");
      if (at <= 0) throw new UsageError(`--adapt NAME=PATH, not ${spec}`);
      return [spec.slice(0, at), read(spec.slice(at + 1))];
    });
    write(output(options), await tools.componentNew(read(positional[0]), adapters));
  },
  async wit(tools, argv) {
    const { positional } = parseArgs(argv, []);
    arity(positional, 1, "COMPONENT.wasm");
    process.stdout.write(await tools.componentWit(read(positional[0])));
  },
  async print(tools, argv) {
    const { positional } = parseArgs(argv, []);
    arity(positional, 1, "FILE.wasm");
    process.stdout.write(`${await tools.print(read(positional[0]))}\n`);
  },
  async parse(tools, argv) {
    const { positional, options } = parseArgs(argv, ["o"]);
    arity(positional, 1, "FILE.wat");
    write(output(options), await tools.parse(read(positional[0]).toString("utf8")));
  },
};

const USAGE = `usage: node wasm_tools.mjs COMMAND ...
  embed CORE.wasm WIT [--world NAME] -o OUT.wasm   WIT metadata into a core module
  new EMBEDDED.wasm [--adapt NAME=PATH]... -o OUT  a component from an embedded core module
  wit COMPONENT.wasm                               its WIT on stdout
  print FILE.wasm                                  its WAT on stdout
  parse FILE.wat -o OUT.wasm                       WAT (core or component) to binary
  adapter reactor|command                          the path of jco's WASI preview1 adapter
`;

// `... | head` closes stdout early: that is not an error
process.stdout.on("error", (err) => process.exit(err.code === "EPIPE" ? 0 : 1));

const [command, ...rest] = process.argv.slice(2);
if (!command || command === "-h" || command === "--help") {
  process.stdout.write(USAGE);
  process.exit(command ? 0 : 2);
}
try {
  if (command === "adapter") {
    process.stdout.write(`${adapterPath(findJco(), rest[0])}\n`);
  } else if (Object.hasOwn(COMMANDS, command)) {
    const { tools } = await loadTools();
    await COMMANDS[command](tools, rest);
  } else {
    throw new UsageError(`unknown command ${command}`);
  }
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`wasm_tools.mjs ${command}: ${err.message}\n${USAGE}`);
    process.exit(2);
  }
  // wasm-tools' errors come through jco as ComponentError with a payload string
  fail(`${command} failed: ${err.payload ?? err.message ?? err}`);
}
