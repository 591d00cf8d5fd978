// Package transform holds the interpreters that rewrite programs by applying
// the primitives' rules: JVP (forward mode), VJP (linearize, then transpose),
// Vmap (batching), Unbatch (the batch-independence check), Simplify and the
// cost model. Every transform returns an ordinary program, so they compose to
// any depth.
package transform

import (
	"errors"
	"fmt"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
)

// rules returns the rules of e's primitive, its own and those its
// families derive.
func rules(e *ir.Eqn) (op.Rules, error) { return op.RulesOf(e.Prim) }

// JVP returns the forward-mode program of p. Its inputs are p's inputs
// followed by one tangent for each input i with wrt[i]; its outputs are p's
// outputs followed by their tangents.
func JVP(p *ir.Program, wrt []bool) (*ir.Program, error) {
	if len(wrt) != len(p.In) {
		return nil, fmt.Errorf("jvp: %d flags for %d inputs", len(wrt), len(p.In))
	}
	b := ir.NewBuilder(nil)
	args := make([]*ir.Var, len(p.In))
	for i, v := range p.In {
		args[i] = b.InputLike(v)
	}
	tans := make([]*ir.Var, len(p.In))
	for i, v := range p.In {
		if wrt[i] {
			tans[i] = b.InputLike(v)
		}
	}
	outs, outTans, err := jvpEmit(b, p, args, tans)
	if err != nil {
		return nil, err
	}
	for i, v := range p.Out {
		outs = append(outs, op.OrZeros(b, outTans[i], v.DType, v.Shape))
	}
	return b.Build(outs...)
}

// jvpEmit emits into b the forward-mode pass of p at args with input
// tangents tans (nil: zero) and returns p's outputs and their tangents
// (nil where symbolically zero).
func jvpEmit(b *ir.Builder, p *ir.Program, args, tans []*ir.Var) (outs, outTans []*ir.Var, err error) {
	env := make(map[*ir.Var]*ir.Var, len(p.In)+len(p.Eqns))
	tan := make(map[*ir.Var]*ir.Var, len(p.In)+len(p.Eqns))
	for i, v := range p.In {
		env[v] = args[i]
		if tans[i] != nil {
			tan[v] = tans[i]
		}
	}
	src := b.Src
	for _, e := range p.Eqns {
		r, err := rules(e)
		if err != nil {
			return nil, nil, err
		}
		b.Src = e.Src
		in := make([]*ir.Var, len(e.In))
		ts := make([]*ir.Var, len(e.In))
		any := false
		for i, v := range e.In {
			in[i] = env[v]
			ts[i] = tan[v]
			any = any || ts[i] != nil
		}
		out := b.Emit(e.Prim, in...)
		env[e.Out] = out
		if any {
			if t := r.JVP(b, in, out, ts); t != nil {
				tan[e.Out] = t
			}
		}
	}
	b.Src = src
	outs = make([]*ir.Var, len(p.Out))
	outTans = make([]*ir.Var, len(p.Out))
	for i, v := range p.Out {
		outs[i], outTans[i] = env[v], tan[v]
	}
	return outs, outTans, nil
}

