package transform

import (
	"container/heap"
	"slices"

	"github.com/jacobi-ad/jacobi/internal/workcount"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Bounds on what linear folding considers: the width of the value a chain
// starts from, and the size of the matrices it may create.
const (
	foldMaxIn   = 64
	foldMaxSize = 1 << 16
)

// foldLinear replaces chains of equations that are linear in one small value
// v, with constants as their only other operands, by one product per value
// the chain hands on: u = v·M, M computed once here from the chain itself.
//
// Such chains are what derivatives leave around the last layer of a network:
// forward mode's Jacobian of a 5-2-10 MLP is
// transpose((W₁ᵀ ⊙ σ'(z)) W₂), linear in the two values σ'(z), and folds into
// one product with a 2×50 matrix that writes the Jacobian in place. A value
// is folded only when the cost model finds its product cheaper than the
// equations it makes dead, counting the elements they write as well as
// their FLOPs; the others are left to the chain.
func foldLinear(p *ir.Program) (*ir.Program, bool, error) {
	defAt := make(map[*ir.Var]int, len(p.Eqns))
	konst := make(map[*ir.Var]bool, len(p.Eqns))
	users := make(map[*ir.Var][]int, len(p.In)+len(p.Eqns)) // the equations that use a value, in order
	isOut := make(map[*ir.Var]bool, len(p.Out))
	for _, v := range p.Out {
		isOut[v] = true
	}
	for i, e := range p.Eqns {
		defAt[e.Out] = i
		// A generated basis is not folded: Simplify has made the small
		// ones constants, and the others are too large to evaluate here.
		_, generated := e.Prim.(op.Generator)
		k := !generated
		for j, v := range e.In {
			if !slices.Contains(e.In[:j], v) {
				users[v] = append(users[v], i)
			}
			k = k && konst[v]
		}
		if k {
			konst[e.Out] = true
		}
	}

	var folds []linearFold
	taken := map[*ir.Var]bool{}
	try := func(v *ir.Var) {
		if konst[v] || taken[v] || v.Size() > foldMaxIn || len(users[v]) == 0 {
			return
		}
		f, ok := linearChain(p, v, konst, users, isOut)
		if !ok {
			return
		}
		for _, k := range f.chain {
			taken[p.Eqns[k].Out] = true
		}
		folds = append(folds, f)
	}
	for _, v := range p.In {
		try(v)
	}
	for _, e := range p.Eqns {
		try(e.Out)
	}
	if len(folds) == 0 {
		return p, false, nil
	}

	// Each folded value u becomes reshape(reshape(v, 1×n) · M, shape(u)).
	values := &constValues{p: p, defAt: defAt, val: map[*ir.Var]*tensor.Tensor{}}
	replace := map[*ir.Var]func(b *ir.Builder, env map[*ir.Var]*ir.Var) *ir.Var{}
	for _, f := range folds {
		ms, err := f.matrices(p, values)
		if err != nil {
			return nil, false, err
		}
		for j, u := range f.outs {
			v, m := f.in, ms[j]
			replace[u] = func(b *ir.Builder, env map[*ir.Var]*ir.Var) *ir.Var {
				row := b.Emit(op.Reshape{Shape: []int{1, v.Size()}}, env[v])
				prod := b.Emit(op.MatMul{}, row, b.Emit(op.Constant{Value: m}))
				return b.Emit(op.Reshape{Shape: append([]int{}, u.Shape...)}, prod)
			}
		}
	}
	b := ir.NewBuilder(nil)
	env := map[*ir.Var]*ir.Var{}
	for _, v := range p.In {
		env[v] = b.InputLike(v)
	}
	for _, e := range p.Eqns {
		b.Src = e.Src
		if r, ok := replace[e.Out]; ok {
			env[e.Out] = r(b, env)
			continue
		}
		in := make([]*ir.Var, len(e.In))
		for i, v := range e.In {
			in[i] = env[v]
		}
		env[e.Out] = b.Emit(e.Prim, in...)
	}
	outs := make([]*ir.Var, len(p.Out))
	for i, v := range p.Out {
		outs[i] = env[v]
	}
	q, err := b.Build(outs...)
	if err != nil {
		return nil, false, err
	}
	return DeadCode(q), true, nil
}

// linearFold is a chain of equations linear in the value in, and the values
// of the chain that equations outside it (or the program's outputs) need.
type linearFold struct {
	in    *ir.Var
	chain []int // equation indices, in order
	outs  []*ir.Var
}

// foldMaxChain bounds the equations of one chain, so that the walks from
// every value of a long linear chain do not add up to its length squared.
const foldMaxChain = 256

// linearChain collects the equations that are linear in v with constant
// other operands, and decides whether folding them pays. It visits only
// the equations that use v or the chain's values, in program order (a
// heap of their indices): its time is the chain's, not the program's.
func linearChain(p *ir.Program, v *ir.Var, konst map[*ir.Var]bool, users map[*ir.Var][]int, isOut map[*ir.Var]bool) (linearFold, bool) {
	f := linearFold{in: v}
	dep := map[*ir.Var]bool{v: true}
	outside := map[*ir.Var]bool{} // dependent values used outside the chain
	queued := map[int]bool{}
	var next indexHeap
	enqueue := func(u *ir.Var) {
		for _, k := range users[u] {
			if !queued[k] {
				queued[k] = true
				heap.Push(&next, k)
			}
		}
	}
	enqueue(v)
	// Every operand of an equation is defined before it, so when an
	// equation comes off the heap its operands from the chain are known.
	for next.Len() > 0 {
		k := heap.Pop(&next).(int)
		workcount.Add(1)
		e := p.Eqns[k]
		if !linearIn(e, dep, konst) {
			for _, x := range e.In {
				if dep[x] {
					outside[x] = true
				}
			}
			continue
		}
		f.chain = append(f.chain, k)
		if len(f.chain) > foldMaxChain {
			return f, false
		}
		dep[e.Out] = true
		enqueue(e.Out)
		if isOut[e.Out] {
			outside[e.Out] = true
		}
	}
	if len(f.chain) == 0 {
		return f, false
	}
	var needed []*ir.Var
	for _, k := range f.chain {
		if u := p.Eqns[k].Out; outside[u] {
			needed = append(needed, u)
		}
	}
	if len(needed) == 0 || len(needed) > 64 {
		return f, false
	}
	// needers[i]: the needed values that chain equation i contributes to.
	needers := make([]uint64, len(f.chain))
	at := map[*ir.Var]int{}
	for i, k := range f.chain {
		at[p.Eqns[k].Out] = i
	}
	for j, u := range needed {
		needers[at[u]] |= 1 << j
	}
	for i := len(f.chain) - 1; i >= 0; i-- {
		for _, x := range p.Eqns[f.chain[i]].In {
			if a, ok := at[x]; ok {
				needers[a] |= needers[i]
			}
		}
	}
	// Fold a set of needed values when their products need no more FLOPs
	// than the equations they make dead, and fewer FLOPs plus elements
	// written (views — reshape, broadcast — write nothing). Start from all
	// of them and give up, one at a time, the value whose products save the
	// least: an intermediate the chain hands on is often cheaper to keep.
	// costs: each chain equation's; own: what folding each needed value
	// alone makes dead (the equations that only it needs).
	type score struct{ flops, total float64 }
	costs := make([]score, len(f.chain))
	own := make([]float64, len(needed))
	for i, k := range f.chain {
		e := p.Eqns[k]
		c := CostOf(&ir.Program{Eqns: []*ir.Eqn{e}}).FLOPs
		costs[i] = score{c, c + float64(e.Out.Size())}
		switch e.Prim.(type) {
		case op.Reshape, op.Broadcast:
			costs[i].total = c
		}
		for j := range needed {
			if needers[i] == 1<<j {
				own[j] += costs[i].total
			}
		}
	}
	product := func(u *ir.Var) score {
		c := float64(2 * v.Size() * u.Size())
		return score{c, c + float64(u.Size())}
	}
	fold := uint64(1)<<len(needed) - 1
	for fold != 0 {
		var saved, spent score
		for i, c := range costs {
			if needers[i]&^fold == 0 {
				saved.flops, saved.total = saved.flops+c.flops, saved.total+c.total
			}
		}
		width := 0
		worst, worstRatio := -1, 0.0
		for j, u := range needed {
			if fold&(1<<j) == 0 {
				continue
			}
			width += u.Size()
			c := product(u)
			spent.flops, spent.total = spent.flops+c.flops, spent.total+c.total
			if r := own[j] / c.total; worst < 0 || r < worstRatio {
				worst, worstRatio = j, r
			}
		}
		if spent.flops <= saved.flops && spent.total < saved.total && v.Size()*width <= foldMaxSize {
			for j, u := range needed {
				if fold&(1<<j) != 0 {
					f.outs = append(f.outs, u)
				}
			}
			return f, true
		}
		fold &^= 1 << worst
	}
	return f, false
}

// linearIn reports whether e is linear in its operands that depend on the
// chain's value, all its other operands being constants.
func linearIn(e *ir.Eqn, dep, konst map[*ir.Var]bool) bool {
	l, ok := e.Prim.(op.Linear)
	if _, convert := e.Prim.(op.Convert); !ok || convert {
		return false // a conversion would give the product operands of two dtypes
	}
	// Sums and rearrangements are linear in all their linear operands
	// together, so every one of them must come from the chain (x + c is
	// affine); products are linear in one operand, the other held constant
	// (x ⊙ x is not linear).
	_, joint := e.Prim.(op.LinearMap)
	n := 0
	for i, x := range e.In {
		switch {
		case dep[x]:
			if !l.LinearIn(i) {
				return false
			}
			n++
		case !konst[x] || joint && l.LinearIn(i):
			return false
		}
	}
	return joint || n == 1
}

// matrices evaluates the chain on each unit vector e_i: row i of the matrix
// of value u is u(e_i).
func (f linearFold) matrices(p *ir.Program, values *constValues) ([]*tensor.Tensor, error) {
	n := f.in.Size()
	ms := make([]*tensor.Tensor, len(f.outs))
	// The chain is evaluated in float64 (float32 constants are exact
	// there) and each matrix rounded once to its value's dtype.
	for j, u := range f.outs {
		ms[j] = tensor.Zeros(n, u.Size())
	}
	for i := range n {
		unit := tensor.Zeros(f.in.Shape...)
		unit.Data()[i] = 1
		env := map[*ir.Var]*tensor.Tensor{f.in: unit}
		for _, k := range f.chain {
			e := p.Eqns[k]
			args := make([]*tensor.Tensor, len(e.In))
			for a, x := range e.In {
				if t, ok := env[x]; ok {
					args[a] = t
					continue
				}
				t, err := values.of(x)
				if err != nil {
					return nil, err
				}
				args[a] = t
			}
			t, err := e.Prim.(op.Evaluator).Eval(args)
			if err != nil {
				return nil, err
			}
			env[e.Out] = t
		}
		for j, u := range f.outs {
			copy(ms[j].Data()[i*u.Size():(i+1)*u.Size()], env[u].Data())
		}
	}
	for j, u := range f.outs {
		ms[j] = ms[j].Convert(u.DType)
	}
	return ms, nil
}

// constValues evaluates, once each, the values of a program that depend on
// no input, in float64.
type constValues struct {
	p     *ir.Program
	defAt map[*ir.Var]int
	val   map[*ir.Var]*tensor.Tensor
}

func (c *constValues) of(v *ir.Var) (*tensor.Tensor, error) {
	if t, ok := c.val[v]; ok {
		return t, nil
	}
	e := c.p.Eqns[c.defAt[v]]
	if k, ok := e.Prim.(op.Constant); ok {
		t := k.Value.Convert(tensor.Float64)
		c.val[v] = t
		return t, nil
	}
	args := make([]*tensor.Tensor, len(e.In))
	for i, x := range e.In {
		t, err := c.of(x)
		if err != nil {
			return nil, err
		}
		args[i] = t
	}
	t, err := evalFloat64(e.Prim, e.Prim.(op.Evaluator), args)
	if err != nil {
		return nil, err
	}
	c.val[v] = t
	return t, nil
}

// indexHeap is a min-heap of equation indices.
type indexHeap []int

func (h indexHeap) Len() int           { return len(h) }
func (h indexHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h indexHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *indexHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *indexHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
