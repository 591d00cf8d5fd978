//go:build !race

package jacobi_test

const raceEnabled = false
