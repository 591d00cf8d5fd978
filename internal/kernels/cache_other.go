//go:build purego || !(amd64 || (darwin && arm64))

package kernels

// archCaches has no CPU-specific way here: the sizes come from sysfs.
func archCaches() (cacheLevels, bool) { return cacheLevels{}, false }
