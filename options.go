package jacobi

import (
	"fmt"
	"runtime"

	"github.com/jacobi-ad/jacobi/exec"
	"github.com/jacobi-ad/jacobi/tensor"
)

// Options come in two kinds, and every function takes only those it
// honours, by type: options that shape a derivative (WithMode, WithMethod,
// WithEstimator) go to the derivatives they apply to, options that say how
// a compiled program runs (WithChunk, WithWorkers, WithDType) to Compile, Trace and
// the one-shot derivatives that compile and run. A value out of range, or a
// nil option, is an error of the function it is given to.

// Mode selects how first derivatives are computed.
type Mode int

const (
	// ModeAuto picks forward or reverse mode by the cost model (fewer
	// FLOPs, then fewer bytes moved; see JacobianMode).
	ModeAuto Mode = iota
	// ModeForward pushes one tangent per input through the program (cheap
	// when there are few inputs).
	ModeForward
	// ModeReverse pulls one cotangent per output back through the program
	// (cheap when there are few outputs).
	ModeReverse
)

// String returns the mode's name.
func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeForward:
		return "forward"
	case ModeReverse:
		return "reverse"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Method selects how second-order operators are computed.
type Method int

const (
	// MethodAuto uses collapsed Taylor mode for Laplacians, and for
	// Hessians and their diagonals whichever of the methods that compute
	// them (Taylor mode for diagonals, nested differentiation, Gram
	// matrices) the cost model finds cheaper.
	MethodAuto Method = iota
	// MethodTaylor propagates second-order Taylor coefficients forward
	// (Hessian diagonals and Laplacians).
	MethodTaylor
	// MethodNested differentiates twice: forward over reverse.
	MethodNested
	// MethodGram computes a Hessian as a sum of weighted Gram matrices of
	// forward Jacobians: one forward pass with a tangent per input, one
	// reverse pass, and a small product per nonlinear operation; a Hessian
	// diagonal or Laplacian forms only the matrices' diagonals. It takes
	// functions built of elementwise operations, products and linear maps,
	// which is every function jacobi traces today.
	MethodGram
)

