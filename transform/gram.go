package transform

import (
	"fmt"
	"slices"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
)

// HessianGram returns d²y/dx², shaped y.shape ++ x.shape ++ x.shape, as a
// sum of weighted Gram matrices of forward Jacobians. Linear primitives
// have no second derivative, so the Hessian of y is the sum, over the
// equations e that are not linear in x, of the second derivative of e
// contracted with y's adjoint ȳ_e of e's output and with the Jacobians
// J_a = ∂a/∂x of e's inputs:
//
//	H = Σ_e Σ_{a,c ∈ in(e)} J_aᵀ · diag(ȳ_e ⊙ ∂²e/∂a∂c) · J_c    (elementwise e)
//	H = Σ_e M_e + M_eᵀ,  M_e[i,j] = ⟨J_A[i], ȳ_e ∘ᵀ J_B[j]⟩        (products e = A ∘ B)
//
// One forward pass carries the Jacobians (n tangents), one reverse pass the
// adjoints, and each nonlinear equation adds an n × n product over its
// elements. Forward over reverse (Hessian) instead carries n tangents
// through the reverse pass as well: for a network of width w and n ≪ w
// inputs, its second half costs n·w² per layer where the Gram matrices
// cost n²·w.
//
// It fails for programs with an equation that is neither elementwise, nor
// linear in x, nor a product; Hessian handles every program.
func HessianGram(p *ir.Program) (*ir.Program, error) { return gram(p, false) }

// HessianDiagGram returns the diagonal of d²y/dx² (y.shape ++ x.shape), by
// the sum of HessianGram with only the diagonal of each Gram matrix
// formed: one forward pass with a tangent per input and one reverse pass,
// where Taylor mode (HessianDiagTaylor) carries two coefficients per input
// through the forward pass.
func HessianDiagGram(p *ir.Program) (*ir.Program, error) { return gram(p, true) }

// LaplacianGram returns the trace of d²y/dx² (y.shape): HessianDiagGram
// summed over x.
func LaplacianGram(p *ir.Program) (*ir.Program, error) {
	d, err := HessianDiagGram(p)
	if err != nil {
		return nil, err
	}
	b, args := inputsLike(d)
	v := b.Inline(d, args)[0]
	ry, rx := p.Out[0].Rank(), p.In[0].Rank()
	axes := make([]int, rx)
	for i := range axes {
		axes[i] = ry + i
	}
	q, err := b.Build(b.Emit(op.ReduceSum{Axes: axes}, v))
	if err != nil {
		return nil, err
	}
	return Simplify(q)
}

