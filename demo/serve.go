package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/redis/go-redis/v9"

	"github.com/changewatch/changewatch/s3store"
	"github.com/changewatch/changewatch/server"
	"github.com/changewatch/changewatch/watch"
)

// ServeInfo is what `demo --serve` writes to <out>/serve.json for scripts.
type ServeInfo struct {
	URL         string `json:"url"`
	StaffToken  string `json:"staff_token"`
	ReaderToken string `json:"reader_token"`
}

// serve runs changewatch serve over the demo's bucket, queue and worker on a free
// loopback port, with a fresh staff and reader token, until ctx is done (SIGINT,
// SIGTERM). The watch list is <out>/watch.
func (d *demo) serve(ctx context.Context, rdb *redis.Client, store *s3store.Client) error {
	info := ServeInfo{StaffToken: server.NewToken(), ReaderToken: server.NewToken()}
	tokens, err := server.ParseTokens(fmt.Appendf(nil, "demo-staff staff %s\ndemo-reader reader %s\n", info.StaffToken, info.ReaderToken))
	if err != nil {
		return err
	}
	out, err := server.NewStore("s3://"+demoResults, store)
	if err != nil {
		return err
	}
	wdir := filepath.Join(d.cfg.Out, "watch")
	if err := os.MkdirAll(wdir, 0o755); err != nil {
		return fmt.Errorf("serve: watch list: %w", err)
	}
	loc, err := watch.ParseLocation(wdir, nil)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	srv, err := server.New(server.Config{Store: out, Watch: loc, WatchStore: server.DirStore(loc.Bucket),
		Catalog: "s3://" + demoImagery + "/" + demoCatalogPrefix, Output: "s3://" + demoResults,
		Redis: rdb, Tokens: tokens, Logger: d.log})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	info.URL = "http://" + ln.Addr().String()
	data, _ := json.MarshalIndent(info, "", "  ")
	p := filepath.Join(d.cfg.Out, "serve.json")
	if err := os.WriteFile(p, append(data, '\n'), 0o600); err != nil {
		ln.Close()
		return fmt.Errorf("serve: %w", err)
	}
	defer os.Remove(p) // the tokens die with this process
	fmt.Fprintf(d.stderr, "\nserve: the map and API at %s (until Ctrl-C or SIGTERM)\n", info.URL)
	fmt.Fprintf(d.stderr, "  staff token:  %s\n  reader token: %s\n", info.StaffToken, info.ReaderToken)
	fmt.Fprintf(d.stderr, "  the same in %s; open %s/ and log in with a token; API: %s/api/v1/openapi.json\n", p, info.URL, info.URL)
	return srv.Serve(ctx, ln)
}
