// Package jacobi computes derivatives of batched functions per sample.
//
// For inputs x of shape (b, in) and a function f that maps every row on its
// own, jacobi returns per-sample Jacobians (b, out, in), Hessians
// (b, out, in, in), Hessian diagonals (b, out, in), Laplacians (b, out),
// general second-order operators, JVPs, VJPs and gradients — exactly, with
// no b×b cross-sample blocks, and differentiable again.
//
// # How it works
//
// A function of *Node is traced into a program of primitives (package ir,
// primitives in package op). Before any per-sample derivative, the program
// is proved row-independent: the Unbatch transform (package transform)
// removes the batch axis from every value, which succeeds only if no
// primitive mixes samples, and otherwise returns an error naming the
// primitive and the line of user code (a mean over the batch, batch norm in
// training mode, a reshape that merges samples). The per-sample program is
// then differentiated by the JVP, VJP or Taylor transforms, mapped over
// basis directions and back over the batch by Vmap, simplified, and run by
// the compiled runtime (package exec) in chunks of the batch on every core.
//
// First derivatives use forward or reverse mode by the cost model (ModeAuto,
// see JacobianMode); Laplacians and operators use collapsed second-order
// Taylor mode. Hessians use forward-over-reverse or, where the cost model
// finds it cheaper (few inputs, wide layers), a sum of Gram matrices of
// forward Jacobians, one per nonlinear operation (MethodGram); Hessian
// diagonals the cheapest of Taylor mode, nested differentiation and the
// Gram matrices' diagonals.
//
// # API at a glance
//
// Every derivative has two forms: X on tensors traces, transforms, compiles
// and runs once; XOf on nodes records the derivative inside a traced
// function, where it can be differentiated again. For x of shape (b, in)
// and f(x) of shape (b, out):
//
//	tensors           nodes               result                     options
//	BatchJacobian     BatchJacobianOf     (b, out, in)               WithMode
//	BatchGrad         BatchGradOf         (b, in), out = 1           —
//	BatchHessian      BatchHessianOf      (b, out, in, in)           WithMethod
//	BatchHessianDiag  BatchHessianDiagOf  (b, out, in)               WithMethod
//	BatchLaplacian    BatchLaplacianOf    (b, out)                   WithMethod, WithEstimator
//	BatchOperator     BatchOperatorOf     (b, out)                   —
//	BatchJet          BatchJetOf          f, (b, out, k), (b, out)   —
//	Jacobian          JacobianOf          f(x).shape ++ x.shape      WithMode
//	Grad              GradOf              x.shape, one output        —
//	Hessian           HessianOf           x.shape ++ x.shape         WithMethod
//	JVP               JVPOf               f(x) and J·v               —
//	VJP               VJPOf               f(x) and uᵀ·J              —
//	ValueAndGrad      ValueAndGradOf      f(xs) and ∇f for each x    —
//	Eval              (call f)            f(x)                       —
//	Vmap (an Fn)      VmapOf              f on every row of x        —
//
// The Batch* derivatives prove that f maps every sample on its own and
// fail, naming the operation and line, if it does not. The options in the
// table shape the derivative and go to both forms; WithChunk and
// WithWorkers say how a program runs and go to the Batch* forms on
// tensors, to Compile (a per-sample function, compiled once, run at any
// batch size) and to Trace (any function of several inputs, traced once).
// Functions are an Fn (one node to one node), a MultiFn (several to
// several, for Trace) or a LossFn (several to one single-element node, for
// ValueAndGrad).
//
// # Precision
//
// Values are float64 or float32 (tensor.DType). A function traced on
// float32 inputs computes in float32 — its derivatives too, with float32
// kernels (SGEMM, float32 elementwise maps): twice the SIMD lanes, half the
// bytes — and returns float32: BatchJacobian(f, x32) is float32. The
// one-shot functions compute in their input's dtype; Compile and Trace
// prepare float64 programs unless WithDType says otherwise, and their runs
// refuse inputs of the other dtype. Operands of one operation have one
// dtype, or the trace fails naming the operation and the line: convert
// with Node.Convert, whose derivative is the conversion of the tangent.
// Go numbers (Scalar, Scale, AddScalar, Clip) are weakly typed, as Python
// scalars are in JAX: they take the dtype of the values they meet, so
// x.Scale(0.5) of a float32 x is float32; a tensor constant (Const) keeps
// its dtype. Results are deterministic in float32 as in float64, whatever
// the chunk size and the number of workers.
//
// # Derivatives inside traced functions
//
// Every derivative has a form on nodes (BatchJacobianOf, BatchGradOf,
// BatchLaplacianOf, …) that records its program into the enclosing trace,
// so a loss can contain u_x and Δu and then be differentiated with respect
// to network parameters (ValueAndGrad, ValueAndGradOf) — what PyTorch users
// do with create_graph=True.
//
// Traces nest in time, as in JAX: a derivative's function runs once, in a
// trace nested in the innermost one whose function is running, and may use
// the values of every enclosing function (they are captured as inputs of
// the derivative's program). A per-sample derivative (Batch…Of) treats a
// captured value as shared by all samples, or, where its leading dimension
// is the batch's and the function needs it so, as the samples' rows: u_xx
// of u(t, x) with t captured beside x is BatchHessianDiagOf of
// func(x) { u(Concat(1, t, x)) } at x. A value kept from a derivative's
// function and used after that function returned is an error that says so.
// Errors name the derivatives from the outside in, then the operation and
// the line of user code that failed. A derivative finds the trace it runs in through
// its arguments: one whose arguments are all constants is computed at once,
// on its own. Each entry point (Trace, Compile, a one-shot derivative)
// traces on the goroutine that calls it; several may trace at once on
// different goroutines, but one trace is not for several goroutines.
//
// A traced training step (Trace of ValueAndGradOf's results) is per-sample
// work except for its sums over the batch: the loss's mean, the parameter
// gradients. Trace finds that cut (transform.SplitSums) and Run computes
// the per-sample part in chunks of the batch that stay in cache, one chunk
// per core, then the rest from the sums. Per-sample derivatives keep that
// cut, alone or nested, in every mode and method, and so does the gradient
// (reverse mode) of a sum over the samples, PyTorch's way to per-sample
// gradients.
package jacobi
