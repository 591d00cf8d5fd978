package exec_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	jexec "github.com/jacobi-ad/jacobi/exec"
	"github.com/jacobi-ad/jacobi/ir"
	"github.com/jacobi-ad/jacobi/op"
)

// A JACOBI_KERNEL that cannot be honoured makes Compile fail with an error
// that names it (checked in a child process: the variable is read once).
func TestCompileRefusesBadKernelEnv(t *testing.T) {
	if os.Getenv("JACOBI_KERNEL") == "no-such-path" {
		b := ir.NewBuilder(nil)
		p, err := b.Build(b.Emit(op.Exp{}, b.Input([]int{2, 3})))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := jexec.Compile(p); err == nil || !strings.Contains(err.Error(), "JACOBI_KERNEL=no-such-path") {
			t.Fatalf("Compile: %v", err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCompileRefusesBadKernelEnv$")
	cmd.Env = append(os.Environ(), "JACOBI_KERNEL=no-such-path")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "PASS") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
