"""compile(root, backend="native"): the recorded graph replayed by machine code loops over a tape.

The graph is recorded once as a compact tape: per interior node (children before parents) an
op code, the slot its value goes to, and the slots of its operands (int32 arrays); the values,
grads and local grads live in flat double arrays. Two functions written once in LLVM IR (two
loops, a switch on the op code; not one line per node) are compiled by llvmlite, so the
compile is linear in the graph and takes no longer for a larger one. The forward loop
computes each node as its op's Python function does, the backward loop is chain_rule's one
line, ``child.grad += local_grad * grad``, over the nodes in backward()'s order: the same IEEE
operations in the same order, with no fast-math and no fused multiply-add, so the floats are
``backward()``'s, bit for bit; exp, log and tanh call the C library's functions, as CPython's
math module does.

An op the tape does not know (a user's op, pow, cross_entropy, …) makes the whole graph fall
back to the Python backend, with a warning naming it. A call whose leaves are not all floats,
or that meets an op's error (a division by zero, the log of x <= 0), is run by the Python
backend, which gives the eager engine's result or raises the op's own error.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import warnings
from array import array
from collections.abc import Callable
from typing import Any

from micrograd import ops
from micrograd.engine import Value
from micrograd.walk import walk

__all__ = ["CODES", "NativeGraph", "compile_native"]

EXTRA = "pip install 'micrograd-notes[native]'"

#: The ops the tape knows, by name, with their codes in the IR's switch.
CODES: dict[str, int] = {"add": 0, "sub": 1, "mul": 2, "div": 3, "neg": 4, "exp": 5, "log": 6,
                         "tanh": 7, "relu": 8, "sigmoid": 9, "sum": 10, "linear": 11,
                         "half_squared_error": 12}

# The two loops. Forward: node i of n writes D[out[i]] and the local grads L[start[i]..]
# from D[args[start[i]..start[i+1]]]; it returns -1, or the index of a node whose op must
# raise (div by 0, log of x <= 0), before writing it. Backward: nodes n-1 down to 0,
# G[args[k]] += L[k] * G[out[i]].
_IR = r"""
declare double @exp(double)
declare double @log(double)
declare double @tanh(double)

