// Package sample draws collocation points for physics-informed training:
// uniformly at random, by Latin hypercube or by a scrambled Halton
// sequence, inside a box, on its faces (boundaries) or on a slice such as
// an initial time, reproducibly from a seed.
//
// Points are the rows of an (n, d) tensor, in the box's coordinate order
// (for a space-time problem, typically (t, x)).
package sample

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distmv"
	"gonum.org/v1/gonum/stat/samplemv"

	"github.com/jacobi-ad/jacobi/tensor"
)

// Method is how points are spread.
type Method int

const (
	// Uniform draws every coordinate independently and uniformly.
	Uniform Method = iota
	// LatinHypercube splits every axis into n equal strata and puts exactly
	// one point in each stratum of each axis (gonum's samplemv.LatinHypercube),
	// as Raissi et al. draw their collocation points.
	LatinHypercube
	// Halton is the Halton low-discrepancy sequence with Owen's random
	// scrambling (gonum's samplemv.Halton): points fill the box more evenly
	// than random ones.
	Halton
)

// String returns the method's name.
func (m Method) String() string {
	switch m {
	case Uniform:
		return "uniform"
	case LatinHypercube:
		return "lhs"
	case Halton:
		return "halton"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// ParseMethod returns the method of a name String returns.
func ParseMethod(name string) (Method, error) {
	for _, m := range []Method{Uniform, LatinHypercube, Halton} {
		if m.String() == name {
			return m, nil
		}
	}
	return 0, fmt.Errorf("sample: unknown method %q (want uniform, lhs or halton)", name)
}

// Box is the axis-aligned box [Lo[0], Hi[0]] × … × [Lo[d−1], Hi[d−1]].
type Box struct {
	Lo, Hi []float64
}

// NewBox returns the box with the given corners, checking them.
func NewBox(lo, hi []float64) (Box, error) {
	b := Box{Lo: lo, Hi: hi}
	return b, b.check()
}

// Dim returns the box's dimension.
func (b Box) Dim() int { return len(b.Lo) }

func (b Box) check() error {
	if len(b.Lo) == 0 || len(b.Lo) != len(b.Hi) {
		return fmt.Errorf("sample: box corners %v and %v must have the same, positive, length", b.Lo, b.Hi)
	}
	for i := range b.Lo {
		if !(b.Lo[i] <= b.Hi[i]) || math.IsInf(b.Lo[i], 0) || math.IsInf(b.Hi[i], 0) {
			return fmt.Errorf("sample: box axis %d is [%v, %v]; want finite bounds, lo ≤ hi", i, b.Lo[i], b.Hi[i])
		}
	}
	return nil
}

// source returns the seeded source all of a call's draws come from.
func source(seed uint64) rand.Source { return rand.NewPCG(seed, 0x5851f42d4c957f2d) }

// unit fills an (n, d) matrix with points in the unit cube.
func unit(m Method, n, d int, src rand.Source) (*mat.Dense, error) {
	if n == 0 || d == 0 {
		return nil, nil
	}
	batch := mat.NewDense(n, d, nil)
	switch m {
	case Uniform:
		r := rand.New(src)
		for i := 0; i < n; i++ {
			for j := 0; j < d; j++ {
				batch.Set(i, j, r.Float64())
			}
		}
	case LatinHypercube:
		samplemv.LatinHypercube{Q: distmv.NewUnitUniform(d, src), Src: src}.Sample(batch)
	case Halton:
		if d > 1000 {
			return nil, fmt.Errorf("sample: Halton points in %d dimensions; at most 1000", d)
		}
		samplemv.Halton{Kind: samplemv.Owen, Q: distmv.NewUnitUniform(d, src), Src: src}.Sample(batch)
	default:
		return nil, fmt.Errorf("sample: unknown method %v", m)
	}
	return batch, nil
}

// Interior returns n points in the box spread by m, drawn from seed.
func (b Box) Interior(m Method, n int, seed uint64) (*tensor.Tensor, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("sample: %d points", n)
	}
	d := b.Dim()
	u, err := unit(m, n, d, source(seed))
	if err != nil {
		return nil, err
	}
	out := tensor.Zeros(n, d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			out.Data()[i*d+j] = b.scale(j, u.At(i, j))
		}
	}
	return out, nil
}

// scale maps u in [0, 1] onto axis j, staying inside the box whatever the
// rounding.
func (b Box) scale(j int, u float64) float64 {
	return math.Min(b.Hi[j], math.Max(b.Lo[j], b.Lo[j]+u*(b.Hi[j]-b.Lo[j])))
}

// Face is one face of a box: the points whose coordinate Axis is the
// box's low bound, or its high bound when High.
type Face struct {
	Axis int
	High bool
}

// Faces returns every face of a d-dimensional box: low then high, axis by axis.
func Faces(d int) []Face {
	var fs []Face
	for a := 0; a < d; a++ {
		fs = append(fs, Face{a, false}, Face{a, true})
	}
	return fs
}

// OnFaces returns n points on the given faces of the box (all of them, the
// boundary, when none are given), shared among the faces in proportion to
// their areas (largest remainders; equal shares for faces of zero area or
// of a one-dimensional box) and spread on each face by m. The points come
// face by face in the order given. For a space-time box (t, x…), the
// initial slice is Face{0, false}.
func (b Box) OnFaces(m Method, n int, seed uint64, faces ...Face) (*tensor.Tensor, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if n < 0 {
		return nil, fmt.Errorf("sample: %d points", n)
	}
	d := b.Dim()
	if len(faces) == 0 {
		faces = Faces(d)
	}
	area := make([]float64, len(faces))
	total := 0.0
	for k, f := range faces {
		if f.Axis < 0 || f.Axis >= d {
			return nil, fmt.Errorf("sample: face on axis %d of a %d-dimensional box", f.Axis, d)
		}
		area[k] = 1
		for j := 0; j < d; j++ {
			if j != f.Axis {
				area[k] *= b.Hi[j] - b.Lo[j]
			}
		}
		total += area[k]
	}
	if total == 0 {
		for k := range area {
			area[k] = 1
		}
		total = float64(len(area))
	}
	counts := apportion(n, area, total)
	src := source(seed)
	out := tensor.Zeros(n, d)
	row := 0
	for k, f := range faces {
		u, err := unit(m, counts[k], d-1, src)
		if err != nil {
			return nil, err
		}
		for i := 0; i < counts[k]; i++ {
			p := out.Data()[row*d : (row+1)*d]
			c := 0
			for j := 0; j < d; j++ {
				if j == f.Axis {
					p[j] = b.Lo[j]
					if f.High {
						p[j] = b.Hi[j]
					}
					continue
				}
				p[j] = b.scale(j, u.At(i, c))
				c++
			}
			row++
		}
	}
	return out, nil
}

// apportion splits n in proportion to weights by largest remainders (ties
// to the earlier), so the counts add up to n exactly.
func apportion(n int, w []float64, total float64) []int {
	counts := make([]int, len(w))
	rem := make([]float64, len(w))
	left := n
	for k := range w {
		q := float64(n) * w[k] / total
		counts[k] = int(math.Floor(q))
		rem[k] = q - float64(counts[k])
		left -= counts[k]
	}
	order := make([]int, len(w))
	for k := range order {
		order[k] = k
	}
	sort.SliceStable(order, func(i, j int) bool { return rem[order[i]] > rem[order[j]] })
	for i := 0; i < left; i++ {
		counts[order[i%len(order)]]++
	}
	return counts
}