// gram builds HessianGram's program, or only its diagonal.
func gram(p *ir.Program, diag bool) (*ir.Program, error) {
	if len(p.Out) != 1 {
		return nil, fmt.Errorf("hessian: program has %d outputs, want 1", len(p.Out))
	}
	if len(p.In) == 0 {
		return nil, fmt.Errorf("hessian: program has no inputs")
	}
	p, err := Simplify(p)
	if err != nil {
		return nil, err
	}
	xv, yv := p.In[0], p.Out[0]
	n, ny := xv.Size(), yv.Size()
	outShape := slices.Concat(yv.Shape, xv.Shape, xv.Shape)
	if diag {
		outShape = slices.Concat(yv.Shape, xv.Shape)
	}

	// The equations with a second derivative in x, and the values whose
	// Jacobians they need.
	dep := map[*ir.Var]bool{xv: true}
	var sites []gramSite
	var wantJ []*ir.Var
	seen := map[*ir.Var]bool{}
	for _, e := range p.Eqns {
		var slots []int
		for i, v := range e.In {
			if dep[v] {
				slots = append(slots, i)
			}
		}
		if len(slots) == 0 {
			continue
		}
		dep[e.Out] = true
		kind, err := gramKindOf(e, slots)
		if err != nil {
			return nil, err
		}
		if kind == gramLinear {
			continue
		}
		sites = append(sites, gramSite{e: e, slots: slots, kind: kind})
		for _, i := range slots {
			if v := e.In[i]; !seen[v] {
				seen[v] = true
				wantJ = append(wantJ, v)
			}
		}
	}

	b, args := inputsLike(p)
	if len(sites) == 0 { // y is affine in x
		return b.Build(op.Zeros(b, yv.DType, outShape))
	}
	jac, err := forwardJacobians(b, p, args, wantJ)
	if err != nil {
		return nil, err
	}
	adj, vals, err := reverseAdjoints(b, p, args, sites)
	if err != nil {
		return nil, err
	}

	// D sums the symmetric terms, S those that are added with their
	// transposes: H = D + S + Sᵀ, and its diagonal D + 2·S. Each term is
	// in its operation's dtype and is summed in y's (a float32 part of a
	// float64 program contributes in float64, as forward over reverse).
	var d, s *ir.Var
	inY := func(v *ir.Var) *ir.Var {
		if v.DType == yv.DType {
			return v
		}
		return b.Emit(op.Convert{From: v.DType, To: yv.DType}, v)
	}
	for k, st := range sites {
		e := st.e
		in := vals[k]
		switch st.kind {
		case gramElementwise:
			for pi, a := range st.slots {
				for _, c := range st.slots[pi:] {
					coef, err := secondPartial(b, e.Prim, in, a, c)
					if err != nil {
						return nil, err
					}
					if coef == nil {
						continue
					}
					w := weighted(b, adj[k], coef)
					var m *ir.Var
					if diag {
						m = gramDiagonal(b, jac[e.In[a]], jac[e.In[c]], w, n)
					} else {
						m = gramProduct(b, jac[e.In[a]], jac[e.In[c]], w, n, ny)
					}
					if a == c {
						d = op.AddZ(b, d, inY(m))
					} else {
						s = op.AddZ(b, s, inY(m))
					}
				}
			}
		case gramBilinear:
			m, err := bilinearGram(b, e.Prim, in, adj[k], jac[e.In[0]], jac[e.In[1]], n, ny, diag)
			if err != nil {
				return nil, err
			}
			s = op.AddZ(b, s, inY(m))
		}
	}
	h := d
	if s != nil {
		if diag {
			h = op.AddZ(b, h, op.Scale(b, 2, s))
		} else {
			h = op.AddZ(b, h, b.Emit(op.Add{}, s, op.SwapLast(b, s)))
		}
	}
	if h == nil {
		h = op.Zeros(b, yv.DType, outShape)
	}
	h = op.ReshapeTo(b, h, outShape)
	q, err := b.Build(h)
	if err != nil {
		return nil, err
	}
	return Simplify(q)
}

type gramKind int

const (
	gramLinear      gramKind = iota // no second derivative in x
	gramElementwise                 // second partials position by position
	gramBilinear                    // a product of two values that depend on x
)

// gramSite is an equation with a second derivative in x: slots are its
// inputs that depend on x.
type gramSite struct {
	e     *ir.Eqn
	slots []int
	kind  gramKind
}

// gramKindOf says how e contributes to the Hessian, given which inputs
// depend on x.
func gramKindOf(e *ir.Eqn, slots []int) (gramKind, error) {
	switch e.Prim.(type) {
	case op.LinearMap, op.ZeroDerivative:
		return gramLinear, nil
	}
	if _, ok := e.Prim.(op.Bilinear); ok && len(slots) == 1 {
		return gramLinear, nil
	}
	if _, ok := e.Prim.(op.Elementwise); ok {
		return gramElementwise, nil
	}
	if _, ok := e.Prim.(op.Bilinear); ok {
		return gramBilinear, nil
	}
	return 0, fmt.Errorf("hessian by Gram matrices: %s is neither elementwise, nor linear, nor a product", e.Prim.Name())
}

// forwardJacobians emits the Jacobian (n, v.shape) of each value in want,
// one forward pass mapped over the n basis vectors of x.
func forwardJacobians(b *ir.Builder, p *ir.Program, args, want []*ir.Var) (map[*ir.Var]*ir.Var, error) {
	pf := &ir.Program{In: p.In, Out: want, Eqns: p.Eqns}
	jp, err := JVP(pf, wrtFirst(pf))
	if err != nil {
		return nil, err
	}
	flags := make([]bool, len(jp.In))
	flags[len(flags)-1] = true
	vm, err := Vmap(jp, flags, p.In[0].Size())
	if err != nil {
		return nil, err
	}
	xv := p.In[0]
	outs := b.Inline(vm, append(slices.Clone(args), identity(b, xv.Size(), xv.Shape, xv.DType)))
	jac := make(map[*ir.Var]*ir.Var, len(want))
	for i, v := range want {
		jac[v] = outs[len(want)+i]
	}
	return jac, nil
}

