package onnx

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jacobi-ad/jacobi"
	"github.com/jacobi-ad/jacobi/tensor"
)

// einsumLabel is an axis label of an Einsum: a letter, or one of the axes
// that an ellipsis stands for (numbered from ellipsisBase, right-aligned).
type einsumLabel rune

const ellipsisBase einsumLabel = 0x10000

// parseEinsum reads an Einsum equation for operands of the given ranks and
// returns each operand's labels and the output's. Without "->" the output is
// the ellipsis' axes followed by the letters that occur once, in
// alphabetical order (numpy's rule).
func parseEinsum(eq string, ranks []int) (ins [][]einsumLabel, out []einsumLabel, err error) {
	eq = strings.ReplaceAll(eq, " ", "")
	lhs, rhs, arrow := strings.Cut(eq, "->")
	terms := strings.Split(lhs, ",")
	if len(terms) != len(ranks) {
		return nil, nil, fmt.Errorf("equation %q has %d operands, the node %d inputs", eq, len(terms), len(ranks))
	}
	letters := func(s string) int { return len(strings.ReplaceAll(s, "...", "")) }
	all := 0 // the most axes an ellipsis stands for
	for i, s := range terms {
		dots := ranks[i] - letters(s)
		if dots < 0 || dots > 0 && !strings.Contains(s, "...") {
			return nil, nil, fmt.Errorf("term %q of equation %q does not fit operand %d of rank %d", s, eq, i, ranks[i])
		}
		all = max(all, dots)
	}
	// term reads one term whose ellipsis stands for dots axes, the last
	// dots of the all axes (operands broadcast from the right).
	term := func(s string, dots int) ([]einsumLabel, error) {
		var labels []einsumLabel
		seen := false
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case strings.HasPrefix(s[i:], "..."):
				if seen {
					return nil, fmt.Errorf("term %q of equation %q has two ellipses", s, eq)
				}
				seen = true
				for j := all - dots; j < all; j++ {
					labels = append(labels, ellipsisBase+einsumLabel(j))
				}
				i += 2
			case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
				labels = append(labels, einsumLabel(c))
			default:
				return nil, fmt.Errorf("term %q of equation %q: %q is not a letter", s, eq, c)
			}
		}
		return labels, nil
	}
	for i, s := range terms {
		labels, err := term(s, ranks[i]-letters(s))
		if err != nil {
			return nil, nil, err
		}
		ins = append(ins, labels)
	}
	if arrow {
		if out, err = term(rhs, all); err != nil {
			return nil, nil, err
		}
		for i, c := range out {
			if slices.Contains(out[:i], c) {
				return nil, nil, fmt.Errorf("equation %q: the output repeats %q", eq, labelName(c))
			}
			if !slices.ContainsFunc(ins, func(in []einsumLabel) bool { return slices.Contains(in, c) }) {
				return nil, nil, fmt.Errorf("equation %q: the output's %q is in no operand", eq, labelName(c))
			}
		}
		return ins, out, nil
	}
	for j := range all {
		out = append(out, ellipsisBase+einsumLabel(j))
	}
	count := map[einsumLabel]int{}
	for _, in := range ins {
		for _, c := range in {
			count[c]++
		}
	}
	var once []einsumLabel
	for c, n := range count {
		if n == 1 && c < ellipsisBase {
			once = append(once, c)
		}
	}
	slices.Sort(once)
	return ins, append(out, once...), nil
}

func opEinsum(l *lowering) ([]*value, error) {
	a, ok := l.node.Attrs["equation"]
	if !ok || a.Type != "string" {
		return nil, errors.New("the equation attribute is missing")
	}
	var xs []*jacobi.Node
	var ranks []int
	for i := range l.node.Inputs {
		v, err := l.need(i)
		if err != nil {
			return nil, err
		}
		xs = append(xs, v.node())
		ranks = append(ranks, len(v.shape()))
	}
	if len(xs) == 0 {
		return nil, errors.New("no inputs")
	}
	ins, out, err := parseEinsum(a.String, ranks)
	if err != nil {
		return nil, err
	}
	y, err := einsum(xs, ins, out)
	if err != nil {
		return nil, fmt.Errorf("equation %q: %w", a.String, err)
	}
	return nodeOut(y), nil
}

