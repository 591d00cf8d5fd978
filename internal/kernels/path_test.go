package kernels

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestChoosePath(t *testing.T) {
	best := paths[0]
	for _, p := range paths {
		if p.missing == "" {
			best = p
		}
	}
	type want struct {
		path *kernelPath
		err  string // substring of the error; "" for none
	}
	cases := map[string]want{
		"":        {best, ""},
		"  ":      {best, ""},
		"purego":  {paths[0], ""},
		"AVX2":    {best, "unknown kernel path"},
		"sse4":    {best, "unknown kernel path"},
		"default": {best, "unknown kernel path"},
	}
	for _, name := range pathNames {
		i := slices.IndexFunc(paths, func(p *kernelPath) bool { return p.name == name })
		switch {
		case i < 0:
			cases[name] = want{best, "no " + name + " kernels on " + archName()}
		case paths[i].missing != "":
			cases[name] = want{best, paths[i].missing}
		default:
			cases[name] = want{paths[i], ""}
		}
	}
	for env, w := range cases {
		p, err := choosePath(env)
		if p != w.path {
			t.Errorf("JACOBI_KERNEL=%q: path %s, want %s", env, p.name, w.path.name)
		}
		switch {
		case w.err == "" && err != nil:
			t.Errorf("JACOBI_KERNEL=%q: %v", env, err)
		case w.err != "" && (err == nil || !strings.Contains(err.Error(), w.err) || !strings.Contains(err.Error(), "JACOBI_KERNEL="+strings.TrimSpace(env))):
			t.Errorf("JACOBI_KERNEL=%q: error %v, want one that names the setting and says %q", env, err, w.err)
		}
	}
}

// Every path the CPU can run computes products and maps: the GEMM within
// its rounding bound, the maps bit for bit as the portable Go loops.
func TestUsePath(t *testing.T) {
	defer func(p *kernelPath) { usePath(p) }(active)
	r := rand.New(rand.NewPCG(11, 12))
	m, n, k := 37, 29, 41
	a, b := randSlice(r, m*k), randSlice(r, k*n)
	c := make([]float64, m*n)
	want, bound := naiveGemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
	x := make([]float64, 1000)
	for i := range x {
		x[i] = (r.Float64()*2 - 1) * 30
	}
	goExp := make([]float64, len(x))
	expSliceGo(goExp, x)
	for _, name := range Paths() {
		if err := UsePath(name); err != nil {
			t.Fatal(err)
		}
		if Path() != name || kernel != active.dgemm {
			t.Fatalf("UsePath(%s): Path() = %s, GEMM kernel %s", name, Path(), kernel.name)
		}
		Dgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		for i := range c {
			if !(math.Abs(c[i]-want[i]) <= bound[i]) {
				t.Fatalf("%s: C[%d] = %v, want %v", name, i, c[i], want[i])
			}
		}
		y := make([]float64, len(x))
		Exp(y, x)
		for i := range y {
			if math.Float64bits(y[i]) != math.Float64bits(goExp[i]) {
				t.Fatalf("%s: Exp(%v) = %v, the Go loop gives %v", name, x[i], y[i], goExp[i])
			}
		}
	}
	for _, name := range []string{"neon-ish", "avx1024"} {
		if err := UsePath(name); err == nil {
			t.Errorf("UsePath(%q) succeeded", name)
		}
	}
}

func TestParseSize(t *testing.T) {
	for s, want := range map[string]int{"32K": 32 << 10, "1024K": 1 << 20, "32M": 32 << 20, "512": 512, "1G": 1 << 30, "": 0, "x": 0, "-4K": 0} {
		if got := parseSize(s); got != want {
			t.Errorf("parseSize(%q) = %d, want %d", s, got, want)
		}
	}
}