// reverseAdjoints emits, for each site, the adjoint of its output for every
// element of y (ny, out.shape), from one reverse pass mapped over y's basis
// (each site's output gets a zero probe whose cotangent is the adjoint),
// and the values of its inputs.
func reverseAdjoints(b *ir.Builder, p *ir.Program, args []*ir.Var, sites []gramSite) (adj []*ir.Var, vals [][]*ir.Var, err error) {
	isSite := make(map[*ir.Eqn]int, len(sites))
	for k, s := range sites {
		isSite[s.e] = k
	}
	pb, pArgs := inputsLike(p)
	probes := make([]*ir.Var, len(sites))
	for k, s := range sites {
		probes[k] = pb.InputLike(s.e.Out)
	}
	env := make(map[*ir.Var]*ir.Var, len(p.In)+len(p.Eqns))
	for i, v := range p.In {
		env[v] = pArgs[i]
	}
	for _, e := range p.Eqns {
		in := make([]*ir.Var, len(e.In))
		for i, v := range e.In {
			in[i] = env[v]
		}
		pb.Src = e.Src
		out := pb.Emit(e.Prim, in...)
		if k, ok := isSite[e]; ok {
			out = pb.Emit(op.Add{}, out, probes[k])
		}
		env[e.Out] = out
	}
	// The sites' input values ride along as outputs.
	outs := []*ir.Var{env[p.Out[0]]}
	for _, s := range sites {
		for _, v := range s.e.In {
			outs = append(outs, env[v])
		}
	}
	pr, err := pb.Build(outs...)
	if err != nil {
		return nil, nil, err
	}
	wrt := make([]bool, len(pr.In))
	for i := len(p.In); i < len(pr.In); i++ {
		wrt[i] = true
	}
	// The VJP takes one cotangent per output: the adjoints come from y's
	// alone, the others are zero.
	vp, err := VJP(pr, wrt)
	if err != nil {
		return nil, nil, err
	}
	flags := make([]bool, len(vp.In))
	nIn := len(pr.In)
	flags[nIn] = true // y's cotangent
	yv := p.Out[0]
	ny := yv.Size()
	vm, err := Vmap(vp, flags, ny)
	if err != nil {
		return nil, nil, err
	}
	callArgs := slices.Clone(args)
	for _, s := range sites {
		callArgs = append(callArgs, op.ZerosLike(b, s.e.Out))
	}
	callArgs = append(callArgs, identity(b, ny, yv.Shape, yv.DType))
	for _, v := range pr.Out[1:] {
		callArgs = append(callArgs, op.ZerosLike(b, v))
	}
	res := b.Inline(vm, callArgs)
	// res: the outputs of pr (each mapped over ny), then the probes'
	// cotangents. The values are the same for every entry of the map:
	// take them from the unmapped program instead.
	plain := b.Inline(pr, callArgs[:nIn])
	adj = res[len(pr.Out):]
	k := 1
	for _, s := range sites {
		vs := make([]*ir.Var, len(s.e.In))
		for i := range s.e.In {
			vs[i] = plain[k]
			k++
		}
		vals = append(vals, vs)
	}
	return adj, vals, nil
}

// secondPartial emits ∂²e/∂in_a∂in_c of an elementwise primitive, position
// by position, at in, or returns nil where it is zero: the primitive's JVP
// rule with a unit tangent on input a, differentiated by forward mode along
// a unit tangent on input c.
func secondPartial(b *ir.Builder, prim ir.Primitive, in []*ir.Var, a, c int) (*ir.Var, error) {
	r, err := op.RulesOf(prim)
	if err != nil {
		return nil, err
	}
	sb, sIn := inputsLikeVars(in)
	out := sb.Emit(prim, sIn...)
	ts := make([]*ir.Var, len(sIn))
	ts[a] = op.FullLike(sb, 1, sIn[a])
	t := r.JVP(sb, sIn, out, ts)
	if t == nil {
		return nil, nil
	}
	first, err := sb.Build(t)
	if err != nil {
		return nil, err
	}
	tans := make([]*ir.Var, len(in))
	tans[c] = op.FullLike(b, 1, in[c])
	_, dt, err := jvpEmit(b, first, in, tans)
	if err != nil {
		return nil, err
	}
	return dt[0], nil
}

// weighted emits the adjoints adj (ny, shape) times the coefficients coef
// (shape), flattened to (ny, size).
func weighted(b *ir.Builder, adj, coef *ir.Var) *ir.Var {
	ny, size := adj.Shape[0], coef.Size()
	a := op.ReshapeTo(b, adj, []int{ny, size})
	c := b.Emit(op.Broadcast{Shape: []int{ny, size}, Dims: []int{1}}, op.ReshapeTo(b, coef, []int{size}))
	return b.Emit(op.Mul{}, a, c)
}

