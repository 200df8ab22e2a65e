"""compile(root, backend="native"): the recorded graph replayed by machine code loops over a tape.

The graph is recorded once as a compact tape: per interior node (children before parents) an
op code, the slot its value goes to, and the slots of its operands (int32 arrays); the values,
grads and local grads live in flat double arrays. Two functions written once in LLVM IR (two
loops, a switch on the op code; not one line per node) are compiled by llvmlite once per
process, so the compile of a graph is the tape's making, linear in the graph. The forward
loop computes each node as its op's Python function does, the backward loop is chain_rule's
one line, ``child.grad += local_grad * grad``, over the nodes in backward()'s order: the same
IEEE operations in the same order, with no fast-math and no fused multiply-add, so the floats
are ``backward()``'s, bit for bit; exp, log, tanh and pow call the C library's functions,
as CPython's math module and float ``**`` do.

An op with a param (leaky_relu's slope, pow's exponent) reads it per node from an array K.
A node whose op has no form in the loops (a user's op, cross_entropy, logsumexp,
bce_with_logits, pow_value: op code PYTHON) is computed by Python in the middle of the
forward pass: the loop returns its index, Python calls the op's forward and derivative on
its operands from the arrays, as apply() does, and the loop resumes at the next node; the
backward loop runs every node. A call whose leaves are not all floats, or that meets an op's
error (a division by zero, the log of x <= 0, a user's op raising), is run by the Python
backend, which gives the eager engine's result or raises the error the eager engine raises.

``NativeTrainer`` (``compiler.Trainer(optimizer, backend="native")``) runs whole training
steps so: the parameters in the first slots of arrays it owns, the grads set to 0, forward,
backward and the optimiser's update (SGD, momentum, Adam, AdamW: optim.py's operations in its
order) in one call of the loops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import struct
from array import array
from collections.abc import Callable, Iterable, Sequence
from itertools import accumulate
from typing import Any

from micrograd import ops
from micrograd._numbers import as_float, as_floats
from micrograd.engine import Value, topological_order
from micrograd.optim import SGD, Adam, Optimizer
from micrograd.walk import walk

__all__ = ["CODES", "CONTEXT", "PYTHON", "NativeGraph", "NativeStep", "NativeTrainer",
           "compile_native"]

EXTRA = "pip install 'micrograd-notes[native]'"

#: The ops the tape knows, by name, with their codes in the IR's switch.
CODES: dict[str, int] = {"add": 0, "sub": 1, "mul": 2, "div": 3, "neg": 4, "exp": 5, "log": 6,
                         "tanh": 7, "relu": 8, "sigmoid": 9, "sum": 10, "linear": 11,
                         "half_squared_error": 12, "leaky_relu": 13, "pow": 14, "step": 15}
#: The ops of CODES with a param, by name: the param, read from K[i] (node i's).
PARAMS: dict[str, str] = {"leaky_relu": "slope", "pow": "exponent"}
PYTHON = len(CODES)  # a node Python computes: the forward loop stops at it, then resumes

# The two loops. Forward: nodes from..n-1, node i writes D[out[i]] and the local grads
# L[start[i]..] from D[args[start[i]..start[i+1]]]; it returns -1, or the index of a node it
# does not compute, before writing it: a python node (code PYTHON), or one whose op must
# raise (div by 0, log of x <= 0). Backward: nodes n-1 down to 0, G[args[k]] += L[k] *
# G[out[i]], but for the operands in slots skip..skip+skipped-1 (grads no one reads).
# Around them: run (one call: forward, the grads set, backward, the optimiser's update) and
# update.
_IR = r"""
declare double @exp(double)
declare double @log(double)
declare double @tanh(double)
declare double @pow(double, double)
declare double @llvm.sqrt.f64(double)
declare double @llvm.floor.f64(double)
declare double @llvm.fabs.f64(double)
declare double @llvm.copysign.f64(double, double)

