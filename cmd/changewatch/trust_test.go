package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// A Redis password is never printed: not in -h defaults, not in errors.
func TestRedisPasswordIsRedacted(t *testing.T) {
	t.Setenv("CHANGEWATCH_REDIS_URL", "redis://user:s3cret-pw@127.0.0.1:1/0")
	for _, args := range [][]string{
		{"worker", "-h"},
		{"enqueue", "-h"},
		{"status", "--redis", "redis://:s3cret-pw@127.0.0.1:1/x"},
		{"status", "--redis", "redis://:s3cret-pw@127.0.0.1:1/0"},
		{"enqueue", "--redis", "redis://:s3cret-pw@127.0.0.1:1/0", "--aoi", "../../testdata/aoi/mine_site.geojson", "--catalog", "c", "--out", "o"},
	} {
		var stdout, stderr bytes.Buffer
		run(context.Background(), args, &stdout, &stderr)
		out := stdout.String() + stderr.String()
		if strings.Contains(out, "s3cret-pw") {
			t.Errorf("%v prints the password:\n%s", args, out)
		}
		if !strings.Contains(out, "xxxxx") && !strings.Contains(out, "127.0.0.1:1") {
			t.Errorf("%v: neither the redacted URL nor the address in:\n%s", args, out)
		}
		for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
			if strings.Contains(line, "redis:") && strings.Contains(line, "pool") && !strings.HasPrefix(line, "{") {
				t.Errorf("%v: go-redis log line not JSON: %s", args, line)
			}
		}
	}
}
