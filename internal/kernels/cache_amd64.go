//go:build !purego

package kernels

//go:noescape
func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

// archCaches reads the data caches from CPUID's deterministic cache
// parameters: leaf 4 on Intel, leaf 0x8000001D on AMD (with TOPOEXT); on
// AMD where that leaf is missing or empty, from the older leaves 0x80000005
// and 0x80000006.
func archCaches() (cacheLevels, bool) {
	maxLeaf, vb, vc, vd := cpuid(0, 0)
	amd := vb == 0x68747541 && vd == 0x69746e65 && vc == 0x444d4163 // "AuthenticAMD"
	hygon := vb == 0x6f677948                                       // "HygonGenuine"
	if amd || hygon {
		maxExt, _, _, _ := cpuid(0x80000000, 0)
		_, _, ext, _ := cpuid(0x80000001, 0)
		if maxExt >= 0x8000001D && ext&(1<<22) != 0 { // TOPOEXT
			if c, ok := deterministicCaches(0x8000001D); ok {
				return c, true
			}
		}
		// Some hypervisors announce leaf 0x8000001D and fill it with
		// zeros but keep the older leaves (seen on a Zen 5 VM).
		if maxExt < 0x80000006 {
			return cacheLevels{}, false
		}
		_, _, l1, _ := cpuid(0x80000005, 0)
		_, _, l2, l3 := cpuid(0x80000006, 0)
		c := amdLegacyCaches(l1, l2, l3)
		return c, c.l1d.size > 0 && c.l2.size > 0
	}
	if maxLeaf < 4 {
		return cacheLevels{}, false
	}
	return deterministicCaches(4)
}

// deterministicCaches reads CPUID's deterministic cache parameters from
// leaf (4 on Intel, 0x8000001D on AMD: the same layout).
func deterministicCaches(leaf uint32) (cacheLevels, bool) {
	c := cacheLevels{source: "cpuid"}
	for sub := uint32(0); sub < 16; sub++ {
		eax, ebx, ecx, _ := cpuid(leaf, sub)
		typ := eax & 0x1f // 1 data, 2 instruction, 3 unified; 0: no more
		if typ == 0 {
			break
		}
		if typ == 2 {
			continue
		}
		level := (eax >> 5) & 7
		ways := int(ebx>>22) + 1
		parts := int((ebx>>12)&0x3ff) + 1
		line := int(ebx&0xfff) + 1
		sets := int(ecx) + 1
		info := cacheInfo{size: ways * parts * line * sets, ways: ways}
		if eax&(1<<9) != 0 { // fully associative
			info.ways = 0
		}
		switch level {
		case 1:
			c.l1d = info
		case 2:
			c.l2 = info
		case 3:
			c.l3 = info
		}
	}
	return c, c.l1d.size > 0 && c.l2.size > 0
}