// gramProduct emits M[o, i, j] = Σ_k ja[i, k] w[o, k] jc[j, k] (ny, n, n)
// for Jacobians ja, jc (n, shape) and weights w (ny, size).
func gramProduct(b *ir.Builder, ja, jc, w *ir.Var, n, ny int) *ir.Var {
	size := w.Shape[1]
	ja = op.ReshapeTo(b, ja, []int{n, size})
	jc = op.ReshapeTo(b, jc, []int{n, size})
	var aw *ir.Var
	if ny == 1 {
		aw = b.Emit(op.Mul{}, ja, b.Emit(op.Broadcast{Shape: []int{n, size}, Dims: []int{0, 1}}, w))
	} else {
		wa := b.Emit(op.Broadcast{Shape: []int{ny, n, size}, Dims: []int{0, 2}}, w)
		jb := b.Emit(op.Broadcast{Shape: []int{ny, n, size}, Dims: []int{1, 2}}, ja)
		aw = op.ReshapeTo(b, b.Emit(op.Mul{}, jb, wa), []int{ny * n, size})
	}
	m := b.Emit(op.MatMul{}, aw, b.Emit(op.Transpose{Perm: []int{1, 0}}, jc))
	return op.ReshapeTo(b, m, []int{ny, n, n})
}

// gramDiagonal emits the diagonal of gramProduct, D[o, i] = Σ_k ja[i, k]
// w[o, k] jc[i, k] (ny, n): the Jacobians' product weighted by w.
func gramDiagonal(b *ir.Builder, ja, jc, w *ir.Var, n int) *ir.Var {
	size := w.Shape[1]
	ja = op.ReshapeTo(b, ja, []int{n, size})
	jc = op.ReshapeTo(b, jc, []int{n, size})
	return b.Emit(op.MatMul{}, w, b.Emit(op.Transpose{Perm: []int{1, 0}}, b.Emit(op.Mul{}, ja, jc)))
}

// bilinearGram emits M (ny, n, n) of a product e = A ∘ B of two values
// that depend on x: M[o, i, j] = ⟨J_A[i], G[o, j]⟩ with G[o, j] = ȳ_e[o]
// ∘ᵀ J_B[j], the product's transpose in A at B = J_B[j]; the Hessian gets
// M + Mᵀ. With diag, only M's diagonal (ny, n).
func bilinearGram(b *ir.Builder, prim ir.Primitive, in []*ir.Var, adj, ja, jb *ir.Var, n, ny int, diag bool) (*ir.Var, error) {
	lin, ok := prim.(op.Linear)
	if !ok {
		return nil, fmt.Errorf("hessian by Gram matrices: %s is not linear in each input (internal error)", prim.Name())
	}
	// G(ȳ, B) = ȳ ∘ᵀ B as a program, mapped over J_B's n and ȳ's ny.
	gb := ir.NewBuilder(nil)
	ct := gb.InputOf(adj.DType, adj.Shape[1:])
	bv := gb.InputLike(in[1])
	res := lin.Transpose(gb, ct, []*ir.Var{nil, bv}, [][]int{in[0].Shape, in[1].Shape}, []bool{true, false})
	if res[0] == nil {
		if diag {
			return op.Zeros(b, adj.DType, []int{ny, n}), nil
		}
		return op.Zeros(b, adj.DType, []int{ny, n, n}), nil
	}
	g, err := gb.Build(res[0])
	if err != nil {
		return nil, err
	}
	g, err = Vmap(g, []bool{false, true}, n)
	if err != nil {
		return nil, err
	}
	g, err = Vmap(g, []bool{true, false}, ny)
	if err != nil {
		return nil, err
	}
	gv := b.Inline(g, []*ir.Var{adj, jb})[0] // (ny, n, A)
	size := in[0].Size()
	ja = op.ReshapeTo(b, ja, []int{n, size})
	if diag {
		gv = op.ReshapeTo(b, gv, []int{ny, n, size})
		jab := b.Emit(op.Broadcast{Shape: []int{ny, n, size}, Dims: []int{1, 2}}, ja)
		return b.Emit(op.ReduceSum{Axes: []int{2}}, b.Emit(op.Mul{}, gv, jab)), nil
	}
	gv = op.ReshapeTo(b, gv, []int{ny * n, size})
	// (ny·n_j, A)·(A, n_i): Mᵀ per o, which serves as well, M + Mᵀ being
	// what counts.
	m := b.Emit(op.MatMul{}, gv, b.Emit(op.Transpose{Perm: []int{1, 0}}, ja))
	return op.ReshapeTo(b, m, []int{ny, n, n}), nil
}