func TestSysfsCaches(t *testing.T) {
	dir := t.TempDir()
	for i, c := range [][4]string{
		{"1", "Data", "48K", "12"},
		{"1", "Instruction", "32K", "8"},
		{"2", "Unified", "1024K", "16"},
		{"3", "Unified", "32768K", "16"},
	} {
		d := filepath.Join(dir, "index"+string(rune('0'+i)))
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for j, f := range []string{"level", "type", "size", "ways_of_associativity"} {
			if err := os.WriteFile(filepath.Join(d, f), []byte(c[j]+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, ok := sysfsCaches(dir)
	want := cacheLevels{l1d: cacheInfo{48 << 10, 12}, l2: cacheInfo{1 << 20, 16}, l3: cacheInfo{32 << 20, 16}, source: "sysfs"}
	if !ok || got != want {
		t.Errorf("sysfsCaches = %+v, %v; want %+v", got, ok, want)
	}
	if _, ok := sysfsCaches(filepath.Join(dir, "missing")); ok {
		t.Error("a missing directory gave caches")
	}
}

func TestAMDLegacyCaches(t *testing.T) {
	for _, c := range []struct {
		name       string
		l1, l2, l3 uint32
		want       cacheLevels
	}{
		// Read off a Zen 5 VM whose leaf 0x8000001D is all zeros (its
		// L3 is the whole socket's, and its L3 ways defer to that leaf).
		{"zen5-vm", 0x300c0140, 0x04006140, 0x0fe09140,
			cacheLevels{l1d: cacheInfo{48 << 10, 12}, l2: cacheInfo{1 << 20, 8}, l3: cacheInfo{508 << 20, 0}, source: "cpuid"}},
		// Zen 3's sizes, encoded in the layout of AMD's documentation,
		// with an L3 ways code (0xB: 48) to exercise the table.
		{"zen3", 0x20080140, 0x02006140, 0x0100b140,
			cacheLevels{l1d: cacheInfo{32 << 10, 8}, l2: cacheInfo{512 << 10, 8}, l3: cacheInfo{32 << 20, 48}, source: "cpuid"}},
		{"no-l3", 0x400401ff, 0x01008140, 0,
			cacheLevels{l1d: cacheInfo{64 << 10, 4}, l2: cacheInfo{256 << 10, 16}, source: "cpuid"}},
	} {
		if got := amdLegacyCaches(c.l1, c.l2, c.l3); got != c.want {
			t.Errorf("%s: amdLegacyCaches = %v %+v, want %v %+v", c.name, got, got, c.want, c.want)
		}
	}
}

// The CPU's own description of its caches (CPUID) agrees with the OS's.
func TestDetectCaches(t *testing.T) {
	if !caches.plausible() {
		t.Fatalf("implausible caches %v", caches)
	}
	arch, okArch := archCaches()
	sys, okSys := sysfsCaches("/sys/devices/system/cpu/cpu0/cache")
	if !okArch || !okSys {
		t.Skipf("only one source of cache sizes here (cpuid %v, sysfs %v)", okArch, okSys)
	}
	if arch.l1d.size != sys.l1d.size || arch.l2.size != sys.l2.size {
		t.Errorf("cpuid says %v, sysfs %v", arch, sys)
	}
}

func TestBlockSizes(t *testing.T) {
	zen3 := cacheLevels{l1d: cacheInfo{32 << 10, 8}, l2: cacheInfo{512 << 10, 8}, l3: cacheInfo{32 << 20, 16}}
	if mc, kc, nc := blockSizes(zen3, 6, 8, 8); kc != 256 || nc != 4096 || mc%6 != 0 {
		t.Errorf("Zen 3, 6x8 doubles: mc, kc, nc = %d, %d, %d; want kc 256 (half of L1), nc 4096", mc, kc, nc)
	}
	for _, c := range []cacheLevels{zen3, defaultCaches,
		{l1d: cacheInfo{48 << 10, 12}, l2: cacheInfo{2 << 20, 16}, l3: cacheInfo{105 << 20, 15}},
		{l1d: cacheInfo{64 << 10, 4}, l2: cacheInfo{4 << 20, 16}},
		{l1d: cacheInfo{16 << 10, 0}, l2: cacheInfo{128 << 10, 0}},
	} {
		for _, k := range [][3]int{{6, 8, 8}, {8, 16, 8}, {4, 4, 8}, {6, 16, 4}, {8, 32, 4}} {
			mr, nr, es := k[0], k[1], k[2]
			mc, kc, nc := blockSizes(c, mr, nr, es)
			if mc%mr != 0 || nc%nr != 0 || mc < mr || kc < 64 || kc > 512 || nc < nr {
				t.Errorf("%v, %dx%d: mc, kc, nc = %d, %d, %d", c, mr, nr, mc, kc, nc)
			}
			if kc > 64 && kc*nr*es > c.l1d.size || mc > 4*mr && mc*kc*es > c.l2.size {
				t.Errorf("%v, %dx%d: mc, kc = %d, %d overflow the caches", c, mr, nr, mc, kc)
			}
		}
	}
}