define i32 @forward(i32* %op, i32* %out, i32* %start, i32* %args, double* %D, double* %L,
                    double* %K, i32 %from, i32 %n) {
entry:
  br label %head
head:
  %i = phi i32 [%from, %entry], [%inext, %latch]
  %more = icmp slt i32 %i, %n
  br i1 %more, label %body, label %done
done:
  ret i32 -1
stop:
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
  switch i32 %code, label %stop [
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
    i32 12, label %hse
    i32 13, label %leaky
    i32 14, label %pow
    i32 15, label %step ]
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
  br i1 %bz, label %stop, label %div_ok
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
  br i1 %le0, label %stop, label %log_ok
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
  br i1 %empty, label %stop, label %sum_head
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
leaky:
  %kp = getelementptr double, double* %K, i32 %i
  %slope = load double, double* %kp
  %lpos = fcmp ogt double %a, 0.0
  %lneg = fcmp ole double %a, 0.0
  %sa = fmul double %slope, %a
  %r_leaky = select i1 %lpos, double %a, double %sa
  store double %r_leaky, double* %rp
  %gln = select i1 %lneg, double %slope, double 0x7FF8000000000000
  %g_leaky = select i1 %lpos, double 1.0, double %gln
  store double %g_leaky, double* %l0
  br label %latch
pow:
  %kq = getelementptr double, double* %K, i32 %i
  %ex = load double, double* %kq
  %unordered = fcmp uno double %a, %ex
  br i1 %unordered, label %pow_nan, label %pow_check
pow_nan:
  store double 0x7FF8000000000000, double* %rp
  store double 0x7FF8000000000000, double* %l0
  br label %latch
pow_check:
  %fl = call double @llvm.floor.f64(double %ex)
  %magnitude = call double @llvm.fabs.f64(double %ex)
  %notint = fcmp one double %fl, %ex
  %infinite = fcmp oeq double %magnitude, 0x7FF0000000000000
  %fractional = or i1 %notint, %infinite
  %below = fcmp olt double %a, 0.0
  %complex = and i1 %below, %fractional
  %nought = fcmp oeq double %a, 0.0
  %negexp = fcmp olt double %ex, 0.0
  %pole = and i1 %nought, %negexp
  %raises = or i1 %complex, %pole
  br i1 %raises, label %stop, label %pow_ok
pow_ok:
  %r_pow = call double @pow(double %a, double %ex)
  store double %r_pow, double* %rp
  %em1 = fsub double %ex, 1.0
  %pm1 = call double @pow(double %a, double %em1)
  %dpow = fmul double %ex, %pm1
  %under1 = fcmp olt double %ex, 1.0
  %cusp = and i1 %nought, %under1
  %sinf = call double @llvm.copysign.f64(double 0x7FF0000000000000, double %ex)
  %gp1 = select i1 %cusp, double %sinf, double %dpow
  %ezero = fcmp oeq double %ex, 0.0
  %g_pow = select i1 %ezero, double 0.0, double %gp1
  store double %g_pow, double* %l0
  br label %latch
step:
  %up = fcmp ogt double %a, 0.0
  %down = fcmp ole double %a, 0.0
  %r_down = select i1 %down, double 0.0, double 0x7FF8000000000000
  %r_step = select i1 %up, double 1.0, double %r_down
  store double %r_step, double* %rp
  %ordered = fcmp ord double %a, %a
  %g_step = select i1 %ordered, double 0.0, double 0x7FF8000000000000
  store double %g_step, double* %l0
  br label %latch
latch:
  %inext = add i32 %i, 1
  br label %head
}

define void @backward(i32* %out, i32* %start, i32* %args, double* %G, double* %L, i32 %n,
                      i32 %skip, i32 %skipped) {
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
  %k = phi i32 [%s, %node], [%knext, %knext_bb]
  %km = icmp slt i32 %k, %e
  br i1 %km, label %kbody, label %node_end
kbody:
  %ap = getelementptr i32, i32* %args, i32 %k
  %c = load i32, i32* %ap
  %ci = sub i32 %c, %skip
  %unread = icmp ult i32 %ci, %skipped
  br i1 %unread, label %knext_bb, label %term
term:
  %cp = getelementptr double, double* %G, i32 %c
  %cg = load double, double* %cp
  %lp = getelementptr double, double* %L, i32 %k
  %lg = load double, double* %lp
  %pr = fmul double %lg, %g
  %sum = fadd double %cg, %pr
  store double %sum, double* %cp
  br label %knext_bb
knext_bb:
  %knext = add i32 %k, 1
  br label %khead
node_end:
  br label %head
}

; The fields of a call's context: 64-bit integers, addresses or counts (see CONTEXT).
define i32* @ints(i64* %ctx, i32 %k) {
  %p = getelementptr i64, i64* %ctx, i32 %k
  %a = load i64, i64* %p
  %r = inttoptr i64 %a to i32*
  ret i32* %r
}

