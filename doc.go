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
// First derivatives use forward or reverse mode by the cost model (Auto,
// see JacobianMode); Laplacians and operators use collapsed second-order
// Taylor mode, Hessians forward-over-reverse.
//
// # Derivatives inside traced functions
//
// Every derivative has a form on nodes (BatchJacobianOf, BatchGradOf,
// BatchLaplacianOf, …) that records its program into the enclosing trace,
// so a loss can contain u_x and Δu and then be differentiated with respect
// to network parameters (ValueAndGrad, ValueAndGradOf) — what PyTorch users
// do with create_graph=True.
//
// A traced training step (Trace of ValueAndGradOf's results) is per-sample
// work except for its sums over the batch: the loss's mean, the parameter
// gradients. Trace finds that cut (transform.SplitSums) and Run computes
// the per-sample part in chunks of the batch that stay in cache, one chunk
// per core, then the rest from the sums.
package jacobi
