import { loadPyodide } from "pyodide";
import fs from "fs";
const py = await loadPyodide();
py.FS.writeFile("/tmp/edges.wasm", fs.readFileSync("/work/main/tests/guests/edges.wasm"));
py.runPython(`
import js, time
from pyodide.ffi import to_js, JsException
from pyodide.code import run_js
mod = js.WebAssembly.Module.new(to_js(open("/tmp/edges.wasm","rb").read()))
ex = js.WebAssembly.Instance.new(mod, js.Object.new()).exports
g = run_js("(f) => (a) => { const r = f(BigInt.asIntN(64, BigInt(a))); return (r >= -9007199254740991n && r <= 9007199254740991n) ? Number(r) : r; }")(ex.echo_i64)
print(g(5), type(g(5)), g(-2**63), type(g(-2**63)))
n=100000
t=time.perf_counter()
for i in range(n): g(i)
print("i64 glue us", (time.perf_counter()-t)/n*1e6)
u8 = js.Uint8Array.new(ex.memory.buffer)
b = b"0123456789abcdef"
t=time.perf_counter()
for i in range(n): u8.subarray(1024, 1040).assign(b)
print("assign 16B us", (time.perf_counter()-t)/n*1e6)
t=time.perf_counter()
for i in range(n): u8.subarray(1024, 1040).to_bytes()
print("to_bytes 16B us", (time.perf_counter()-t)/n*1e6)
w = run_js("(u8) => (p, s) => { for (let i = 0; i < s.length; i++) u8[p+i] = s.charCodeAt(i); return s.length; }")(u8)
t=time.perf_counter()
for i in range(n): w(1024, "0123456789abcdef")
print("JS-side str write 16 us", (time.perf_counter()-t)/n*1e6)
enc = run_js("(m) => { const e = new TextEncoder(); return (p, s) => e.encodeInto(s, new Uint8Array(m.buffer, p, s.length*3)).written; }")(ex.memory)
t=time.perf_counter()
for i in range(n): enc(1024, "0123456789abcdef")
print("encodeInto 16 us", (time.perf_counter()-t)/n*1e6)
`);
