package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The summary's time is the whole job: loading, lowering and checking the
// model, reading the input, compiling and running, each part shown. A clock
// that moves 1, 2, 4, 8, 16 s between successive readings tells which
// readings each part spans (model: the first and third steps, 1 + 4 s) and
// that the total spans them all.
func TestSummaryTimeCoversEveryPhase(t *testing.T) {
	defer func(f func() time.Time) { now = f }(now)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"jacobian", []string{"jacobian", "--model", "../../testdata/models/mlp/model.onnx", "--input", "../../testdata/models/mlp/x.npy"}},
		{"laplacian", []string{"laplacian", "--model", "../../testdata/models/mlp/model.onnx", "--batch", "3"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			step := time.Second
			now = func() time.Time {
				t := base
				base = base.Add(step)
				step *= 2
				return t
			}
			var stdout, stderr bytes.Buffer
			if code := run(append(c.args, "--quiet"), &stdout, &stderr, false); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			want := "  time    31.00s (load, lower and check the model 5.00s, read the input 2.00s, trace, transform and compile 8.00s, run 16.00s)\n"
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("summary:\n%s\nwant the line\n%s", stdout.String(), want)
			}
		})
	}
}

// On the real clock the parts add up to the total (to the printed
// precision) and the model's part is there.
func TestSummaryTimeAddsUp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"jacobian", "--model", "../../testdata/models/mlp/model.onnx", "--input", "../../testdata/models/mlp/x.npy", "--quiet"}
	if code := run(args, &stdout, &stderr, false); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	d := `([0-9.]+)(µs|ms|s)`
	re := regexp.MustCompile(`time    ` + d + ` \(load, lower and check the model ` + d + `, read the input ` + d + `, trace, transform and compile ` + d + `, run ` + d + `\)`)
	m := re.FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("no time line in the summary:\n%s", stdout.String())
	}
	// Each printed value is rounded (dur): to the microsecond, to a
	// tenth of a millisecond or to a hundredth of a second.
	halfUnit := map[string]time.Duration{"µs": time.Microsecond / 2, "ms": 50 * time.Microsecond, "s": 5 * time.Millisecond}
	var parts [5]time.Duration
	var tol time.Duration
	for i := range parts {
		v, err := time.ParseDuration(m[1+2*i] + strings.Replace(m[2+2*i], "µs", "us", 1))
		if err != nil {
			t.Fatal(err)
		}
		parts[i] = v
		tol += halfUnit[m[2+2*i]]
	}
	sum := parts[1] + parts[2] + parts[3] + parts[4]
	if diff := (sum - parts[0]).Abs(); diff > tol {
		t.Errorf("parts add up to %v, the total is %v:\n%s", sum, parts[0], stdout.String())
	}
	if parts[1] <= 0 {
		t.Errorf("loading and lowering the model took no time:\n%s", stdout.String())
	}
}