define double* @reals(i64* %ctx, i32 %k) {
  %p = getelementptr i64, i64* %ctx, i32 %k
  %a = load i64, i64* %p
  %r = inttoptr i64 %a to double*
  ret double* %r
}

define double @number(double* %H, i32 %k) {
  %p = getelementptr double, double* %H, i32 %k
  %x = load double, double* %p
  ret double %x
}

define i32 @count(i64* %ctx, i32 %k) {
  %p = getelementptr i64, i64* %ctx, i32 %k
  %a = load i64, i64* %p
  %r = trunc i64 %a to i32
  ret i32 %r
}

; One call: forward from node %first; at a node it does not compute, its index. Else the
; grads G[zero..slots) = 0, G[root] += 1, backward, the loss into H[0], the update (kind).
define i32 @run(i64* %ctx, i32 %first, i32 %kind) {
entry:
  %op = call i32* @ints(i64* %ctx, i32 0)
  %out = call i32* @ints(i64* %ctx, i32 1)
  %start = call i32* @ints(i64* %ctx, i32 2)
  %args = call i32* @ints(i64* %ctx, i32 3)
  %D = call double* @reals(i64* %ctx, i32 4)
  %G = call double* @reals(i64* %ctx, i32 5)
  %L = call double* @reals(i64* %ctx, i32 6)
  %H = call double* @reals(i64* %ctx, i32 9)
  %n = call i32 @count(i64* %ctx, i32 10)
  %slots = call i32 @count(i64* %ctx, i32 11)
  %zero = call i32 @count(i64* %ctx, i32 12)
  %root = call i32 @count(i64* %ctx, i32 13)
  %skip = call i32 @count(i64* %ctx, i32 15)
  %skipped = call i32 @count(i64* %ctx, i32 16)
  %K = call double* @reals(i64* %ctx, i32 17)
  %at = call i32 @forward(i32* %op, i32* %out, i32* %start, i32* %args, double* %D,
                          double* %L, double* %K, i32 %first, i32 %n)
  %ran = icmp slt i32 %at, 0
  br i1 %ran, label %clear, label %stop
stop:
  ret i32 %at
clear:
  br label %zero_head
zero_head:
  %z = phi i32 [%zero, %clear], [%znext, %zero_body]
  %zm = icmp slt i32 %z, %slots
  br i1 %zm, label %zero_body, label %seed
zero_body:
  %zp = getelementptr double, double* %G, i32 %z
  store double 0.0, double* %zp
  %znext = add i32 %z, 1
  br label %zero_head
seed:
  %rp = getelementptr double, double* %G, i32 %root
  %rg = load double, double* %rp
  %rg1 = fadd double %rg, 1.0
  store double %rg1, double* %rp
  call void @backward(i32* %out, i32* %start, i32* %args, double* %G, double* %L, i32 %n,
                       i32 %skip, i32 %skipped)
  %lp = getelementptr double, double* %D, i32 %root
  %loss = load double, double* %lp
  store double %loss, double* %H
  call void @update(i64* %ctx, i32 %kind)
  ret i32 -1
}

