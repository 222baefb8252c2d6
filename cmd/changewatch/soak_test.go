package main

import (
	"strings"
	"testing"
)

// Bad soak flags are refused before anything starts, with exit code 2.
func TestSoakBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--corrupt", "5"}, "--corrupt"},
		{[]string{"--tasks", "3", "--corrupt", "4"}, "--corrupt"},
		{[]string{"--workers", "0"}, "--workers"},
		{[]string{"--fault-rate", "1.5"}, "--fault-rate"},
		{[]string{"--latency-rate", "-1"}, "--latency-rate"},
		{[]string{"--faults-until", "2"}, "--faults-until"},
		{[]string{"--no-such-flag"}, "no-such-flag"},
	} {
		code, _, stderr := runCLI(t, append([]string{"soak"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("soak %v: exit %d, stderr %q; want %d naming %s", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}