define i32 @forward(i32* %op, i32* %out, i32* %start, i32* %args, double* %D, double* %L,
                    i32 %n) {
entry:
  br label %head
head:
  %i = phi i32 [0, %entry], [%inext, %latch]
  %more = icmp slt i32 %i, %n
  br i1 %more, label %body, label %done
done:
  ret i32 -1
fail:
  ret i32 %i
body:
  %opp = getelementptr i32, i32* %op, i32 %i
  %code = load i32, i32* %opp
  %sp = getelementptr i32, i32* %start, i32 %i
  %s = load i32, i32* %sp
  %i1 = add i32 %i, 1
  %ep = getelementptr i32, i32* %start, i32 %i1
  %e = load i32, i32* %ep
  %dp = getelementptr i32, i32* %out, i32 %i
  %dst = load i32, i32* %dp
  %rp = getelementptr double, double* %D, i32 %dst
  %s1 = add i32 %s, 1
  %l0 = getelementptr double, double* %L, i32 %s
  %l1 = getelementptr double, double* %L, i32 %s1
  %a0p = getelementptr i32, i32* %args, i32 %s
  %a0 = load i32, i32* %a0p
  %x0p = getelementptr double, double* %D, i32 %a0
  %cnt = sub i32 %e, %s
  %two = icmp sge i32 %cnt, 2
  %a1i = select i1 %two, i32 %s1, i32 %s
  %a1p = getelementptr i32, i32* %args, i32 %a1i
  %a1 = load i32, i32* %a1p
  %x1p = getelementptr double, double* %D, i32 %a1
  %a = load double, double* %x0p
  %b = load double, double* %x1p
  switch i32 %code, label %latch [
    i32 0, label %add
    i32 1, label %sub
    i32 2, label %mul
    i32 3, label %div
    i32 4, label %neg
    i32 5, label %exp
    i32 6, label %log
    i32 7, label %tanh
    i32 8, label %relu
    i32 9, label %sigmoid
    i32 10, label %sum
    i32 11, label %linear
    i32 12, label %hse ]
add:
  %r_add = fadd double %a, %b
  store double %r_add, double* %rp
  store double 1.0, double* %l0
  store double 1.0, double* %l1
  br label %latch
sub:
  %r_sub = fsub double %a, %b
  store double %r_sub, double* %rp
  store double 1.0, double* %l0
  store double -1.0, double* %l1
  br label %latch
mul:
  %r_mul = fmul double %a, %b
  store double %r_mul, double* %rp
  store double %b, double* %l0
  store double %a, double* %l1
  br label %latch
div:
  %bz = fcmp oeq double %b, 0.0
  br i1 %bz, label %fail, label %div_ok
div_ok:
  %r_div = fdiv double %a, %b
  store double %r_div, double* %rp
  %inv = fdiv double 1.0, %b
  store double %inv, double* %l0
  %nr = fneg double %r_div
  %dq = fdiv double %nr, %b
  store double %dq, double* %l1
  br label %latch
neg:
  %r_neg = fneg double %a
  store double %r_neg, double* %rp
  store double -1.0, double* %l0
  br label %latch
exp:
  %r_exp = call double @exp(double %a)
  store double %r_exp, double* %rp
  store double %r_exp, double* %l0
  br label %latch
log:
  %le0 = fcmp ole double %a, 0.0
  br i1 %le0, label %fail, label %log_ok
log_ok:
  %r_log = call double @log(double %a)
  store double %r_log, double* %rp
  %linv = fdiv double 1.0, %a
  store double %linv, double* %l0
  br label %latch
tanh:
  %r_tanh = call double @tanh(double %a)
  store double %r_tanh, double* %rp
  %tt = fmul double %r_tanh, %r_tanh
  %tg = fsub double 1.0, %tt
  store double %tg, double* %l0
  br label %latch
relu:
  %pos = fcmp ogt double %a, 0.0
  %nonpos = fcmp ole double %a, 0.0
  %rneg = select i1 %nonpos, double 0.0, double %a
  %r_relu = select i1 %pos, double %a, double %rneg
  store double %r_relu, double* %rp
  %gneg = select i1 %nonpos, double 0.0, double 0x7FF8000000000000
  %g_relu = select i1 %pos, double 1.0, double %gneg
  store double %g_relu, double* %l0
  br label %latch
sigmoid:
  %sp0 = fcmp oge double %a, 0.0
  br i1 %sp0, label %sig_pos, label %sig_neg
sig_pos:
  %ma = fneg double %a
  %em = call double @exp(double %ma)
  %d1 = fadd double 1.0, %em
  %r_sp = fdiv double 1.0, %d1
  br label %sig_end
sig_neg:
  %ep2 = call double @exp(double %a)
  %d2 = fadd double 1.0, %ep2
  %r_sn = fdiv double %ep2, %d2
  br label %sig_end
sig_end:
  %r_sig = phi double [%r_sp, %sig_pos], [%r_sn, %sig_neg]
  store double %r_sig, double* %rp
  %om = fsub double 1.0, %r_sig
  %gs = fmul double %r_sig, %om
  store double %gs, double* %l0
  br label %latch
sum:
  %empty = icmp slt i32 %cnt, 1
  br i1 %empty, label %fail, label %sum_head
sum_head:
  %k = phi i32 [%s, %sum], [%knext, %sum_body]
  %tot = phi double [-0.0, %sum], [%tot2, %sum_body]
  %first = phi i1 [true, %sum], [false, %sum_body]
  %sm = icmp slt i32 %k, %e
  br i1 %sm, label %sum_body, label %sum_end
sum_body:
  %akp = getelementptr i32, i32* %args, i32 %k
  %ak = load i32, i32* %akp
  %xkp = getelementptr double, double* %D, i32 %ak
  %xk = load double, double* %xkp
  %added = fadd double %tot, %xk
  %tot2 = select i1 %first, double %xk, double %added
  %lkp = getelementptr double, double* %L, i32 %k
  store double 1.0, double* %lkp
  %knext = add i32 %k, 1
  br label %sum_head
sum_end:
  store double %tot, double* %rp
  br label %latch
linear:
  %last = sub i32 %e, 1
  %prod0 = fmul double %a, %b
  %t0 = select i1 %two, double %prod0, double 0.0
  %j0 = select i1 %two, i32 %s1, i32 %s
  %jj = add i32 %j0, 1
  br label %lin_head
lin_head:
  %j = phi i32 [%jj, %linear], [%jnext, %lin_body]
  %lt = phi double [%t0, %linear], [%lt2, %lin_body]
  %lm = icmp slt i32 %j, %last
  br i1 %lm, label %lin_body, label %lin_end
lin_body:
  %j1 = add i32 %j, 1
  %awp = getelementptr i32, i32* %args, i32 %j
  %aw = load i32, i32* %awp
  %axp = getelementptr i32, i32* %args, i32 %j1
  %ax = load i32, i32* %axp
  %wvp = getelementptr double, double* %D, i32 %aw
  %wv = load double, double* %wvp
  %xvp = getelementptr double, double* %D, i32 %ax
  %xv = load double, double* %xvp
  %pr = fmul double %wv, %xv
  %lt2 = fadd double %lt, %pr
  %ljp = getelementptr double, double* %L, i32 %j
  store double %xv, double* %ljp
  %lj1p = getelementptr double, double* %L, i32 %j1
  store double %wv, double* %lj1p
  %jnext = add i32 %j, 2
  br label %lin_head
lin_end:
  %abp = getelementptr i32, i32* %args, i32 %last
  %ab = load i32, i32* %abp
  %bvp = getelementptr double, double* %D, i32 %ab
  %bv = load double, double* %bvp
  %r_lin = fadd double %lt, %bv
  store double %r_lin, double* %rp
  %lbp = getelementptr double, double* %L, i32 %last
  store double 1.0, double* %lbp
  br i1 %two, label %lin_first, label %latch
lin_first:
  store double %b, double* %l0
  store double %a, double* %l1
  br label %latch
hse:
  %dy = fsub double %b, %a
  %hh = fmul double 0.5, %dy
  %r_hse = fmul double %hh, %dy
  store double %r_hse, double* %rp
  %gy = fsub double %a, %b
  store double %gy, double* %l0
  store double %dy, double* %l1
  br label %latch
latch:
  %inext = add i32 %i, 1
  br label %head
}