// VJP returns the reverse-mode program of p, built by linearizing p (its JVP)
// and transposing the linear part. Its inputs are p's inputs followed by one
// cotangent per output; its outputs are p's outputs followed by the
// cotangent of each input i with wrt[i].
func VJP(p *ir.Program, wrt []bool) (*ir.Program, error) {
	// Shared subexpressions first: a program that computes one value twice
	// (a loss that takes two derivatives of one network, each transform
	// tracing the network anew) would get a reverse pass for each copy,
	// which no later sharing merges, as their cotangents differ.
	p, err := Simplify(p)
	if err != nil {
		return nil, err
	}
	jp, err := JVP(p, wrt)
	if err != nil {
		return nil, err
	}
	n := len(p.In)
	linear := map[*ir.Var]bool{}
	for _, v := range jp.In[n:] {
		linear[v] = true
	}
	isLinear := make([]bool, len(jp.Eqns))
	for k, e := range jp.Eqns {
		var lin op.Linear
		for i, v := range e.In {
			if !linear[v] {
				continue
			}
			if lin == nil {
				l, ok := e.Prim.(op.Linear)
				if !ok {
					return nil, fmt.Errorf("vjp: tangent flows into non-linear %s (internal error)", e.Prim.Name())
				}
				lin = l
			}
			if !lin.LinearIn(i) {
				return nil, fmt.Errorf("vjp: tangent flows into non-linear input %d of %s (internal error)", i, e.Prim.Name())
			}
		}
		if lin != nil {
			isLinear[k] = true
			linear[e.Out] = true
		}
	}

	b := ir.NewBuilder(nil)
	env := make(map[*ir.Var]*ir.Var, len(jp.In)+len(jp.Eqns))
	for _, v := range jp.In[:n] {
		env[v] = b.InputLike(v)
	}
	cts := make([]*ir.Var, len(p.Out))
	for i, v := range p.Out {
		cts[i] = b.InputLike(v)
	}
	for k, e := range jp.Eqns {
		if isLinear[k] {
			continue
		}
		args := make([]*ir.Var, len(e.In))
		for i, v := range e.In {
			args[i] = env[v]
		}
		b.Src = e.Src
		env[e.Out] = b.Emit(e.Prim, args...)
	}
	ct := make(map[*ir.Var]*ir.Var, len(jp.Eqns))
	for i, v := range jp.Out[len(p.Out):] {
		if linear[v] {
			ct[v] = op.AddZ(b, ct[v], cts[i])
		}
	}
	for k := len(jp.Eqns) - 1; k >= 0; k-- {
		e := jp.Eqns[k]
		c := ct[e.Out]
		if !isLinear[k] || c == nil {
			continue
		}
		b.Src = e.Src
		args := make([]*ir.Var, len(e.In))
		shapes := make([][]int, len(e.In))
		mask := make([]bool, len(e.In))
		for i, v := range e.In {
			shapes[i] = v.Shape
			if linear[v] {
				mask[i] = true
			} else {
				args[i] = env[v]
			}
		}
		res := e.Prim.(op.Linear).Transpose(b, c, args, shapes, mask)
		for i, v := range e.In {
			if mask[i] && res[i] != nil {
				ct[v] = op.AddZ(b, ct[v], res[i])
			}
		}
	}
	b.Src = ""
	var outs []*ir.Var
	for _, v := range jp.Out[:len(p.Out)] {
		o, ok := env[v]
		if !ok {
			return nil, errors.New("vjp: an output depends on tangents only (internal error)")
		}
		outs = append(outs, o)
	}
	for _, v := range jp.In[n:] {
		outs = append(outs, op.OrZeros(b, ct[v], v.DType, v.Shape))
	}
	return b.Build(outs...)
}

// Vmap returns p mapped over a new leading axis of size n: inputs with
// batched[i] carry that axis, the others are shared by every entry; every
// output carries it.
func Vmap(p *ir.Program, batched []bool, n int) (*ir.Program, error) {
	if len(batched) != len(p.In) {
		return nil, fmt.Errorf("vmap: %d flags for %d inputs", len(batched), len(p.In))
	}
	b := ir.NewBuilder(nil)
	env := make(map[*ir.Var]*ir.Var, len(p.In)+len(p.Eqns))
	bat := make(map[*ir.Var]bool, len(p.In)+len(p.Eqns))
	for i, v := range p.In {
		if batched[i] {
			env[v] = b.InputOf(v.DType, append([]int{n}, v.Shape...))
			bat[v] = true
		} else {
			env[v] = b.InputLike(v)
		}
	}
	for _, e := range p.Eqns {
		r, err := rules(e)
		if err != nil {
			return nil, err
		}
		b.Src = e.Src
		args := make([]*ir.Var, len(e.In))
		flags := make([]bool, len(e.In))
		any := false
		for i, v := range e.In {
			args[i] = env[v]
			flags[i] = bat[v]
			any = any || flags[i]
		}
		if !any {
			env[e.Out] = b.Emit(e.Prim, args...)
			continue
		}
		env[e.Out] = r.Batch(b, args, flags, n)
		bat[e.Out] = true
	}
	b.Src = ""
	outs := make([]*ir.Var, len(p.Out))
	for i, v := range p.Out {
		if bat[v] {
			outs[i] = env[v]
		} else {
			outs[i] = op.BroadcastBatch(b, env[v], n)
		}
	}
	return b.Build(outs...)
}
