package main

import (
	"context"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/changewatch/changewatch/demo"
	"github.com/changewatch/changewatch/synth"
)

// demoMiniredisEnv forces the in-process miniredis even when redis-server is installed
// (tests use it; so can anyone who wants the pure-Go path).
const demoMiniredisEnv = "CHANGEWATCH_DEMO_MINIREDIS"

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", stderr)
	var c demo.Config
	var redisURL, logLevel string
	fs.StringVar(&c.Out, "out", "demo-out", "folder for the generated scenes (scenes/, reused for the same --size and --seed) and the local copy of the results (results/)")
	fs.IntVar(&c.Size, "size", synth.DefaultSize, "pixels (10 m) per side of the synthetic scenes: even, 256..10980 (1024 = 10.24 km)")
	fs.Int64Var(&c.Seed, "seed", 3, "random seed of the synthetic scenes (3 plants a mining scar inside the Muchacha mine box)")
	fs.StringVar(&redisURL, "redis", "", "use this Redis, redis://host:port/db, instead of starting one (the demo's worker takes any task queued there: use a spare database)")
	fs.DurationVar(&c.Timeout, "timeout", 10*time.Minute, "give up after this long")
	fs.BoolVar(&c.Serve, "serve", false, "then keep everything running and serve the API and map on a free loopback port (prints the address, a staff and a reader token, and writes them to OUT/serve.json) until Ctrl-C or SIGTERM")
	fs.StringVar(&logLevel, "log-level", env("warn", "CHANGEWATCH_LOG_LEVEL"), "log level: debug, info, warn, error (env CHANGEWATCH_LOG_LEVEL)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if c.Size < 256 || c.Size > 10980 || c.Size%2 != 0 {
		return usagef("--size must be an even number between 256 and 10980")
	}
	if c.Timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	if c.Out == "" {
		return usagef("--out must not be empty")
	}
	if err := checkOutDir("out", c.Out); err != nil {
		return err
	}
	c.Miniredis, _ = strconv.ParseBool(os.Getenv(demoMiniredisEnv))
	log, err := newLogger(stderr, logLevel)
	if err != nil {
		return err
	}
	if redisURL != "" {
		rdb, err := openRedis(ctx, redisURL)
		if err != nil {
			return err
		}
		defer rdb.Close()
		c.Redis = rdb
	}
	return demo.Run(ctx, c, stdout, stderr, log)
}
