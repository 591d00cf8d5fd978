//go:build !purego

package kernels

import "golang.org/x/sys/unix"

// archCaches reads the data caches of Apple silicon from sysctl (macOS has
// no sysfs): the performance cores' (hw.perflevel0.*, macOS 12 and later),
// else the machine-wide values. Associativity is not reported; the L3
// (the system-level cache) neither.
func archCaches() (cacheLevels, bool) {
	size := func(name string) int {
		for _, prefix := range []string{"hw.perflevel0.", "hw."} {
			if v, err := unix.SysctlUint64(prefix + name); err == nil && v > 0 && v < 1<<40 {
				return int(v)
			}
		}
		return 0
	}
	c := cacheLevels{
		l1d:    cacheInfo{size: size("l1dcachesize")},
		l2:     cacheInfo{size: size("l2cachesize")},
		source: "sysctl",
	}
	return c, c.l1d.size > 0 && c.l2.size > 0
}
