package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

var wordLine = regexp.MustCompile(`WORD \$0x([0-9a-f]{8}) // (.*)$`)
var llvmEnc = regexp.MustCompile(`encoding: \[0x([0-9a-f]{2}),0x([0-9a-f]{2}),0x([0-9a-f]{2}),0x([0-9a-f]{2})\]`)

// verifyWords assembles the comment of every `WORD $0x… // insn` line of
// src with llvm-mc and checks that it encodes to the word. It returns the
// number of distinct instructions checked.
func verifyWords(src []byte) (int, error) {
	seen := map[string]uint32{}
	var order []string
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		m := wordLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v, _ := strconv.ParseUint(m[1], 16, 32)
		if old, ok := seen[m[2]]; ok {
			if old != uint32(v) {
				return 0, fmt.Errorf("%s encoded as both %08x and %08x", m[2], old, v)
			}
			continue
		}
		seen[m[2]] = uint32(v)
		order = append(order, m[2])
	}
	cmd := exec.Command("llvm-mc", "-triple=aarch64", "-mattr=+neon", "-show-encoding")
	cmd.Stdin = strings.NewReader(strings.Join(order, "\n") + "\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("llvm-mc: %v\n%s", err, out)
	}
	var got []uint32
	for _, l := range strings.Split(string(out), "\n") {
		if m := llvmEnc.FindStringSubmatch(l); m != nil {
			var v uint32
			for i := 4; i >= 1; i-- {
				b, _ := strconv.ParseUint(m[i], 16, 8)
				v = v<<8 | uint32(b)
			}
			got = append(got, v)
		}
	}
	if len(got) != len(order) {
		return 0, fmt.Errorf("llvm-mc encoded %d of %d instructions:\n%s", len(got), len(order), out)
	}
	for i, insn := range order {
		if got[i] != seen[insn] {
			return 0, fmt.Errorf("%s: generator %08x, llvm-mc %08x", insn, seen[insn], got[i])
		}
	}
	return len(order), nil
}