define void @backward(i32* %out, i32* %start, i32* %args, double* %G, double* %L, i32 %n) {
entry:
  br label %head
head:
  %i = phi i32 [%n, %entry], [%im, %node_end]
  %more = icmp sgt i32 %i, 0
  %im = sub i32 %i, 1
  br i1 %more, label %node, label %done
done:
  ret void
node:
  %dp = getelementptr i32, i32* %out, i32 %im
  %dst = load i32, i32* %dp
  %gp = getelementptr double, double* %G, i32 %dst
  %g = load double, double* %gp
  %sp = getelementptr i32, i32* %start, i32 %im
  %s = load i32, i32* %sp
  %ep = getelementptr i32, i32* %start, i32 %i
  %e = load i32, i32* %ep
  br label %khead
khead:
  %k = phi i32 [%s, %node], [%knext, %kbody]
  %km = icmp slt i32 %k, %e
  br i1 %km, label %kbody, label %node_end
kbody:
  %ap = getelementptr i32, i32* %args, i32 %k
  %c = load i32, i32* %ap
  %cp = getelementptr double, double* %G, i32 %c
  %cg = load double, double* %cp
  %lp = getelementptr double, double* %L, i32 %k
  %lg = load double, double* %lp
  %pr = fmul double %lg, %g
  %sum = fadd double %cg, %pr
  store double %sum, double* %cp
  %knext = add i32 %k, 1
  br label %khead
node_end:
  br label %head
}
"""

_FORWARD = ctypes.CFUNCTYPE(ctypes.c_int32, *[ctypes.c_void_p] * 6, ctypes.c_int32)
_BACKWARD = ctypes.CFUNCTYPE(None, *[ctypes.c_void_p] * 5, ctypes.c_int32)
_machine: tuple[Any, Any, Any] | None = None  # (engine, forward, backward), made once


def _llvm() -> Any:
    """llvmlite.binding, or ImportError naming the extra that installs it."""
    try:
        import llvmlite.binding as llvm  # type: ignore[import-untyped]
    except ImportError as err:
        raise ImportError(f"compile(backend='native') needs llvmlite: {EXTRA}") from err
    return llvm


def _functions() -> tuple[Any, Any]:
    """The two loops as machine code: compiled once per process (generic CPU: no FMA)."""
    global _machine
    if _machine is None:
        llvm = _llvm()
        try:
            llvm.initialize()
        except RuntimeError:  # llvmlite >= 0.45 initialises itself
            pass
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        libm = ctypes.util.find_library("m")
        if libm:
            llvm.load_library_permanently(libm)
        target = llvm.Target.from_default_triple()
        machine = target.create_target_machine(opt=2)  # no cpu features: no fused mul-add
        module = llvm.parse_assembly(_IR)
        module.verify()
        engine = llvm.create_mcjit_compiler(module, machine)
        engine.finalize_object()
        forward = _FORWARD(engine.get_function_address("forward"))
        backward = _BACKWARD(engine.get_function_address("backward"))
        _machine = (engine, forward, backward)
    return _machine[1], _machine[2]


def _address(buffer: array[Any]) -> int:
    return buffer.buffer_info()[0]


class NativeGraph:
    """A graph replayed natively: ``g()``, ``g.leaves``, ``g.sync()``, as CompiledGraph's."""

    def __init__(self, root: Value, leaves: list[Value], nodes: list[Value],
                 codes: array[int], out: array[int], start: array[int], args: array[int],
                 slots: int, python: Callable[[Value], Any], changed: type[Exception]) -> None:
        self.root = root
        self._compile_python, self._changed = python, changed  # compiler's, passed in
        self._leaves = tuple(leaves)
        self._nodes = nodes  # interior nodes, children first (forward order)
        self._ops = {name: ops.get(name) for name in {node.op for node in nodes}}
        self._code, self._out, self._start, self._args = codes, out, start, args
        self._D = array("d", bytes(8 * slots))
        self._G = array("d", bytes(8 * slots))
        self._L = array("d", bytes(8 * max(1, len(args))))
        self._zeros = array("d", bytes(8 * (slots - len(leaves))))
        self._python: Any = None  # the Python backend's graph, for calls the loops do not run
        self._called = False
        self._forward, self._backward = _functions()

    @property
    def leaves(self) -> tuple[Value, ...]:
        """The leaves the graph reads, in slot order."""
        return self._leaves

    @property
    def source(self) -> str:
        """The tape: per node, in forward order, its op and the slots it reads (the chain rule
        unrolled: backward runs these lines bottom to top, G[operand] += L · G[node])."""
        count = len(self._leaves)
        names = walk(self.root).names
        lines = [f"# tape of {len(self._nodes)} nodes over {count} leaves: slot = node"]
        lines += [f"D[{i}] = {names[leaf]}" for i, leaf in enumerate(self._leaves)]
        for i, node in enumerate(self._nodes):
            s, e = self._start[i], self._start[i + 1]
            operands = ", ".join(f"D[{a}]" for a in self._args[s:e])
            lines.append(f"D[{self._out[i]}] = {node.op}({operands})  # {names[node]}")
        return "\n".join(lines)

    tape = source

    def _fallback(self) -> float:
        if self._python is None:
            self._python = self._compile_python(self.root)
        result: float = self._python()
        self._called = False
        return result

    def __call__(self) -> float:
        """Recompute every node from the leaves' .data, add ∂root/∂leaf into each leaf's .grad."""
        for name, op in self._ops.items():
            if name not in ops.names() or ops.get(name) is not op:
                raise self._changed(f"native graph: op {name!r} changed after compile(); "
                                      "compile the graph again")
        leaves, count = self._leaves, len(self._leaves)
        data = [leaf.data for leaf in leaves]
        grads = [leaf.grad for leaf in leaves]
        if any(x.__class__ is not float for x in data) or any(
                x.__class__ is not float for x in grads):
            return self._fallback()
        D, G, L = self._D, self._G, self._L
        D[:count] = array("d", data)
        failed = self._forward(_address(self._code), _address(self._out), _address(self._start),
                               _address(self._args), _address(D), _address(L), len(self._nodes))
        if failed >= 0:
            return self._fallback()  # the op's own error, raised by the Python backend
        G[:count] = array("d", grads)
        G[count:] = self._zeros
        root = self._out[len(self._nodes) - 1]
        G[root] += 1.0
        self._backward(_address(self._out), _address(self._start), _address(self._args),
                       _address(G), _address(L), len(self._nodes))
        for leaf, g in zip(leaves, G[:count].tolist()):
            leaf.grad = g
        self._called = True
        return D[root]

    def sync(self) -> None:
        """Write into every interior node its data, local_grads and grad of the latest call."""
        if not self._called:
            if self._python is not None:
                self._python.sync()
            return
        D, G, L = self._D, self._G, self._L
        for i, node in enumerate(self._nodes):
            slot = self._out[i]
            node.data, node.grad = D[slot], G[slot]
            node.local_grads = tuple(L[self._start[i]:self._start[i + 1]])

    def __repr__(self) -> str:
        return (f"<NativeGraph of {self.root!r}: {len(self._leaves)} leaves, "
                f"{len(self._nodes)} nodes>")


