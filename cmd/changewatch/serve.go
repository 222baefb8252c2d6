package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/changewatch/changewatch/server"
	"github.com/changewatch/changewatch/watch"
)

// serveConfig is the configuration of serve, from flags and the environment.
type serveConfig struct {
	addr, redisURL, out, watch, catalog string
	tokensFile, logLevel, basemap       string
	maxUpload                           int64
	s3                                  s3Flags
}

func (c *serveConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.addr, "addr", env("127.0.0.1:8080", "CHANGEWATCH_ADDR"), "listen address (env CHANGEWATCH_ADDR)")
	fs.StringVar(&c.out, "out", env("", "CHANGEWATCH_OUTPUT"), "output root the workers publish to: folder or s3://bucket/prefix (env CHANGEWATCH_OUTPUT; required)")
	fs.StringVar(&c.watch, "watch", env("", "CHANGEWATCH_WATCH"), "the scheduler's watch list: folder or s3://bucket/prefix (env CHANGEWATCH_WATCH); empty: no watch list")
	fs.StringVar(&c.catalog, "catalog", env("", "CHANGEWATCH_CATALOG"), "STAC catalog the requests search (env CHANGEWATCH_CATALOG; required)")
	fs.StringVar(&c.tokensFile, "tokens", env("", "CHANGEWATCH_TOKENS_FILE"), `file of access tokens, lines "NAME staff|reader TOKEN" or "NAME ROLE sha256:HEX" (env CHANGEWATCH_TOKENS_FILE; or the lines themselves, comma-separated, in CHANGEWATCH_TOKENS)`)
	fs.StringVar(&c.basemap, "basemap", env("", "CHANGEWATCH_BASEMAP"), "optional XYZ basemap URL template under the imagery, https://host/{z}/{x}/{y}.png (env CHANGEWATCH_BASEMAP); the map needs none")
	fs.Int64Var(&c.maxUpload, "max-upload", 4<<20, "largest AOI upload or request body in bytes")
	fs.StringVar(&c.logLevel, "log-level", env("info", "CHANGEWATCH_LOG_LEVEL"), "log level (env CHANGEWATCH_LOG_LEVEL)")
	c.s3.register(fs)
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	var c serveConfig
	redisURL := redisFlag(fs)
	c.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c.redisURL = *redisURL
	if c.out == "" || c.catalog == "" {
		return usagef("--out and --catalog are required")
	}
	if c.maxUpload < 1024 {
		return usagef("--max-upload must be at least 1024 bytes")
	}
	var tokenData []byte
	switch {
	case c.tokensFile != "":
		data, err := os.ReadFile(c.tokensFile)
		if err != nil {
			return usagef("--tokens: %v", err)
		}
		tokenData = data
	case os.Getenv("CHANGEWATCH_TOKENS") != "":
		tokenData = []byte(os.Getenv("CHANGEWATCH_TOKENS"))
	default:
		return usagef("no tokens: give --tokens FILE or CHANGEWATCH_TOKENS")
	}
	tokens, err := server.ParseTokens(tokenData)
	if err != nil {
		return usagef("%v", err)
	}
	log, err := newJSONLogger(stderr, c.logLevel)
	if err != nil {
		return err
	}
	store, err := c.s3.setup(ctx, c.out, c.watch)
	if err != nil {
		return err
	}
	var bucket server.Bucket
	var src watch.Source
	if store != nil {
		bucket, src = store, store
	}
	out, err := server.NewStore(c.out, bucket)
	if err != nil {
		return usagef("--out: %v", err)
	}
	cfg := server.Config{Store: out, Catalog: c.catalog, Output: c.out, Tokens: tokens, Logger: log, MaxUpload: c.maxUpload, Basemap: c.basemap}
	if c.watch != "" {
		if !isS3(c.watch) {
			if err := os.MkdirAll(c.watch, 0o755); err != nil {
				return usagef("--watch: %v", err)
			}
		}
		if cfg.Watch, err = watch.ParseLocation(c.watch, src); err != nil {
			return usagef("--watch: %v", err)
		}
		if cfg.WatchStore, err = server.NewStore(c.watch, bucket); err != nil {
			return usagef("--watch: %v", err)
		}
	}
	rdb, err := openRedis(ctx, c.redisURL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	cfg.Redis = rdb
	srv, err := server.New(cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", c.addr, err)
	}
	log.Info("serving", "url", "http://"+ln.Addr().String(), "out", c.out, "watch", c.watch)
	return srv.Serve(ctx, ln)
}

func isS3(p string) bool { return len(p) > 5 && p[:5] == "s3://" }
