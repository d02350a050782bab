import { loadPyodide } from "pyodide";
import fs from "fs";
const py = await loadPyodide();
py.FS.writeFile("/tmp/edges.wasm", fs.readFileSync("/work/main/tests/guests/edges.wasm"));
py.FS.writeFile("/tmp/host.wasm", fs.readFileSync("/work/main/tests/guests/host.wasm"));
py.runPython(`
import js, time
from pyodide.ffi import to_js, create_proxy, JsException
from pyodide.code import run_js
data = open("/tmp/edges.wasm","rb").read()
mod = js.WebAssembly.Module.new(to_js(data))
inst = js.WebAssembly.Instance.new(mod, js.Object.new())
ex = inst.exports
print("i32", ex.echo_i32(-5), ex.echo_u32(4294967295))
try: print("i64 num", ex.echo_i64(5))
except JsException as e: print("i64 err", e.name, e.message)
r = ex.echo_i64(js.BigInt(-(2**40)))
print("i64 big ->", type(r), r)
r = ex.echo_i64(js.BigInt(5))
print("i64 small big ->", type(r), r)
try: ex.trap_unreachable()
except JsException as e: print("trap:", e.name, "|", e.message, "|", str(e.stack)[:300])
n=100000
f = ex.echo_i32
t=time.perf_counter()
for i in range(n): f(i)
print("direct export call us", (time.perf_counter()-t)/n*1e6)
glue = run_js("(f) => (a) => f(a)")(f)
t=time.perf_counter()
for i in range(n): glue(i)
print("glue call us", (time.perf_counter()-t)/n*1e6)
mem = ex.memory
buf = mem.buffer
print("mem bytes", buf.byteLength)
# memoryview over wasm memory?
u8 = js.Uint8Array.new(buf)
t=time.perf_counter(); b = u8.subarray(0, 1<<20).to_bytes(); print("read 1MiB ms", (time.perf_counter()-t)*1e3)
# host function raising through wasm
data2 = open("/tmp/host.wasm","rb").read()
mod2 = js.WebAssembly.Module.new(to_js(data2))
print([ (i.module, i.name) for i in js.WebAssembly.Module.imports(mod2)])
class Boom(Exception): pass
def fail(*a):
    raise Boom("from host")
def noop(*a): return 0
env = {i.name: create_proxy(fail if i.name=="fail" else noop) for i in js.WebAssembly.Module.imports(mod2)}
imports = to_js({"env": env}, dict_converter=js.Object.fromEntries)
inst2 = js.WebAssembly.Instance.new(mod2, imports)
try:
    inst2.exports.call_fail()
except Boom as e:
    print("host exc came back as itself:", repr(e))
except Exception as e:
    print("host exc came back as", type(e), e)
`);
