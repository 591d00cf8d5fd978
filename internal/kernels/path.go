package kernels

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// A kernelPath is one instruction-set level's kernels: the GEMM
// micro-kernels and the elementwise maps. Each architecture lists its paths
// in archPaths (select_*.go); the environment variable JACOBI_KERNEL names
// the one to use, by default the best one the CPU can run.
type kernelPath struct {
	name string // as JACOBI_KERNEL spells it: "purego", "avx2", "avx512", "neon"
	// missing says what this CPU or build lacks to run the path; "" when
	// it can.
	missing string
	dgemm   *microKernel
	sgemm   *sgemmKernel
	// maps is the elementwise maps' level on this architecture (mapsGo,
	// mapsAVX2, … on amd64), installed by setMapLevel.
	maps int
}

// mapsGo is the maps' level of the portable Go loops, on every
// architecture.
const mapsGo = 0

// pathNames are the paths JACOBI_KERNEL may name, on any architecture.
var pathNames = []string{"purego", "avx2", "avx512", "neon"}

// pathEnv is the environment variable that forces a path.
const pathEnv = "JACOBI_KERNEL"

var (
	paths      = archPaths() // this architecture's paths, best last
	active     *kernelPath
	pathErr    error // from JACOBI_KERNEL; nil when unset or valid
	activeLock sync.Mutex
)

func init() {
	p, err := choosePath(os.Getenv(pathEnv))
	pathErr = err
	usePath(p)
}

// choosePath returns the path JACOBI_KERNEL (value env) names, or the best
// available one and an error that says why when env names a path that
// cannot run here.
func choosePath(env string) (*kernelPath, error) {
	best := paths[0]
	for _, p := range paths {
		if p.missing == "" {
			best = p
		}
	}
	env = strings.TrimSpace(env)
	if env == "" {
		return best, nil
	}
	p, err := findPath(env)
	if err != nil {
		return best, fmt.Errorf("%s=%s: %w", pathEnv, env, err)
	}
	return p, nil
}

// findPath returns the named path if it runs here, or an error that says
// why not.
func findPath(name string) (*kernelPath, error) {
	i := slices.IndexFunc(paths, func(p *kernelPath) bool { return p.name == name })
	if i < 0 {
		if slices.Contains(pathNames, name) {
			return nil, fmt.Errorf("no %s kernels on %s (this build has %s)", name, archName(), strings.Join(pathList(false), ", "))
		}
		return nil, fmt.Errorf("unknown kernel path (one of %s)", strings.Join(pathNames, ", "))
	}
	if p := paths[i]; p.missing != "" {
		return nil, fmt.Errorf("this CPU cannot run the %s kernels: %s (it can run %s)", name, p.missing, strings.Join(Paths(), ", "))
	}
	return paths[i], nil
}

func archName() string { return runtime.GOARCH }

func pathList(runnable bool) []string {
	var s []string
	for _, p := range paths {
		if !runnable || p.missing == "" {
			s = append(s, p.name)
		}
	}
	return s
}

// usePath makes every kernel use p.
func usePath(p *kernelPath) {
	activeLock.Lock()
	defer activeLock.Unlock()
	active = p
	kernel, kernel32 = p.dgemm, p.sgemm
	setMapLevel(p.maps)
}

// Path returns the name of the kernels in use: "avx512", "avx2", "neon" or
// "purego" (portable Go).
func Path() string {
	activeLock.Lock()
	defer activeLock.Unlock()
	return active.name
}

// Paths returns the names of the kernel paths this CPU and build can run,
// from the most portable to the fastest.
func Paths() []string { return pathList(true) }

// PathError reports a JACOBI_KERNEL setting that cannot be honoured (an
// unknown name, or a path this CPU or build cannot run); nil when the
// variable is unset or valid. The kernels then run on the default path, but
// the runtime refuses to compile programs and the jacobi command exits, so
// that a forced path is never silently replaced by another.
func PathError() error { return pathErr }

// CPU describes the processor for reports: its name, the features the
// kernels look at, and the cache sizes the GEMM's blocking is derived from.
func CPU() string { return cpuFeatures() + "; " + caches.String() }

// Blocking describes the GEMM micro-kernel and cache blocking in use for
// float64 (Dgemm) or, with f32, float32 (Sgemm).
func Blocking(f32 bool) string {
	if f32 {
		return kernel32.describe()
	}
	return kernel.describe()
}

// SetBlocking overrides the cache blocking of the GEMM micro-kernel in use
// for float64 or, with f32, float32; a 0 restores the value derived from the
// caches. For tuning experiments (gemmbench -tune); it must not be called
// while kernels run.
func SetBlocking(f32 bool, mc, kc, nc int) {
	if f32 {
		kernel32.setBlocking(mc, kc, nc)
	} else {
		kernel.setBlocking(mc, kc, nc)
	}
}

// UsePath switches every kernel (GEMM and elementwise maps) to the named
// path, for tests and benchmarks that compare paths; it fails if the CPU or
// build cannot run it. It must not be called while kernels run.
func UsePath(name string) error {
	p, err := findPath(name)
	if err != nil {
		return fmt.Errorf("kernels: %w", err)
	}
	usePath(p)
	return nil
}