; The optimiser's update of parameters 0..P-1 (kind 0: none), optim.py's operations in its
; order: 1 SGD p - lr*g; 2 momentum v = mu*v + g, p - lr*v; 3 Adam, 4 with L2 decay
; g + decay*p, 5 AdamW p*(1 - lr*decay): m + (1-b1)*(g - m), v*b2 + ((1-b2)*g)*g,
; p - (step*m) / (sqrt(v)/rc + eps). H: loss, lr, mu, 1-b1, b2, 1-b2, eps, decay,
; 1-lr*decay, step, rc.
define void @update(i64* %ctx, i32 %kind) {
entry:
  %D = call double* @reals(i64* %ctx, i32 4)
  %G = call double* @reals(i64* %ctx, i32 5)
  %S1 = call double* @reals(i64* %ctx, i32 7)
  %S2 = call double* @reals(i64* %ctx, i32 8)
  %H = call double* @reals(i64* %ctx, i32 9)
  %P = call i32 @count(i64* %ctx, i32 14)
  %lr = call double @number(double* %H, i32 1)
  %mu = call double @number(double* %H, i32 2)
  %c1 = call double @number(double* %H, i32 3)
  %beta2 = call double @number(double* %H, i32 4)
  %c2 = call double @number(double* %H, i32 5)
  %eps = call double @number(double* %H, i32 6)
  %decay = call double @number(double* %H, i32 7)
  %shrink = call double @number(double* %H, i32 8)
  %step = call double @number(double* %H, i32 9)
  %rc = call double @number(double* %H, i32 10)
  br label %head
head:
  %i = phi i32 [0, %entry], [%inext, %next]
  %more = icmp slt i32 %i, %P
  br i1 %more, label %body, label %done
done:
  ret void
body:
  %pp = getelementptr double, double* %D, i32 %i
  %p = load double, double* %pp
  %gp = getelementptr double, double* %G, i32 %i
  %g = load double, double* %gp
  %s1p = getelementptr double, double* %S1, i32 %i
  %s2p = getelementptr double, double* %S2, i32 %i
  switch i32 %kind, label %done [
    i32 1, label %sgd
    i32 2, label %momentum
    i32 3, label %adam_plain
    i32 4, label %adam_l2
    i32 5, label %adamw ]
sgd:
  %lg = fmul double %lr, %g
  %p_sgd = fsub double %p, %lg
  store double %p_sgd, double* %pp
  br label %next
momentum:
  %v0 = load double, double* %s1p
  %mv = fmul double %mu, %v0
  %v1 = fadd double %mv, %g
  store double %v1, double* %s1p
  %lv = fmul double %lr, %v1
  %p_mom = fsub double %p, %lv
  store double %p_mom, double* %pp
  br label %next
adam_plain:
  br label %adam
adam_l2:
  %dp = fmul double %decay, %p
  %g_l2 = fadd double %g, %dp
  br label %adam
adamw:
  %p_w = fmul double %p, %shrink
  br label %adam
adam:
  %ga = phi double [%g, %adam_plain], [%g_l2, %adam_l2], [%g, %adamw]
  %pa = phi double [%p, %adam_plain], [%p, %adam_l2], [%p_w, %adamw]
  %m = load double, double* %s1p
  %gm = fsub double %ga, %m
  %cm = fmul double %c1, %gm
  %m1 = fadd double %m, %cm
  store double %m1, double* %s1p
  %w = load double, double* %s2p
  %wb = fmul double %w, %beta2
  %cg = fmul double %c2, %ga
  %cgg = fmul double %cg, %ga
  %w1 = fadd double %wb, %cgg
  store double %w1, double* %s2p
  %sq = call double @llvm.sqrt.f64(double %w1)
  %sr = fdiv double %sq, %rc
  %den = fadd double %sr, %eps
  %num = fmul double %step, %m1
  %up = fdiv double %num, %den
  %p_adam = fsub double %pa, %up
  store double %p_adam, double* %pp
  br label %next
next:
  %inext = add i32 %i, 1
  br label %head
}
"""

_RUN = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32)
_UPDATE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int32)
_machine: tuple[Any, Any, Any] | None = None  # (engine, run, update), made once

#: The fields of a call's context, 64-bit integers in this order: the tape's arrays, D, G, L,
#: the optimiser's state S1 and S2, its numbers H, the node count n, the slots, the first
#: slot whose grad starts at 0, the root's slot, the parameters' count P, and the slots
#: skip..skip+skipped-1 whose grads no one reads (a trainer's inputs and other leaves), and
#: the nodes' params K.
CONTEXT = ("op", "out", "start", "args", "D", "G", "L", "S1", "S2", "H", "n", "slots", "zero",
           "root", "P", "skip", "skipped", "K")
_NUMBERS = 11  # H: loss, lr, mu, 1-b1, b2, 1-b2, eps, decay, 1-lr*decay, step, rc
NONE, SGD_PLAIN, SGD_MOMENTUM, ADAM, ADAM_L2, ADAMW = range(6)  # update kinds


def _llvm() -> Any:
    """llvmlite.binding, or ImportError naming the extra that installs it."""
    try:
        import llvmlite.binding as llvm  # type: ignore[import-untyped]
    except ImportError as err:
        raise ImportError(f"backend='native' needs llvmlite: {EXTRA}") from err
    return llvm


def _functions() -> tuple[Any, Any]:
    """run and update as machine code: compiled once per process (generic CPU: no FMA)."""
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
        run = _RUN(engine.get_function_address("run"))
        update = _UPDATE(engine.get_function_address("update"))
        _machine = (engine, run, update)
    return _machine[1], _machine[2]


def _address(buffer: array[Any]) -> int:
    return buffer.buffer_info()[0]


def _doubles(count: int) -> array[float]:
    return array("d", bytes(8 * max(1, count)))


#: The compiler's check of a graph's ops against the registry (RegistryChanged), passed in.
Check = Callable[[Iterable[tuple[str, ops.Op]]], None]


# A python node: the op's forward and derivative, its params, its operands' slots, its slot,
# and where its local grads go in L.
PythonNode = tuple[Callable[..., Any], Callable[..., Any], Any, list[int], int, int, int]


class _Tape:
    """A graph as the loops read it, in one pass over its nodes.

    Slots: the leaves ``first`` (in order), the graph's other leaves, then the interior nodes,
    children first. Per interior node: its op code (PYTHON where Python computes it), the
    slot of its value, its operands' slots args[start[i]:start[i+1]], its param (PARAMS).
    """

    def __init__(self, root: Value, first: Sequence[Value] = ()) -> None:
        order = topological_order(root)
        order.reverse()  # children first
        nodes = [node for node in order if node.op]
        slot = dict(zip(first, range(len(first))))
        others = [node for node in order if not node.op and node not in slot]
        leaves = [*first, *others]
        slot.update(zip(others, range(len(first), len(leaves))))
        base = len(leaves)
        slot.update(zip(nodes, range(base, base + len(nodes))))
        self.root, self.nodes, self.leaves = root, nodes, leaves
        self.args = array("i", [slot[child] for node in nodes for child in node.children])
        self.start = array("i", [0, *accumulate([len(node.children) for node in nodes])])
        self.out = array("i", range(base, base + len(nodes)))
        self.ops = {name: ops.get(name) for name in {node.op for node in nodes}}
        code = {name: CODES[name] if name in CODES and op.builtin
                and set(op.params) == ({PARAMS[name]} if name in PARAMS else set()) else PYTHON
                for name, op in self.ops.items()}
        self.codes = array("i", [code[node.op] for node in nodes])
        native = {name for name in PARAMS if code.get(name, PYTHON) != PYTHON}
        self.params = array("d", [node.params[PARAMS[node.op]] if node.op in native else 0.0
                                  for node in nodes] if native else [0.0])
        self.python: dict[int, PythonNode] = {}
        if PYTHON in code.values():
            start, args = self.start, self.args
            for i, node in enumerate(nodes):
                if code[node.op] == PYTHON:
                    op, s, e = self.ops[node.op], start[i], start[i + 1]
                    self.python[i] = (op.forward, op.derivative, node.params,
                                      args[s:e].tolist(), base + i, s, e)
        self.root_slot = slot[root]
        self.slots = len(slot)

    def context(self, D: array[float], G: array[float], L: array[float], S1: array[float],
                S2: array[float], H: array[float], zero: int, params: int,
                skip: int) -> array[int]:
        """The fields CONTEXT names, for one call's arrays; the grads of the leaves from slot
        ``skip`` on are not computed."""
        arrays: list[array[Any]] = [self.codes, self.out, self.start, self.args,
                                    D, G, L, S1, S2, H]
        skipped = len(self.leaves) - skip
        return array("q", [*map(_address, arrays), len(self.nodes), self.slots, zero,
                           self.root_slot, params, skip, skipped, _address(self.params)])

    def compute(self, at: int, D: array[float], L: array[float]) -> bool:
        """Node ``at`` by Python, as apply() makes it, into D and L: True, or False where the
        node is not a python node (an op that must raise) or its op raised."""
        node = self.python.get(at)
        if node is None:
            return False
        forward, derivative, params, operands, out, s, e = node
        xs = [D[a] for a in operands]
        try:
            y = forward(*xs, **params) if params else forward(*xs)
            D[out] = y if y.__class__ is float else as_float(y)  # as Value(y)
            local = derivative(*xs, y, **params) if params else derivative(*xs, y)
            if len(local) != e - s:
                return False
            L[s:e] = array("d", local)
        except Exception:  # the caller's Python backend raises it where eager does
            return False
        return True

    def text(self, skip: int | None = None) -> str:
        """The tape as a learner reads it: the forward pass node by node, then the backward
        pass, the chain rule unrolled (the grads of leaves from slot ``skip`` on not computed)."""
        count, skip = len(self.leaves), len(self.leaves) if skip is None else skip
        names = walk(self.root).names
        lines = [f"# tape of {len(self.nodes)} nodes over {count} leaves: D[slot] a value, "
                 "G[slot] its grad, L[k] a local grad",
                 "# forward, first node to last: D[node] = op(D[operands]), "
                 "L[k] = ∂node/∂operand k"]
        lines += [f"D[{i}] = {names[leaf]}" for i, leaf in enumerate(self.leaves)]
        for i, node in enumerate(self.nodes):
            s, e = self.start[i], self.start[i + 1]
            operands = ", ".join([f"D[{a}]" for a in self.args[s:e]]
                                 + [f"{k}={v:g}" for k, v in node.params.items()])
            local = f"L[{s}]" if e - s == 1 else f"L[{s}:{e}]"
            by = "  (Python)" if i in self.python else ""
            lines.append(f"D[{self.out[i]}] = {node.op}({operands})  # {names[node]}, "
                         f"{local}{by}")
        lines.append("# backward, last node to first: G[operand] += L[k] * G[node]")
        lines.append(f"G[{self.root_slot}] += 1.0")
        for i in reversed(range(len(self.nodes))):
            lines += [f"G[{a}] += L[{k}] * G[{self.out[i]}]"
                      for k in range(self.start[i], self.start[i + 1])
                      if not skip <= (a := self.args[k]) < count]
        return "\n".join(lines)


class NativeGraph:
    """A graph replayed natively: ``g()``, ``g.leaves``, ``g.sync()``, as CompiledGraph's."""

    def __init__(self, tape: _Tape, python: Callable[[Value], Any],
                 check: Check) -> None:
        self.root = tape.root
        self._tape = tape
        self._compile_python, self._check = python, check  # the compiler's, passed in
        self._leaves = tuple(tape.leaves)
        self._D, self._G = _doubles(tape.slots), _doubles(tape.slots)
        self._L, self._H = _doubles(len(tape.args)), _doubles(_NUMBERS)
        count = len(self._leaves)
        self._ctx = tape.context(self._D, self._G, self._L, self._H, self._H, self._H,
                                 count, 0, count)
        self._python: Any = None  # the Python backend's graph, for calls the loops do not run
        self._called = False
        self._run = _functions()[0]

    @property
    def leaves(self) -> tuple[Value, ...]:
        """The leaves the graph reads, in slot order."""
        return self._leaves

    @property
    def source(self) -> str:
        """The tape: the forward pass node by node, then the backward pass, the chain rule
        unrolled (G[operand] += L[k] · G[node])."""
        return self._tape.text()

    tape = source

    def _fallback(self) -> float:
        if self._python is None:
            self._python = self._compile_python(self.root)
        result: float = self._python()
        self._called = False
        return result

    def __call__(self) -> float:
        """Recompute every node from the leaves' .data, add ∂root/∂leaf into each leaf's .grad."""
        tape = self._tape
        self._check(tape.ops.items())
        leaves, count = self._leaves, len(self._leaves)
        data = [leaf.data for leaf in leaves]
        grads = [leaf.grad for leaf in leaves]
        if any(x.__class__ is not float for x in data) or any(
                x.__class__ is not float for x in grads):
            return self._fallback()
        D, G, L, run, ctx = self._D, self._G, self._L, self._run, _address(self._ctx)
        D[:count] = array("d", data)
        G[:count] = array("d", grads)
        at = run(ctx, 0, NONE)
        while at >= 0:  # a node Python computes; or an op's error, raised by the Python backend
            if not tape.compute(at, D, L):
                return self._fallback()
            at = run(ctx, at + 1, NONE)
        for leaf, g in zip(leaves, G[:count].tolist()):
            leaf.grad = g
        self._called = True
        return self._H[0]

    def sync(self) -> None:
        """Write into every interior node its data, local_grads and grad of the latest call."""
        if not self._called:
            if self._python is not None:
                self._python.sync()
            return
        D, G, L, tape = self._D, self._G, self._L, self._tape
        for i, node in enumerate(tape.nodes):
            slot = tape.out[i]
            node.data, node.grad = D[slot], G[slot]
            node.local_grads = tuple(L[tape.start[i]:tape.start[i + 1]])

    def __repr__(self) -> str:
        return (f"<NativeGraph of {self.root!r}: {len(self._leaves)} leaves, "
                f"{len(self._tape.nodes)} nodes>")


