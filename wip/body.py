
import sys, time
sys.path[:0] = ["/repo", "/maintests/guests", "/maintests"]
import wasmimport
wasmimport.install()
from wasmimport.backends import get_backend
print(get_backend().name, get_backend().version)
import edges
print(type(edges.echo_i32), edges.echo_i32(-5), edges.echo_u32(2**32-1), edges.echo_i64(-2**63), edges.echo_u64(2**64-1))
print(edges.echo_str("héllo wörld") if hasattr(edges, "echo_str") else "no echo_str")
try:
    edges.echo_i32(2**31)
except OverflowError as e: print("OverflowError:", e)
try:
    edges.trap_unreachable()
except wasmimport.Trap as e: print("Trap:", e, e.kind, e.frames[:2])
n=20000
f=edges.echo_i32
t=time.perf_counter()
for i in range(n): f(i)
print("echo_i32 us", (time.perf_counter()-t)/n*1e6)
import host
try:
    host.call_fail()
except Exception as e: print("host:", type(e), e)
print(host.sum_via_host(2, 3))
import inspect; print(inspect.signature(edges.echo_i32))
