//go:build purego || !(amd64 || arm64)

package kernels

func interleaveVec[T float](dst, src []T, ld, w, kb int) bool { return false }
func copyPanelVec[T float](dst, src []T, ld, w, kb int) bool  { return false }