def compile_native(root: Value, python: Callable[[Value], Any],
                   check: Check) -> NativeGraph:
    """Record root's graph as a tape and replay it natively.

    python compiles a graph with the Python backend (for the calls the loops do not run);
    check raises RegistryChanged for an op registered anew after compile() (the compiler's,
    passed in: no import circle).
    """
    _llvm()  # the extra's error, before any work
    return NativeGraph(_Tape(root), python, check)


# ---- a training step: the parameters and the optimiser's state in arrays -------------------


def _rule(optimizer: Optimizer) -> str:
    """How a step updates: "sgd" or "adam" in the loops (optim.py's rule, not overridden), or
    "python": optimizer.update on lists."""
    kind = type(optimizer)
    if isinstance(optimizer, SGD) and kind.update is SGD.update:
        return "sgd"
    if isinstance(optimizer, Adam) and kind.update is Adam.update:
        return "adam"
    return "python"


class NativeTrainer:
    """compiler.Trainer(optimizer, backend="native")'s engine: one D and G array for all its
    steps, the parameters in slots 0..P-1 (then each step's inputs, other leaves and nodes:
    scratch, as one step runs at a time), the optimiser's state in arrays S1, S2."""

    def __init__(self, optimizer: Optimizer, replay: Callable[[Value, list[Value]], Any],
                 check: Check) -> None:
        _llvm()  # the extra's error, before any work
        self.optimizer = optimizer
        self.params: list[Value] = list(optimizer.params)
        self._replay, self._check = replay, check  # the compiler's, passed in
        count = len(self.params)
        self._D, self._G, self._L = _doubles(count), _doubles(count), _doubles(1)
        self._S1, self._S2, self._H = _doubles(count), _doubles(count), _doubles(_NUMBERS)
        self._rule = _rule(optimizer)
        self._arrays = 0  # counts the times D, G or L were made anew (steps rebind)
        self._stepped = False
        self._run, self._update = _functions()
        self.load()

    def compile(self, loss: Value, inputs: Sequence[Value]) -> NativeStep:
        """loss's graph as one training step: parameters, then inputs, in the first slots."""
        tape = _Tape(loss, [*self.params, *inputs])
        count = len(self.params)
        if tape.slots > len(self._D):
            D, G = self._D, self._G
            self._D, self._G = _doubles(tape.slots), _doubles(tape.slots)
            self._D[:count], self._G[:count] = D[:count], G[:count]
            self._arrays += 1
        if len(tape.args) > len(self._L):
            self._L = _doubles(len(tape.args))
            self._arrays += 1
        return NativeStep(self, tape, len(inputs))

    @property
    def grads(self) -> list[float]:
        """The parameters' grads of the latest step (zeros before the first)."""
        count = len(self.params)
        return self._G[:count].tolist() if self._stepped else [0.0] * count

    def load(self) -> None:
        """Take the parameters' data from their Values again, and the optimiser's state."""
        self._D[:len(self.params)] = array("d", [
            as_float(p.data, f"Trainer: parameter {i} data") for i, p in enumerate(self.params)])
        state = self.optimizer.state() if self._rule != "python" else {}
        for key, buffer in (("velocity", self._S1), ("m", self._S1), ("v", self._S2)):
            if key in state:
                buffer[:len(self.params)] = array("d", state[key])

    def sync(self) -> None:
        """Write each parameter's data, and its grad of the latest step, into its Value, and
        the optimiser's state into the optimiser."""
        count = len(self.params)
        for p, x in zip(self.params, self._D[:count].tolist()):
            p.data = x
        if self._stepped:
            for p, g in zip(self.params, self._G[:count].tolist()):
                p.grad = g
        if self._rule == "python":
            return
        keys = self.optimizer.state().keys()
        buffers = {"velocity": self._S1, "m": self._S1, "v": self._S2}
        self.optimizer.load_state({key: buffers[key][:count].tolist() for key in keys})

    def _adam(self, ctx: int) -> None:
        """Adam's update in the loops, with the schedule of optimizer.advance()."""
        opt, H = self.optimizer, self._H
        assert isinstance(opt, Adam)
        lr, (beta1, beta2), eps, decay = opt.lr, opt.betas, opt.eps, opt.weight_decay
        H[9], H[10] = opt.advance()
        H[1], H[3], H[4], H[5], H[6] = lr, 1.0 - beta1, beta2, 1.0 - beta2, eps
        H[7], H[8] = decay, 1.0 - lr * decay
        self._update(ctx, ADAM if not decay else ADAMW if opt.decoupled else ADAM_L2)

    def _python_update(self) -> None:
        """A user's rule: optimizer.update on lists copied from the arrays, and back."""
        count = len(self.params)
        data = self._D[:count].tolist()
        self.optimizer.update(data, self._G[:count].tolist())
        self._D[:count] = array("d", [x if x.__class__ is float else as_float(
            x, f"Trainer: {type(self.optimizer).__name__}.update data[{i}]")
            for i, x in enumerate(data[:count])])


