package kernels

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"
)

// Cache sizes, read from the CPU (CPUID on amd64) or from Linux's sysfs,
// set the GEMM's blocking (blockSizes), so that the blocks fit the caches
// of the machine it runs on rather than of the one it was tuned on.

// cacheInfo describes one level of data cache.
type cacheInfo struct {
	size int // bytes; 0 when absent or unknown
	ways int // associativity; 0 when unknown (or fully associative)
}

// cacheLevels are the data caches one core sees.
type cacheLevels struct {
	l1d, l2, l3 cacheInfo
	source      string // where the sizes come from: "cpuid", "sysfs" or "default"
}

// defaultCaches are assumed when neither the CPU nor the OS says: small
// values that are right for most CPUs of the last ten years.
var defaultCaches = cacheLevels{
	l1d:    cacheInfo{32 << 10, 8},
	l2:     cacheInfo{256 << 10, 8},
	l3:     cacheInfo{4 << 20, 16},
	source: "default",
}

// caches are this machine's.
var caches = detectCaches()

func detectCaches() cacheLevels {
	if c, ok := archCaches(); ok && c.plausible() {
		return c
	}
	if c, ok := sysfsCaches("/sys/devices/system/cpu/cpu0/cache"); ok && c.plausible() {
		return c
	}
	return defaultCaches
}

// plausible reports whether the sizes can be those of a real CPU (some
// hypervisors report zeros or nonsense); a missing L3 is allowed.
func (c cacheLevels) plausible() bool {
	return c.l1d.size >= 8<<10 && c.l1d.size <= 1<<20 &&
		c.l2.size >= 64<<10 && c.l2.size <= 64<<20 && c.l2.size >= c.l1d.size &&
		c.l3.size >= 0 && c.l3.size <= 4<<30
}

// sysfsCaches reads Linux's description of cpu0's caches under dir.
func sysfsCaches(dir string) (cacheLevels, bool) {
	c := cacheLevels{source: "sysfs"}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return c, false
	}
	read := func(d, name string) string {
		b, _ := os.ReadFile(filepath.Join(dir, d, name))
		return strings.TrimSpace(string(b))
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "index") {
			continue
		}
		typ := read(e.Name(), "type")
		if typ != "Data" && typ != "Unified" {
			continue
		}
		size := parseSize(read(e.Name(), "size"))
		ways, _ := strconv.Atoi(read(e.Name(), "ways_of_associativity"))
		info := cacheInfo{size, ways}
		switch read(e.Name(), "level") {
		case "1":
			c.l1d = info
		case "2":
			c.l2 = info
		case "3":
			c.l3 = info
		}
	}
	return c, c.l1d.size > 0 && c.l2.size > 0
}

// parseSize parses sysfs sizes: "32K", "1024K", "32M", "512".
func parseSize(s string) int {
	mul := 1
	switch {
	case strings.HasSuffix(s, "K"):
		mul, s = 1<<10, strings.TrimSuffix(s, "K")
	case strings.HasSuffix(s, "M"):
		mul, s = 1<<20, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "G"):
		mul, s = 1<<30, strings.TrimSuffix(s, "G")
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0
	}
	return v * mul
}

func (c cacheLevels) String() string {
	kib := func(x cacheInfo) string {
		if x.size == 0 {
			return "none"
		}
		if x.size >= 1<<20 && x.size%(1<<20) == 0 {
			return fmt.Sprintf("%d MiB", x.size>>20)
		}
		return fmt.Sprintf("%d KiB", x.size>>10)
	}
	return fmt.Sprintf("L1d %s, L2 %s, L3 %s (%s)", kib(c.l1d), kib(c.l2), kib(c.l3), c.source)
}

// blockSizes returns the GEMM blocking for an mr×nr micro-kernel on
// elements of es bytes, from the cache sizes (the analytical model of Low,
// Igual, Smith and Quintana-Orti, "Analytical modeling is enough for
// high-performance BLIS", TOMS 2016):
//
//   - kc: the kc×nr micro-panel of B stays in L1 while micro-panels of A
//     (mr×kc) stream through; of L1's ways, one is left to C and the rest
//     shared between B and A in proportion nr : mr.
//   - mc: the packed mc×kc block of A stays in L2 while B's micro-panels
//     stream through it: half of L2.
//   - nc: the packed kc×nc block of B, shared by the workers, stays in L3:
//     half of it, at most 4096 columns (the products here are narrower).
func blockSizes(c cacheLevels, mr, nr, es int) (mc, kc, nc int) {
	w := c.l1d.ways
	if w < 4 {
		w = 8
	}
	wB := max(1, (w-1)*nr/(nr+mr))
	kc = c.l1d.size / w * wB / (nr * es)
	kc = min(512, max(64, kc&^15))
	mc = c.l2.size / 2 / (kc * es)
	mc = min(64*mr, max(4*mr, mc)) / mr * mr
	l3 := c.l3.size
	if l3 == 0 {
		l3 = c.l2.size
	}
	nc = l3 / 2 / (kc * es) / nr * nr
	nc = min(4096/nr*nr, max(16*nr, nc))
	return mc, kc, nc
}

// blocked sets k's blocking from this machine's caches.
func blocked[T float](k *gemmKernel[T]) *gemmKernel[T] {
	var z T
	es := int(unsafe.Sizeof(z))
	k.mc, k.kc, k.nc = blockSizes(caches, k.mr, k.nr, es)
	return k
}

func (k *gemmKernel[T]) setBlocking(mc, kc, nc int) {
	blocked(k)
	if mc > 0 {
		k.mc = max(k.mr, mc/k.mr*k.mr)
	}
	if kc > 0 {
		k.kc = kc
	}
	if nc > 0 {
		k.nc = max(k.nr, nc/k.nr*k.nr)
	}
}

func (k *gemmKernel[T]) describe() string {
	return fmt.Sprintf("%s micro-kernel, blocks mc=%d kc=%d nc=%d", k.name, k.mc, k.kc, k.nc)
}

// amdLegacyCaches decodes the cache descriptions of AMD's CPUID leaves
// 0x80000005 (ECX: L1 data cache) and 0x80000006 (ECX: L2, EDX: L3), in
// the layout of AMD's CPUID specification: L1 size in KiB in bits 31:24
// and ways in 23:16; L2 size in KiB in bits 31:16; L3 size in 512 KiB
// units in bits 31:18; L2 and L3 ways coded in bits 15:12.
func amdLegacyCaches(l1ecx, l2ecx, l3edx uint32) cacheLevels {
	l1Ways := int(l1ecx >> 16 & 0xff)
	if l1Ways == 0xff { // fully associative
		l1Ways = 0
	}
	return cacheLevels{
		l1d:    cacheInfo{int(l1ecx>>24) << 10, l1Ways},
		l2:     cacheInfo{int(l2ecx>>16) << 10, amdWays(l2ecx >> 12 & 0xf)},
		l3:     cacheInfo{int(l3edx>>18) << 19, amdWays(l3edx >> 12 & 0xf)},
		source: "cpuid",
	}
}

// amdWays decodes the associativity field of AMD's leaf 0x80000006; 0 for
// fully associative, for a disabled cache and for codes that defer to
// leaf 0x8000001D.
func amdWays(code uint32) int {
	return [16]int{0, 1, 2, 3, 4, 6, 8, 0, 16, 0, 32, 48, 64, 96, 128, 0}[code]
}