// String returns the method's name.
func (m Method) String() string {
	switch m {
	case MethodAuto:
		return "auto"
	case MethodTaylor:
		return "taylor"
	case MethodNested:
		return "nested"
	case MethodGram:
		return "gram"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// EstimatorKind is a kind of stochastic estimator of a Laplacian.
type EstimatorKind int

const (
	// EstimatorHutchinson draws Rademacher directions v and estimates the
	// trace of the Hessian H as the mean of vᵀHv; its variance is
	// 2·Σ_{i≠j} H_ij² / Samples.
	EstimatorHutchinson EstimatorKind = iota + 1
	// EstimatorSampledDims draws Samples coordinates uniformly with
	// replacement and estimates in·mean H_ii; its variance is
	// (in·Σ_i H_ii² − (Σ_i H_ii)²) / Samples.
	EstimatorSampledDims
)

// String returns the kind's name.
func (k EstimatorKind) String() string {
	switch k {
	case EstimatorHutchinson:
		return "hutchinson"
	case EstimatorSampledDims:
		return "sampled dims"
	}
	return fmt.Sprintf("EstimatorKind(%d)", int(k))
}

// Estimator replaces an exact Laplacian by an unbiased stochastic estimate
// from a few random directions, for inputs of hundreds or thousands of
// dimensions. The same directions serve every sample; they are drawn from
// a source seeded with Seed, so results are reproducible.
type Estimator struct {
	Kind    EstimatorKind
	Samples int // how many directions, at least 1
	Seed    uint64
}

// Hutchinson returns Hutchinson's trace estimator with Rademacher directions.
func Hutchinson(samples int, seed uint64) Estimator {
	return Estimator{Kind: EstimatorHutchinson, Samples: samples, Seed: seed}
}

// SampledDims returns the sampled-dimension estimator (as in Shi et al.,
// "Stochastic Taylor Derivative Estimator", 2024).
func SampledDims(samples int, seed uint64) Estimator {
	return Estimator{Kind: EstimatorSampledDims, Samples: samples, Seed: seed}
}

func (e Estimator) check() error {
	if e.Kind != EstimatorHutchinson && e.Kind != EstimatorSampledDims {
		return fmt.Errorf("WithEstimator: %v is not an estimator kind (want EstimatorHutchinson or EstimatorSampledDims)", e.Kind)
	}
	if e.Samples < 1 {
		return fmt.Errorf("WithEstimator: the %v estimator needs at least one sample, got %d", e.Kind, e.Samples)
	}
	return nil
}

// ---- options that shape a derivative ----

// ModeOption chooses forward or reverse mode (WithMode).
type ModeOption struct{ mode Mode }

// WithMode chooses forward or reverse mode for first derivatives (default
// ModeAuto).
func WithMode(m Mode) ModeOption { return ModeOption{m} }

// MethodOption chooses how a second-order derivative is computed (WithMethod).
type MethodOption struct{ method Method }

// WithMethod chooses how Hessians, Hessian diagonals and Laplacians are
// computed (default MethodAuto).
func WithMethod(m Method) MethodOption { return MethodOption{m} }

// EstimatorOption asks for a stochastic estimate (WithEstimator).
type EstimatorOption struct{ estimator Estimator }

// WithEstimator makes a Laplacian an unbiased estimate instead of exact.
func WithEstimator(e Estimator) EstimatorOption { return EstimatorOption{e} }

// ---- options that say how a program runs ----

// RunOption says how a compiled program runs: WithChunk, WithWorkers or
// WithDType. Results do not depend on the number of workers; they depend
// on the chunk only where a traced program sums over its samples (the sums
// are added chunk by chunk).
type RunOption struct {
	chunk, workers int
	dtype          tensor.DType
	set            runSetting
}

type runSetting int

const (
	setChunk runSetting = iota + 1
	setWorkers
	setDType
)

// WithChunk sets how many samples are run together (default: 256, more
// for programs too cheap to be worth splitting that finely; for a traced
// program with sums over its samples, what the cost model picks).
func WithChunk(n int) RunOption { return RunOption{chunk: n, set: setChunk} }

// WithWorkers sets how many chunks run at once, each on its own goroutine
// (default GOMAXPROCS).
func WithWorkers(n int) RunOption { return RunOption{workers: n, set: setWorkers} }

// WithDType sets the dtype a program computes in: the dtype of the inputs
// Compile and Trace prepare it for (default float64), and for the one-shot
// derivatives (BatchJacobian, …), which otherwise compute in their input's
// dtype, the dtype the input is converted to first.
func WithDType(dt tensor.DType) RunOption { return RunOption{dtype: dt, set: setDType} }

// ---- which function takes which options ----

// JacobianOption shapes a Jacobian: WithMode.
type JacobianOption interface{ jacobianOption() }

// HessianOption shapes a Hessian: WithMethod (MethodAuto, MethodNested or
// MethodGram).
type HessianOption interface{ hessianOption() }

// HessianDiagOption shapes a Hessian diagonal: WithMethod.
type HessianDiagOption interface{ hessianDiagOption() }

// LaplacianOption shapes a Laplacian: WithMethod or WithEstimator.
type LaplacianOption interface{ laplacianOption() }

// BatchJacobianOption is an option of BatchJacobian: WithMode, WithChunk
// or WithWorkers.
type BatchJacobianOption interface{ batchJacobianOption() }

// BatchHessianOption is an option of BatchHessian: WithMethod, WithChunk,
// WithWorkers or WithDType.
type BatchHessianOption interface{ batchHessianOption() }

// BatchHessianDiagOption is an option of BatchHessianDiag: WithMethod,
// WithChunk or WithWorkers.
type BatchHessianDiagOption interface{ batchHessianDiagOption() }

// BatchLaplacianOption is an option of BatchLaplacian: WithMethod,
// WithEstimator, WithChunk or WithWorkers.
type BatchLaplacianOption interface{ batchLaplacianOption() }

func (ModeOption) jacobianOption()            {}
func (ModeOption) batchJacobianOption()       {}
func (MethodOption) hessianOption()           {}
func (MethodOption) batchHessianOption()      {}
func (RunOption) batchHessianOption()         {}
func (MethodOption) hessianDiagOption()       {}
func (MethodOption) laplacianOption()         {}
func (MethodOption) batchHessianDiagOption()  {}
func (MethodOption) batchLaplacianOption()    {}
func (EstimatorOption) laplacianOption()      {}
func (EstimatorOption) batchLaplacianOption() {}
func (RunOption) batchJacobianOption()        {}
func (RunOption) batchHessianDiagOption()     {}
func (RunOption) batchLaplacianOption()       {}

// ---- the settings options make ----

// derivConfig is what shapes a derivative.
type derivConfig struct {
	mode      Mode
	method    Method
	estimator *Estimator
}

// runConfig is how a program runs.
type runConfig struct {
	chunk    int
	chunkSet bool // chunk is the caller's, not the default
	workers  int
	dtype    tensor.DType
	dtypeSet bool // dtype is the caller's
}

// defaultChunk is how many samples run together unless the program is so
// cheap that a chunk this size would not pay for its scheduling.
const defaultChunk = exec.DefaultChunk

// configure reads options of any of the kinds above, checking each value.
func configure[O any](opts []O) (derivConfig, runConfig, error) {
	d := derivConfig{mode: ModeAuto, method: MethodAuto}
	r := runConfig{chunk: defaultChunk, workers: runtime.GOMAXPROCS(0)}
	for i, o := range opts {
		switch o := any(o).(type) {
		case nil:
			return d, r, fmt.Errorf("option %d is nil", i)
		case ModeOption:
			if o.mode < ModeAuto || o.mode > ModeReverse {
				return d, r, fmt.Errorf("WithMode(%v): not a mode (want ModeAuto, ModeForward or ModeReverse)", o.mode)
			}
			d.mode = o.mode
		case MethodOption:
			if o.method < MethodAuto || o.method > MethodGram {
				return d, r, fmt.Errorf("WithMethod(%v): not a method (want MethodAuto, MethodTaylor, MethodNested or MethodGram)", o.method)
			}
			d.method = o.method
		case EstimatorOption:
			if err := o.estimator.check(); err != nil {
				return d, r, err
			}
			e := o.estimator
			d.estimator = &e
		case RunOption:
			switch o.set {
			case setChunk:
				if o.chunk < 1 {
					return d, r, fmt.Errorf("WithChunk(%d): the chunk must be at least one sample", o.chunk)
				}
				r.chunk, r.chunkSet = o.chunk, true
			case setWorkers:
				if o.workers < 1 {
					return d, r, fmt.Errorf("WithWorkers(%d): there must be at least one worker", o.workers)
				}
				r.workers = o.workers
			case setDType:
				if !o.dtype.Valid() {
					return d, r, fmt.Errorf("WithDType(%v): not a dtype (want tensor.Float64 or tensor.Float32)", o.dtype)
				}
				r.dtype, r.dtypeSet = o.dtype, true
			default:
				return d, r, fmt.Errorf("option %d is an empty RunOption (use WithChunk, WithWorkers or WithDType)", i)
			}
		default:
			return d, r, fmt.Errorf("option %d is of type %T, which jacobi does not know", i, o)
		}
	}
	if d.estimator != nil && (d.method == MethodNested || d.method == MethodGram) {
		return d, r, fmt.Errorf("WithEstimator and WithMethod(%v) do not go together: estimators use Taylor mode", d.method)
	}
	return d, r, nil
}