// einsum evaluates an Einsum by diagonals, sums and matrix products: the
// operands are contracted two at a time, left to right, each pair by one
// (batched) product.
func einsum(xs []*jacobi.Node, ins [][]einsumLabel, out []einsumLabel) (*jacobi.Node, error) {
	size := map[einsumLabel]int{}
	for i, x := range xs {
		for j, c := range ins[i] {
			n := x.Shape()[j]
			if m, ok := size[c]; ok && m != n && m != 1 && n != 1 {
				return nil, fmt.Errorf("axis %q has size %d in one operand and %d in another", labelName(c), m, n)
			}
			size[c] = max(size[c], n)
		}
	}
	labels := make([][]einsumLabel, len(xs))
	for i, x := range xs {
		// Size-1 axes broadcast against the others.
		s := slices.Clone(x.Shape())
		for j, c := range ins[i] {
			s[j] = size[c]
		}
		x = x.BroadcastTo(s...)
		x, labels[i] = diagonals(x, slices.Clone(ins[i]))
		xs[i] = x
	}
	need := func(from int) map[einsumLabel]bool { // labels used by out or operands from on
		m := map[einsumLabel]bool{}
		for _, c := range out {
			m[c] = true
		}
		for _, in := range labels[from:] {
			for _, c := range in {
				m[c] = true
			}
		}
		return m
	}
	cur, lc := xs[0], labels[0]
	for i := 1; i < len(xs); i++ {
		later := need(i + 1)
		cur, lc = sumOut(cur, lc, func(c einsumLabel) bool { return later[c] || slices.Contains(labels[i], c) })
		x, lx := sumOut(xs[i], labels[i], func(c einsumLabel) bool { return later[c] || slices.Contains(lc, c) })
		cur, lc = contract(cur, lc, x, lx, later, size)
	}
	cur, lc = sumOut(cur, lc, func(c einsumLabel) bool { return slices.Contains(out, c) })
	perm := make([]int, len(out))
	for i, c := range out {
		perm[i] = slices.Index(lc, c)
	}
	if len(perm) > 1 {
		cur = cur.Transpose(perm...)
	}
	return cur, cur.Err()
}

func labelName(c einsumLabel) string {
	if c >= ellipsisBase {
		return fmt.Sprintf("...%d", c-ellipsisBase)
	}
	return string(rune(c))
}

// diagonals takes the diagonal of every label an operand repeats ("ii").
func diagonals(x *jacobi.Node, labels []einsumLabel) (*jacobi.Node, []einsumLabel) {
	for q := 1; q < len(labels); q++ {
		p := slices.Index(labels[:q], labels[q])
		if p < 0 {
			continue
		}
		s := x.Shape()
		eye := jacobi.WeakConst(tensor.Eye(s[p]))
		// eye along axes p and q, ones elsewhere.
		es := make([]int, len(s))
		for i := range es {
			es[i] = 1
		}
		es[p], es[q] = s[p], s[q]
		x = x.Mul(eye.Reshape(es...)).Sum(q)
		labels = slices.Delete(labels, q, q+1)
		q--
	}
	return x, labels
}

// sumOut sums x over the labels that keep does not want.
func sumOut(x *jacobi.Node, labels []einsumLabel, keep func(einsumLabel) bool) (*jacobi.Node, []einsumLabel) {
	var axes []int
	var rest []einsumLabel
	for i, c := range labels {
		if keep(c) {
			rest = append(rest, c)
		} else {
			axes = append(axes, i)
		}
	}
	if len(axes) == 0 {
		return x, labels
	}
	return x.Sum(axes...), rest
}

// contract multiplies a and b over their common labels, keeping those in
// keep as batch axes and summing the others: one matrix product of a's
// (batch, left, common) by b's (batch, common, right).
func contract(a *jacobi.Node, la []einsumLabel, b *jacobi.Node, lb []einsumLabel, keep map[einsumLabel]bool, size map[einsumLabel]int) (*jacobi.Node, []einsumLabel) {
	var batch, summed, left, right []einsumLabel
	for _, c := range la {
		switch {
		case slices.Contains(lb, c) && keep[c]:
			batch = append(batch, c)
		case slices.Contains(lb, c):
			summed = append(summed, c)
		default:
			left = append(left, c)
		}
	}
	for _, c := range lb {
		if !slices.Contains(la, c) {
			right = append(right, c)
		}
	}
	dims := func(ls []einsumLabel) []int {
		d := make([]int, len(ls))
		for i, c := range ls {
			d[i] = size[c]
		}
		return d
	}
	prod := func(ls []einsumLabel) int { return tensor.Size(dims(ls)) }
	at := func(ls, in []einsumLabel) []int {
		p := make([]int, len(in))
		for i, c := range in {
			p[i] = slices.Index(ls, c)
		}
		return p
	}
	a = permute(a, at(la, slices.Concat(batch, left, summed)))
	b = permute(b, at(lb, slices.Concat(batch, summed, right)))
	k, n := prod(summed), prod(right)
	var y *jacobi.Node
	if len(batch) == 0 {
		// Left axes stay apart (one may be the samples'): (left..., k)·(k, n).
		a = a.Reshape(append(dims(left), k)...)
		if len(left) == 0 {
			a = a.Reshape(1, k)
		}
		y = a.MatMul(b.Reshape(k, n))
	} else {
		bd := dims(batch)
		a = a.Reshape(append(slices.Clone(bd), prod(left), k)...)
		y = a.MatMul(b.Reshape(append(slices.Clone(bd), k, n)...))
	}
	labels := slices.Concat(batch, left, right)
	return y.Reshape(dims(labels)...), labels
}

// permute transposes x unless perm is the identity.
func permute(x *jacobi.Node, perm []int) *jacobi.Node {
	for i, p := range perm {
		if i != p {
			return x.Transpose(perm...)
		}
	}
	return x
}
