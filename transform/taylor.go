package transform

import (
	"fmt"

	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Taylor returns the collapsed second-order Taylor program of p in its first
// input x, along k directions. Its inputs are p's inputs, then the
// directions V (k, x...) and the second-order input coefficient X2 (x...);
// its outputs are p's outputs, then for each output y its first-order
// coefficients (k, y...), then for each output its collapsed second-order
// coefficient (y...):
//
//	Σ_k w_k d²/dt² y(x + t·V_k) + J_y·X2   (at t = 0),
//
// with weights w (nil: all 1). With V the identity and X2 = 0 that is the
// Laplacian of every output; with X2 = b it adds the advection term b·∇y.
func Taylor(p *ir.Program, k int, weights []float64) (*ir.Program, error) {
	if len(p.In) == 0 {
		return nil, fmt.Errorf("taylor: program has no inputs")
	}
	if weights != nil && len(weights) != k {
		return nil, fmt.Errorf("taylor: %d weights for %d directions", len(weights), k)
	}
	b := ir.NewBuilder(nil)
	env := map[*ir.Var]*ir.Var{}
	c1 := map[*ir.Var]*ir.Var{}
	c2 := map[*ir.Var]*ir.Var{}
	for _, v := range p.In {
		env[v] = b.InputLike(v)
	}
	x := p.In[0]
	c1[x] = b.InputOf(x.DType, append([]int{k}, x.Shape...))
	c2[x] = b.InputLike(x)
	ctx := &op.TaylorCtx{B: b, K: k}
	if weights != nil {
		w, err := tensor.New([]int{k}, append([]float64{}, weights...))
		if err != nil {
			return nil, err
		}
		ctx.W = op.Const(b, w.Convert(x.DType))
	}
	for _, e := range p.Eqns {
		r, err := rules(e)
		if err != nil {
			return nil, err
		}
		b.Src = e.Src
		args := make([]*ir.Var, len(e.In))
		x1 := make([]*ir.Var, len(e.In))
		x2 := make([]*ir.Var, len(e.In))
		any := false
		for i, v := range e.In {
			args[i], x1[i], x2[i] = env[v], c1[v], c2[v]
			any = any || x1[i] != nil || x2[i] != nil
		}
		out := b.Emit(e.Prim, args...)
		env[e.Out] = out
		if any {
			y1, y2 := r.Taylor(ctx, args, out, x1, x2)
			if y1 != nil {
				c1[e.Out] = y1
			}
			if y2 != nil {
				c2[e.Out] = y2
			}
		}
	}
	b.Src = ""
	var outs []*ir.Var
	for _, v := range p.Out {
		outs = append(outs, env[v])
	}
	for _, v := range p.Out {
		outs = append(outs, op.OrZeros(b, c1[v], v.DType, append([]int{k}, v.Shape...)))
	}
	for _, v := range p.Out {
		outs = append(outs, op.OrZeros(b, c2[v], v.DType, v.Shape))
	}
	return b.Build(outs...)
}