def compile_native(root: Value, python: Callable[[Value], Any],
                   changed: type[Exception]) -> Any:
    """Record root's graph as a tape and replay it natively; an op it does not know: Python.

    python compiles a graph with the Python backend; changed is the error of an op
    registered anew after compile() (the compiler's, passed in: no import circle).
    """
    _llvm()  # the extra's error, before any work
    walked = walk(root)
    nodes = walked.interior[::-1]  # children first; backward() runs the reverse
    unknown = sorted({node.op for node in nodes
                      if node.op not in CODES or not ops.get(node.op).builtin or node.params})
    if unknown or not nodes:
        if unknown:
            warnings.warn(f"compile(backend='native'): op(s) {', '.join(map(repr, unknown))} "
                          "have no native form; the whole graph runs on the Python backend",
                          stacklevel=3)
        return python(root)
    leaves = [node for node in reversed(walked.order) if node.is_leaf]
    slot = {leaf: i for i, leaf in enumerate(leaves)}
    for node in nodes:
        slot[node] = len(slot)
    codes, out, start, args = array("i"), array("i"), array("i", [0]), array("i")
    for node in nodes:
        codes.append(CODES[node.op])
        out.append(slot[node])
        args.extend([slot[child] for child in node.children])
        start.append(len(args))
    return NativeGraph(root, leaves, nodes, codes, out, start, args, len(slot), python, changed)