class NativeStep:
    """One recorded training step of a native Trainer: ``step(x)`` or ``step()``, the loss
    (before the update)."""

    __slots__ = ("trainer", "_tape", "_inputs", "_leaves", "_others", "_pack", "_ctx",
                 "_arrays", "_replayed")

    def __init__(self, trainer: NativeTrainer, tape: _Tape, inputs: int) -> None:
        self.trainer, self._tape = trainer, tape
        count = len(trainer.params)
        self._inputs = (count, count + inputs)  # the slots of the inputs
        self._leaves = tape.leaves[count:]  # the inputs and the other leaves
        self._others = tape.leaves[count + inputs:]
        self._pack = struct.Struct(f"={inputs}d").pack_into
        self._ctx = array("q")
        self._arrays = -1
        self._replayed: Any = None

    @property
    def source(self) -> str:
        """The tape (parameters first, then the inputs; only the parameters' grads computed)."""
        count = len(self.trainer.params)
        rule = type(self.trainer.optimizer).__name__
        return (self._tape.text(skip=count) + f"\n# then {rule}'s update of the parameters "
                f"D[0:{count}] from their grads G[0:{count}]")

    tape = source

    def _read(self, D: array[float], leaves: list[Value], at: int) -> None:
        """The leaves' data into D[at:], as floats."""
        data = [leaf.data for leaf in leaves]
        for x in data:
            if x.__class__ is not float:
                names = walk(self._tape.root).names
                data = [as_float(x, f"compiled step: leaf {names[leaf]!r}")
                        for x, leaf in zip(data, leaves)]
                break
        D[at:at + len(data)] = array("d", data)

    def __call__(self, x: Sequence[float] | None = None) -> float:
        """Grads to 0, forward, backward, the optimiser's update; the loss (before it).

        x: the inputs' values, in order (array('d') or a list of floats); without it, the
        inputs' leaves are read.
        """
        trainer, tape = self.trainer, self._tape
        trainer._check(tape.ops.items())
        if self._arrays != trainer._arrays:
            self._ctx = tape.context(trainer._D, trainer._G, trainer._L, trainer._S1,
                                     trainer._S2, trainer._H, 0, len(trainer.params),
                                     len(trainer.params))
            self._arrays = trainer._arrays
        D, (first, stop) = trainer._D, self._inputs
        if x is None:
            self._read(D, self._leaves, first)
        else:
            if isinstance(x, array) and x.typecode == "d" and len(x) == stop - first:
                D[first:stop] = x
            else:  # (pack_into: the fastest copy of a list of floats into D)
                self._pack(D, 8 * first, *as_floats(x, stop - first, "step: x"))
            if self._others:
                self._read(D, self._others, stop)
        rule, H = trainer._rule, trainer._H
        kind = NONE
        if rule == "sgd":
            opt = trainer.optimizer
            assert isinstance(opt, SGD)
            H[1], H[2] = opt.lr, opt.momentum
            kind = SGD_PLAIN if opt.momentum == 0.0 else SGD_MOMENTUM
        ctx, run = _address(self._ctx), trainer._run
        at = run(ctx, 0, kind)
        while at >= 0:  # a node Python computes; or an op's error, raised as eager raises it
            if not tape.compute(at, D, trainer._L):
                self._raise(at)
            at = run(ctx, at + 1, kind)
        if rule == "adam":
            trainer._adam(ctx)
        elif rule == "python":
            trainer._python_update()
        trainer._stepped = True
        return H[0]

    def _raise(self, at: int) -> None:
        """The error of node ``at``, raised by the Python backend on this step's data."""
        stop = self._inputs[1]
        if self._replayed is None:
            self._replayed = self.trainer._replay(self._tape.root, self._tape.leaves[:stop])
        self._replayed(self.trainer._D[:stop].tolist())
        node = self._tape.nodes[at]
        raise RuntimeError(f"native step: op {node.op!r} failed here but not on the Python "
                           "backend")

    def __repr__(self) -> str:
        return (f"<NativeStep of {self._tape.root!r}: {len(self.trainer.params)} parameters, "
                f"{len(self._leaves)} other leaves>")
